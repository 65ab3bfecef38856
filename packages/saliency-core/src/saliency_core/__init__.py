"""saliency_core: UNet3D video saliency with register tokens (none | concat | attention).

Used by the saliency-weighted VQA methods (dagr-vqa, sc-vqa): train a model, load it, and get
maps for a video at exactly the frame indices the VQA method samples.
"""

from __future__ import annotations

from vqa_core.lazy import lazy_exports

# Names load on first use: `vqa --help` and the command plugins must not import torch, and
# `python -m saliency_core.train` / `.evaluate` must not find their module already imported (runpy warns).
_LAZY = {
    "MAPS_VERSION": "saliency_core.cache",
    "SaliencyMapCache": "saliency_core.cache",
    "model_hash": "saliency_core.cache",
    "add_saliency_command": "saliency_core.command",
    "DataConfig": "saliency_core.config",
    "LossConfig": "saliency_core.config",
    "ModelConfig": "saliency_core.config",
    "SaliencyConfig": "saliency_core.config",
    "model_preset": "saliency_core.config",
    "SaliencyClipDataset": "saliency_core.data",
    "minmax_per_frame": "saliency_core.infer",
    "predict_maps": "saliency_core.infer",
    "predict_window_maps": "saliency_core.infer",
    "window_indices": "saliency_core.infer",
    "WINDOW_MODES": "saliency_core.infer",
    "channels_first_to_frames": "saliency_core.layout",
    "frames_to_channels_first": "saliency_core.layout",
    "SaliencyLoss": "saliency_core.losses",
    "cc": "saliency_core.losses",
    "kld": "saliency_core.losses",
    "nss": "saliency_core.losses",
    "sim": "saliency_core.losses",
    "read_maps": "saliency_core.maps_io",
    "write_maps": "saliency_core.maps_io",
    "SaliencyUNet3D": "saliency_core.model",
    "build_model": "saliency_core.model",
    "AttentionRegisters": "saliency_core.registers",
    "ConcatRegisters": "saliency_core.registers",
    "SaliencySplits": "saliency_core.sources",
    "load_manifest": "saliency_core.sources",
    "make_saliency_splits": "saliency_core.sources",
    "SaliencyTask": "saliency_core.train",
    "add_train_command": "saliency_core.train",
    "load_saliency_model": "saliency_core.train",
    "read_saliency_checkpoint": "saliency_core.train",
    "stage_checkpoint": "saliency_core.train",
    "train_saliency": "saliency_core.train",
    "evaluate_saliency": "saliency_core.evaluate",
    "GuidedClipDataset": "saliency_core.guided_clips",
    "NativeCrop": "saliency_core.native_crop",
    "NativeCropConfig": "saliency_core.native_crop",
    "clip_indices": "saliency_core.guided_clips",
    "read_guided_clip": "saliency_core.guided_clips",
    "LabelledClips": "saliency_core.guided_method",
    "SaliencyGuidedMethod": "saliency_core.guided_method",
    "saliency_windows": "saliency_core.guided_method",
    "SALIENCY_STAGE": "saliency_core.stage",
    "SALIENCY_STAGE_VERSION": "saliency_core.stage",
    "SaliencyStageConfig": "saliency_core.stage",
    "saliency_stage": "saliency_core.stage",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = sorted(_LAZY)
