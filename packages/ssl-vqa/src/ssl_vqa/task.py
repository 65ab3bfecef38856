"""The dual model's training task for vqa-core's Trainer, built from plain parts.

`DualTask` gets a function that builds the initial dual model (`initial_dual_model` with the
config, the ST-VQRL artifact and the reference cubes bound in), the optimiser groups' settings
and the semi-supervised loss settings: nothing that reaches back into the method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ssl_vqa.config import OptimConfig, SemiConfig
from ssl_vqa.data import collate_batch
from ssl_vqa.dual_loss import dual_model_loss
from ssl_vqa.model import DualModel, build_dual_model
from ssl_vqa.released import load_released_dual
from vqa_core.errors import ConfigError, VqaError
from vqa_core.losses import plcc_loss
from vqa_core.train import TrainTask, quality_validation_metrics

__all__ = ["DualTask", "clip_input_size", "initial_dual_model", "load_stvqrl_trunks", "new_dual_model"]


def clip_input_size(cfg: Any) -> int | None:
    """CLIP's input size for a QasaConfig (None for SSL-VQA), without building the model."""
    clip_cfg = getattr(cfg, "clip", None)
    if clip_cfg is None:
        return None
    if clip_cfg.arch == "custom":
        size = clip_cfg.custom["vision_cfg"]["image_size"]
        return int(size[0] if isinstance(size, list | tuple) else size)
    import open_clip

    model_cfg = open_clip.get_model_config(clip_cfg.arch)
    if model_cfg is None:
        raise ConfigError(f"clip.arch {clip_cfg.arch!r} is not an open_clip model; see open_clip.list_models()")
    size = model_cfg["vision_cfg"]["image_size"]
    return int(size[0] if isinstance(size, list | tuple) else size)


def new_dual_model(cfg: Any, supervised_only: bool, pretrained: bool | None = None) -> DualModel:
    """A fresh dual model for `cfg`; the supervised baseline has no auxiliary model."""
    model = build_dual_model(cfg, pretrained)
    if supervised_only:
        model.auxiliary = None
    return model


def _trunks(model: DualModel) -> list[nn.Module]:
    trunks = [model.primary.backbone]
    if model.kind == "niqe" and model.auxiliary is not None:
        trunks.append(model.auxiliary.backbone)
    return trunks


def load_stvqrl_trunks(cfg: Any, model: DualModel, artifact: Path | None, who: str) -> None:
    """Both Swin3D trunks from the ST-VQRL stage artifact, or from the authors' released
    ST-VQRL file (`stvqrl.init_from`)."""
    released = cfg.stvqrl.init_from
    if released:
        from st_vqrl.released import load_released_checkpoint

        for trunk in _trunks(model):
            load_released_checkpoint(released, trunk)
        return
    if artifact is None:
        raise VqaError(
            f"{who}: init 'stvqrl' needs the ST-VQRL stage; run fit (which builds it), give "
            "stvqrl.init_from (the released checkpoint), or set init: random"
        )
    state = torch.load(artifact, map_location="cpu", weights_only=True)
    for trunk in _trunks(model):
        trunk.load_state_dict(state["backbone"], strict=True)


def initial_dual_model(
    cfg: Any,
    supervised_only: bool,
    stvqrl_artifact: Path | None = None,
    reference_cubes: torch.Tensor | None = None,
    who: str = "ssl",
) -> DualModel:
    """Fresh dual model with the ST-VQRL (and released) initialisation, references attached."""
    model = new_dual_model(cfg, supervised_only)
    if cfg.init == "stvqrl":
        load_stvqrl_trunks(cfg, model, stvqrl_artifact, who)
    if cfg.init_from:
        load_released_dual(cfg.init_from, model)
    if reference_cubes is not None and model.kind == "niqe" and model.auxiliary is not None:
        model.set_reference_cubes(reference_cubes)
    return model


class DualTask(TrainTask):
    """Model builder, loss and batch function handed to vqa-core's Trainer."""

    def __init__(self, build_model: Callable[[], DualModel], optim: OptimConfig, semi: SemiConfig) -> None:
        self._build = build_model
        self.optim = optim
        self.semi = semi
        self.collate_fn = collate_batch

    def build_model(self) -> nn.Module:
        return self._build()

    def param_groups(self, model: nn.Module):
        opt = self.optim
        groups = [
            {"params": list(model.primary.backbone.parameters()), "lr": opt.backbone_lr,
             "weight_decay": opt.weight_decay},
            {"params": list(model.primary.head.parameters()), "lr": opt.head_lr, "weight_decay": opt.weight_decay},
        ]  # fmt: skip
        if model.auxiliary is not None:
            aux = [p for p in model.auxiliary.parameters() if p.requires_grad]
            groups.append({"params": aux, "lr": opt.aux_lr, "weight_decay": opt.aux_weight_decay})
        return groups

    def training_step(self, model: nn.Module, batch: Any):
        target = batch.get("target")
        if target is None or target.numel() < 2:  # every video of the batch failed to decode
            zero = sum(p.sum() for p in model.parameters() if p.requires_grad) * 0.0
            return zero, {"skipped": 1.0}
        out = model(batch)
        semi = self.semi
        lab, unl = out["l"], out.get("u")
        if lab.aux_v is None:  # primary alone on the labelled part (the supervised baseline)
            loss = plcc_loss(lab.primary_v, target) + semi.w_cons * plcc_loss(lab.primary_v, lab.primary_w)
            return loss, {"sup_primary": float(loss.detach())}
        return dual_model_loss(lab, target, unl, w_cons=semi.w_cons, w_stab=semi.w_stab, transfer=semi.transfer)

    def validation_step(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        clips = batch["clips"]
        b, k = clips.shape[:2]
        pred = model.primary(clips.reshape(b * k, *clips.shape[2:])).reshape(b, k).mean(dim=1)
        return {"pred": pred, "target": batch["target"]}

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return quality_validation_metrics(outputs)
