"""sc_vqa: SC-VQA, saliency-driven contrastive video quality assessment.

    model = build_model("full")                       # forward(frames (B,T,3,H,W), maps (B,T,H,W)) -> (B,)
    method = ScMethod("small", device="auto")         # presets tiny | small | full, or a YAML file
    method.fit(train_items, val_items, "runs/sc")     # saliency stage, map cache, two views, Trainer
    scores = method.predict(["a.mp4", "b.mp4"])       # MOS scale of the training data
    method.save("sc.pt"); ScMethod.load("sc.pt")      # the checkpoint carries config, calibration, saliency net

The saliency map is a 4th input channel (`saliency.fusion=weight` blends it into RGB instead), taken
at the RGB frames' indices; `loss.contrastive_weight=0` is the regression-only ablation. Map caches
live in `sc-vqa` under the vqa-zoo cache root (`vqa_core.cache.cache_root`).
"""

from __future__ import annotations

from dataclasses import replace

from torch import nn

from sc_vqa.config import (
    DataConfig,
    LossConfig,
    ModelConfig,
    SaliencyConfig,
    ScConfig,
    preset,
    with_contrastive,
)
from sc_vqa.method import ScMethod, contrastive_loss
from sc_vqa.model import ClipEncoder, QualityRegressor, ScVQA, build_from_config
from sc_vqa.views import SeedViews


def build_model(
    size: str = "full", saliency: bool = True, fusion: str = "channel", **model_overrides
) -> nn.Module:
    """The SC-VQA network of a size preset (random init; the paper's encoder has no pretrained weights).

    forward(frames (B, T, 3, H, W) in [0, 1], maps (B, T, H, W) or None) -> scores (B,).
    `saliency=False` builds the RGB-only ablation; `fusion="weight"` blends the map into RGB instead
    of appending it as a 4th channel. Extra keyword arguments override `ModelConfig` fields.
    """
    cfg = preset(size)
    cfg.model = replace(cfg.model, **model_overrides)
    cfg.saliency = replace(cfg.saliency, enabled=saliency, fusion=fusion)
    cfg.__post_init__()
    return build_from_config(cfg)


__all__ = [
    "ClipEncoder",
    "DataConfig",
    "LossConfig",
    "ModelConfig",
    "QualityRegressor",
    "SaliencyConfig",
    "ScConfig",
    "ScMethod",
    "ScVQA",
    "SeedViews",
    "build_model",
    "contrastive_loss",
    "preset",
    "with_contrastive",
]
