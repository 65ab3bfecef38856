"""saliency_core: UNet3D video saliency with register tokens (none | concat | attention).

Used by the saliency-weighted VQA methods (dagr-vqa, sc-vqa): train a model, load it, and get
maps for a video at exactly the frame indices the VQA method samples.
"""

from saliency_core.cache import SaliencyMapCache, model_hash
from saliency_core.command import add_saliency_command
from saliency_core.config import (
    LOSS_PRESETS,
    PRESETS,
    DataConfig,
    LossConfig,
    ModelConfig,
    SaliencyConfig,
    load_config,
)
from saliency_core.data import SaliencyClipDataset
from saliency_core.infer import minmax_per_frame, predict_maps
from saliency_core.layout import channels_first_to_frames, frames_to_channels_first
from saliency_core.losses import SaliencyLoss, cc, kld, nss, sim
from saliency_core.maps_io import read_maps, write_maps
from saliency_core.model import SaliencyUNet3D, build_model
from saliency_core.registers import AttentionRegisters, ConcatRegisters
from saliency_core.sources import SaliencySplits, load_manifest, make_saliency_splits

# `python -m saliency_core.train` / `.evaluate` must not find their module already imported
# (runpy warns), so these names are resolved on first use.
_LAZY = {
    "SaliencyTask": "train",
    "add_train_command": "train",
    "load_saliency_model": "train",
    "read_saliency_checkpoint": "train",
    "stage_checkpoint": "train",
    "train_saliency": "train",
    "evaluate_saliency": "evaluate",
    "SALIENCY_STAGE": "stage",
    "LabelledClips": "stage",
    "SaliencyStageConfig": "stage",
    "SaliencyStageMixin": "stage",
}


def __getattr__(name: str):
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f"saliency_core.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'saliency_core' has no attribute {name!r}")


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
