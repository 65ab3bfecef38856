"""saliency_core: UNet3D video saliency with register tokens (none | concat | attention).

Used by the saliency-weighted VQA methods (dagr-vqa, sc-vqa): train a model, load it, and get
maps for a video at exactly the frame indices the VQA method samples.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Names load on first use: `vqa --help` and the command plugins must not import torch, and
# `python -m saliency_core.train` / `.evaluate` must not find their module already imported (runpy warns).
_LAZY = {
    "SaliencyMapCache": "saliency_core.cache",
    "model_hash": "saliency_core.cache",
    "add_saliency_command": "saliency_core.command",
    "LOSS_PRESETS": "saliency_core.config",
    "PRESETS": "saliency_core.config",
    "DataConfig": "saliency_core.config",
    "LossConfig": "saliency_core.config",
    "ModelConfig": "saliency_core.config",
    "SaliencyConfig": "saliency_core.config",
    "load_config": "saliency_core.config",
    "SaliencyClipDataset": "saliency_core.data",
    "minmax_per_frame": "saliency_core.infer",
    "predict_maps": "saliency_core.infer",
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
    "SALIENCY_STAGE": "saliency_core.stage",
    "LabelledClips": "saliency_core.stage",
    "SaliencyStageConfig": "saliency_core.stage",
    "SaliencyStageMixin": "saliency_core.stage",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        try:  # a submodule, as `import saliency_core; saliency_core.model` worked when __init__ imported it
            return import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "LOSS_PRESETS",
    "PRESETS",
    "SALIENCY_STAGE",
    "AttentionRegisters",
    "ConcatRegisters",
    "DataConfig",
    "LabelledClips",
    "LossConfig",
    "ModelConfig",
    "SaliencyClipDataset",
    "SaliencyConfig",
    "SaliencyLoss",
    "SaliencyMapCache",
    "SaliencySplits",
    "SaliencyStageConfig",
    "SaliencyStageMixin",
    "SaliencyTask",
    "SaliencyUNet3D",
    "add_saliency_command",
    "add_train_command",
    "build_model",
    "cc",
    "channels_first_to_frames",
    "evaluate_saliency",
    "frames_to_channels_first",
    "kld",
    "load_config",
    "load_manifest",
    "load_saliency_model",
    "make_saliency_splits",
    "minmax_per_frame",
    "model_hash",
    "nss",
    "predict_maps",
    "read_maps",
    "read_saliency_checkpoint",
    "sim",
    "stage_checkpoint",
    "train_saliency",
    "write_maps",
]
