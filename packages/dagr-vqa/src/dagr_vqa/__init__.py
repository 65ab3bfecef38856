"""dagr_vqa: STR-VQA and DAGR-VQA, saliency-weighted ResNet frames with a temporal transformer.

    model = build_model("dagr", "full")                 # forward(frames (B,T,3,H,W), maps (B,T,H,W)) -> (B,)
    method = DagrMethod("small", device="auto")         # or StrMethod; presets tiny | small | full, or a YAML
    method.fit(train_items, val_items, "runs/dagr")     # saliency stage, map/feature caches, Trainer
    scores = method.predict(["a.mp4", "b.mp4"])         # MOS scale of the training data
    method.save("dagr.pt"); DagrMethod.load("dagr.pt")  # the checkpoint carries config, calibration, saliency net

Saliency maps come from saliency-core at the RGB frames' indices; `saliency.enabled=false` is the
ablation. Caches live in `dagr-vqa` under the vqa-zoo cache root (`vqa_core.cache.cache_root`).
"""

from __future__ import annotations

from dataclasses import replace

from torch import nn

from dagr_vqa.config import (
    DagrConfig,
    DataConfig,
    FitConfig,
    LossConfig,
    ModelConfig,
    SaliencyConfig,
    StrConfig,
    preset,
)
from dagr_vqa.method import DagrMethod, StrMethod
from dagr_vqa.model import SaliencyVQA, build_from_config


def build_model(
    variant: str = "dagr",
    size: str = "full",
    pretrained: bool = False,
    saliency: bool = True,
    **model_overrides,
) -> nn.Module:
    """The STR (`variant="str"`) or DAGR network of a size preset.

    forward(frames (B, T, 3, H, W) in [0, 1], maps (B, T, H, W) or None) -> scores (B,). `saliency=False`
    builds the no-saliency ablation (maps are then ignored and may be None). Extra keyword arguments
    override `ModelConfig` fields, e.g. `weights_path="resnet50-0676ba61.pth"`.
    """
    cfg = preset(variant, size)
    model_cfg = replace(cfg.model, pretrained=pretrained, **model_overrides)
    return build_from_config(model_cfg, replace(cfg.saliency, enabled=saliency))


__all__ = [
    "DagrConfig",
    "DagrMethod",
    "DataConfig",
    "FitConfig",
    "LossConfig",
    "ModelConfig",
    "SaliencyConfig",
    "SaliencyVQA",
    "StrConfig",
    "StrMethod",
    "build_model",
    "preset",
]
