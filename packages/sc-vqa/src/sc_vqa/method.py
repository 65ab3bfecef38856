"""SC-VQA as a vqa-core Method: fit / predict / save / load.

Pipeline of `fit`:
1. frame indices: `num_frames` uniform indices per video (decoding failures dropped, with a warning);
2. saliency maps at those indices: from a saliency-core model (a given checkpoint, or the
   `saliency` pretraining stage trained and cached by its config hash), stored in saliency-core's
   map cache (`saliency.cache=true`, filled up front, sharded over torchrun ranks) or computed on
   the fly in the data loader; or read from a folder of precomputed maps;
3. vqa-core's Trainer trains the network on two clip-consistent augmented views per video:
   loss = MSE(regressor(mean embedding), z-scored MOS) + lambda * NT-Xent(z_view1, z_view2, tau),
   selecting the epoch on validation SRCC only (the seed selected on a loss mix).

Under torchrun each rank's NT-Xent takes its own micro-batch as the negatives (no cross-rank gather
of embeddings), so the effective number of negatives is 2 x batch_size - 2 per rank, as in the seed.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from saliency_core import SaliencyMapCache
from saliency_core.stage import SALIENCY_STAGE, SaliencyStageConfig, SaliencyStageMixin
from sc_vqa.config import ScConfig
from sc_vqa.data import CachedModelMaps, FolderMaps, MapSource, OnTheFlyMaps, ScClipDataset, clip_indices
from sc_vqa.model import ScVQA, build_from_config
from vqa_core.config import config_hash
from vqa_core.datasets import ManifestItem
from vqa_core.errors import VqaError
from vqa_core.losses import nt_xent
from vqa_core.method import Method
from vqa_core.train import Trainer, TrainTask, quality_validation_metrics
from vqa_core.transforms import ClipAugment

log = logging.getLogger(__name__)

__all__ = ["SALIENCY_STAGE", "SaliencyStageConfig", "ScMethod", "contrastive_loss", "default_cache_dir"]


def default_cache_dir() -> Path:
    """`$VQA_ZOO_CACHE/sc-vqa`, else `$XDG_CACHE_HOME/vqa-zoo/sc-vqa`, else `~/.cache/vqa-zoo/sc-vqa`."""
    root = os.environ.get("VQA_ZOO_CACHE")
    if root:
        return Path(root) / "sc-vqa"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vqa-zoo" / "sc-vqa"


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


class _ContrastiveTask(TrainTask):
    """Model, loss and batch function handed to vqa-core's Trainer."""

    def __init__(self, method: ScMethod) -> None:
        self.method = method

    def build_model(self) -> nn.Module:
        return self.method._new_model()

    def training_step(self, model: nn.Module, batch: Any):
        cfg = self.method.config.loss
        pred, z1, z2 = model(batch["frames"], batch.get("maps"), two_views=True)
        return contrastive_loss(pred, z1, z2, batch["target"], cfg.contrastive_weight, cfg.tau)

    def validation_step(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        return {"pred": model(batch["frames"], batch.get("maps")), "target": batch["target"]}

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return quality_validation_metrics(outputs)


class ScMethod(SaliencyStageMixin, Method):
    """SC-VQA (Mithila & Farias): RGB + saliency channel, conv/LSTM/attention encoder, NT-Xent + MSE.

    `cache_dir` holds the saliency map cache (default `$VQA_ZOO_CACHE/sc-vqa`).
    """

    name: ClassVar[str] = "sc"
    config_class: ClassVar[type] = ScConfig

    def __init__(
        self, config: Any = None, device: str | torch.device = "auto", cache_dir: str | Path | None = None
    ) -> None:
        super().__init__(config, device)
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self.model: ScVQA | None = None
        self.saliency_model: nn.Module | None = None
        self.saliency_identity: str | None = None
        sal = self.config.saliency
        self.saliency_checkpoint: Path | None = Path(sal.checkpoint) if sal.checkpoint else None

    # -- building blocks ------------------------------------------------------------------
    def _new_model(self) -> ScVQA:
        return build_from_config(self.config)

    @property
    def _uses_saliency_model(self) -> bool:
        sal = self.config.saliency
        return sal.enabled and sal.source == "model"

    # -- saliency (the stage, model loading and map filling live in SaliencyStageMixin) ------
    def use_saliency_model(self, model: nn.Module, identity: str | None = None) -> None:
        """Use an in-memory saliency-core model (e.g. one just trained in a notebook).

        `identity` keys the map cache; by default it is a hash of the model's weights and config.
        """
        self.saliency_model = model.to(self.device).eval()
        self.saliency_identity = identity

    def _map_cache(self) -> SaliencyMapCache:
        assert self.saliency_model is not None
        return SaliencyMapCache(self.saliency_model, self.cache_dir / "maps", model_id=self.saliency_identity)

    def _map_source(self) -> MapSource | None:
        sal = self.config.saliency
        if not sal.enabled:
            return None
        if sal.source == "folder":
            return FolderMaps(sal.maps_dir)
        assert self.saliency_model is not None
        if sal.cache:
            return CachedModelMaps(self._map_cache(), self._size)
        return OnTheFlyMaps(self.saliency_model)

    def _map_cache_to_fill(self) -> SaliencyMapCache | None:
        """The on-disk map cache, filled up front when maps come from a model with `saliency.cache`."""
        return self._map_cache() if self._uses_saliency_model and self.config.saliency.cache else None

    def _scoring_dataset(self, items: list[ManifestItem], indices: list[list[int]]) -> ScClipDataset:
        return ScClipDataset(items, indices, self._size, maps=self._map_source())

    # -- data -----------------------------------------------------------------------------
    def _clip_indices(self, item: ManifestItem) -> list[int]:
        return clip_indices(item, self.config.data.num_frames)

    def augmentation(self) -> ClipAugment:
        """The clip-consistent augmentation of the training views (from `config.augment`)."""
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
        tr, va = self._prepare_fit(train, val, work_dir, progress)
        maps = self._map_source()
        keep = cfg.data.cache_clips
        train_ds = ScClipDataset(
            tr.items, tr.indices, self._size, tr.targets, maps, self.augmentation(), cfg.trainer.seed, keep
        )
        val_ds = (
            ScClipDataset(va.items, va.indices, self._size, va.targets, maps, cache_clips=keep)
            if va.items
            else None
        )

        trainer_cfg = cfg.trainer.for_run(self.device, progress)
        trainer = Trainer(_ContrastiveTask(self), trainer_cfg, work_dir / "train", resume=resume)
        result = trainer.fit(train_ds, val_ds)
        self.model = trainer.model.eval()
        return {
            **result.summary(),
            "saliency_checkpoint": str(self.saliency_checkpoint) if self.saliency_checkpoint else None,
            "config_hash": config_hash(cfg),
        }

    # -- cost ---------------------------------------------------------------------------------
    def example_input(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """One clip as `predict` scores it, (frames (1, T, 3, H, W), maps (1, T, H, W) or None),
        for FLOP counting; the saliency model that makes the maps is counted by `extra_costs`."""
        d = self.config.data
        device = next(self.model.parameters()).device if self.model is not None else self.device
        frames = torch.rand(1, d.num_frames, 3, d.height, d.width, device=device)
        maps = torch.rand(1, d.num_frames, d.height, d.width, device=device) if self.config.saliency.enabled else None
        return frames, maps

    def state_dict(self) -> dict[str, Any]:
        if self.model is None:
            raise VqaError(f"{self.name}: nothing to save; call fit() first")
        state: dict[str, Any] = {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()}}
        saliency = self._saliency_state()
        if saliency is not None:
            state["saliency"] = saliency
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        model = self._new_model()
        model.load_state_dict(state["model"])
        self.model = model.to(self.device).eval()
        self._load_saliency_state(state)
