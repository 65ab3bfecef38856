"""saliency_core: UNet3D video saliency with register tokens (none | concat | attention).

Used by the saliency-weighted VQA methods (dagr-vqa, sc-vqa): train a model, load it, and get
maps for a video at exactly the frame indices the VQA method samples.
"""

from saliency_core.config import (
    LOSS_PRESETS,
    PRESETS,
    AugmentConfig,
    LossConfig,
    ModelConfig,
    SaliencyConfig,
    load_config,
)
from saliency_core.infer import minmax_per_frame, predict_maps
from saliency_core.layout import channels_first_to_frames, frames_to_channels_first
from saliency_core.losses import SaliencyLoss, cc, kld, nss, sim
from saliency_core.maps_io import read_maps, write_maps
from saliency_core.model import SaliencyUNet3D, build_model
from saliency_core.registers import AttentionRegisters, ConcatRegisters

__all__ = [
    "LOSS_PRESETS",
    "PRESETS",
    "AttentionRegisters",
    "AugmentConfig",
    "ConcatRegisters",
    "LossConfig",
    "ModelConfig",
    "SaliencyConfig",
    "SaliencyLoss",
    "SaliencyUNet3D",
    "build_model",
    "cc",
    "channels_first_to_frames",
    "frames_to_channels_first",
    "kld",
    "load_config",
    "minmax_per_frame",
    "nss",
    "predict_maps",
    "read_maps",
    "sim",
    "write_maps",
]
