"""SC-VQA as a vqa-core Method: fit / predict / save / load.

Pipeline of `fit`:
1. frame indices: `num_frames` uniform indices per video (decoding failures dropped, with a warning);
2. saliency maps at those indices: from a saliency-core model (a given checkpoint, or the
   `saliency` pretraining stage trained and cached by its config hash), stored in saliency-core's
   map cache (`saliency.cache=true`, filled up front, sharded over torchrun ranks) or computed on
   the fly in the data loader; or read from a folder of precomputed maps;
3. vqa-core's Trainer trains the network on two clip-consistent augmented views per video:
   loss = MSE(regressor(mean embedding), scaled MOS) + lambda * NT-Xent(z_view1, z_view2, tau), with
   MOS scaled by `loss.targets` (min-max over the train part in `full`, as the seed's (mos-1)/4),
   selecting the epoch on validation SRCC only (the seed selected on a loss mix).

Under torchrun each rank's NT-Xent takes its own micro-batch as the negatives (no cross-rank gather
of embeddings), so the effective number of negatives is 2 x batch_size - 2 per rank, as in the seed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from saliency_core.guided_method import SaliencyGuidedMethod
from saliency_core.native_crop import NativeCrop, NativeCropConfig
from sc_vqa.config import ScConfig
from sc_vqa.data import CachedModelMaps, FolderMaps, MapSource, OnTheFlyMaps, ScClipDataset
from sc_vqa.model import ScVQA, build_from_config
from sc_vqa.views import SeedViews
from vqa_core.config import config_hash
from vqa_core.datasets import ManifestItem
from vqa_core.losses import nt_xent
from vqa_core.train import Trainer, TrainTask, quality_validation_metrics
from vqa_core.transforms import ClipAugment

log = logging.getLogger(__name__)

__all__ = ["ContrastiveTask", "ScMethod", "contrastive_loss"]


def contrastive_loss(
    pred: torch.Tensor,
    z1: torch.Tensor,
    z2: torch.Tensor,
    target: torch.Tensor,
    weight: float,
    tau: float,
) -> tuple[torch.Tensor, dict[str, float]]:
    """MSE(pred, target) + weight * NT-Xent(z1, z2, tau); returns (loss, logs).

    With weight 0 the NT-Xent value is still logged (without a graph), so the ablation's logs show
    how far the embeddings are from view-invariant.
    """
    mse = F.mse_loss(pred, target)
    if weight > 0:
        ntx = nt_xent(z1, z2, tau)
        total = mse + weight * ntx
    else:
        with torch.no_grad():
            ntx = nt_xent(z1, z2, tau)
        total = mse
    return total, {"mse": float(mse.detach()), "nt_xent": float(ntx.detach())}


class ContrastiveTask(TrainTask):
    """Model builder, loss and batch function handed to vqa-core's Trainer: MSE on the two views'
    mean embedding + `contrastive_weight` x NT-Xent(view 1, view 2, `tau`)."""

    def __init__(self, build_model: Callable[[], nn.Module], contrastive_weight: float, tau: float) -> None:
        self._build = build_model
        self.contrastive_weight = contrastive_weight
        self.tau = tau

    def build_model(self) -> nn.Module:
        return self._build()

    def training_step(self, model: nn.Module, batch: Any):
        pred, z1, z2 = model(batch["frames"], batch.get("maps"), two_views=True)
        return contrastive_loss(pred, z1, z2, batch["target"], self.contrastive_weight, self.tau)

    def validation_step(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        return {"pred": model(batch["frames"], batch.get("maps")), "target": batch["target"]}

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return quality_validation_metrics(outputs)


class ScMethod(SaliencyGuidedMethod):
    """SC-VQA (Mithila & Farias): RGB + saliency channel, conv/LSTM/attention encoder, NT-Xent + MSE.

    `cache_dir` holds the saliency map cache (default: `sc-vqa` in the vqa-zoo cache root).
    """

    name: ClassVar[str] = "sc"
    config_class: ClassVar[type] = ScConfig
    cache_name: ClassVar[str] = "sc-vqa"

    # -- SaliencyGuidedMethod hooks ---------------------------------------------------------
    def new_network(self, pretrained: bool | None = None) -> ScVQA:
        """The SC-VQA network (random init: the paper's encoder has no pretrained weights)."""
        return build_from_config(self.config)

    def scoring_dataset(self, items: list[ManifestItem], indices: list[list[int]]) -> ScClipDataset:
        return ScClipDataset(
            items, indices, self.frame_size, maps=self._map_source(), view_size=self.view_size, window=self.window
        )

    @property
    def view_size(self) -> tuple[int, int] | None:
        """`data.view_size`: the network's input size when frames are decoded at native size."""
        size = self.config.data.view_size
        return (int(size[0]), int(size[1])) if size is not None else None

    @property
    def scoring_batch_size(self) -> int:
        """With `data.view_size` every clip reaches the network at one size, so clips share batches."""
        if self.view_size is not None:
            return self.config.trainer.val_batch_size or 4
        return super().scoring_batch_size

    def run_trainer_config(self, progress: bool) -> Any:
        cfg = super().run_trainer_config(progress)
        if self.view_size is not None:
            return replace(cfg, val_batch_size=self.config.trainer.val_batch_size)
        return cfg

    @property
    def cost_frame_size(self) -> tuple[int, int]:
        return self.view_size if self.view_size is not None else super().cost_frame_size

    @property
    def target_scaling(self) -> str:
        """`loss.targets`: the MSE's target scale, which sets its balance against NT-Xent."""
        return self.config.loss.targets

    @property
    def uses_saliency_model(self) -> bool:
        sal = self.config.saliency
        return sal.enabled and sal.source == "model"

    @property
    def caches_maps(self) -> bool:
        """`saliency.cache=false` makes maps on the fly in the data loader instead."""
        return bool(self.config.saliency.cache)

    # -- data -----------------------------------------------------------------------------
    def _map_source(self) -> MapSource | None:
        sal = self.config.saliency
        if not sal.enabled:
            return None
        if sal.source == "folder":
            return FolderMaps(sal.maps_dir)
        assert self.saliency_model is not None
        cache = self.map_cache()
        if cache is not None:
            return CachedModelMaps(cache, self.frame_size)
        return OnTheFlyMaps(self.saliency_model, *self.map_windows)

    def augmentation(self) -> ClipAugment | NativeCrop | SeedViews:
        """The clip-consistent augmentation of the training views: native-scale windows and flips
        with `data.train_crop`; with `data.view_size` the seed's views (`config.augment` cropped
        from the native frame, then resized to view_size, plus a vertical flip at `data.vflip_p`);
        else `config.augment` (resized crops, flip, colour jitter) at the decoded size."""
        crop = self.config.data.train_crop
        if crop is not None:
            return NativeCrop(NativeCropConfig(size=(int(crop[0]), int(crop[1])), hflip_p=0.5, vflip_p=0.5))
        if self.view_size is not None:
            return SeedViews(self.config.augment, self.view_size, self.config.data.vflip_p)
        return ClipAugment(self.config.augment)

    # -- the protocol -----------------------------------------------------------------------
    def fit(
        self,
        train: Sequence[ManifestItem],
        val: Sequence[ManifestItem],
        work_dir: str | Path,
        *,
        resume: bool = True,
        progress: bool = True,
    ) -> dict[str, Any]:
        cfg = self.config
        work_dir = Path(work_dir)
        tr, va = self._prepare_fit(train, val, progress)
        maps = self._map_source()
        keep = cfg.data.cache_clips
        size = self.frame_size
        train_ds = ScClipDataset(
            tr.items, tr.indices, size, tr.targets, maps, self.augmentation(), cfg.trainer.seed, keep, window=self.window
        )
        val_ds = (
            ScClipDataset(
                va.items, va.indices, size, va.targets, maps, cache_clips=keep, view_size=self.view_size,
                window=self.window,
            )
            if va.items
            else None
        )

        trainer_cfg = self.run_trainer_config(progress)
        task = ContrastiveTask(partial(build_from_config, cfg), cfg.loss.contrastive_weight, cfg.loss.tau)
        trainer = Trainer(task, trainer_cfg, work_dir / "train", resume=resume)
        result = trainer.fit(train_ds, val_ds)
        self.model = trainer.model.eval()
        return {
            **result.summary(),
            "saliency_checkpoint": str(self.saliency_checkpoint) if self.saliency_checkpoint else None,
            "config_hash": config_hash(cfg),
        }
