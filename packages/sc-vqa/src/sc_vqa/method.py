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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from saliency_core import SaliencyMapCache, load_saliency_model, stage_checkpoint, train_saliency
from saliency_core import load_config as load_saliency_config
from sc_vqa.config import ScConfig
from sc_vqa.data import CachedModelMaps, FolderMaps, MapSource, OnTheFlyMaps, ScClipDataset, clip_indices
from sc_vqa.model import ScVQA, build_from_config
from vqa_core.config import config_hash, config_to_dict
from vqa_core.datasets import ManifestItem
from vqa_core.errors import DatasetError, VideoDecodeError, VqaError
from vqa_core.losses import nt_xent
from vqa_core.method import Method, PretrainStage, ScoreCalibration, as_manifest_items
from vqa_core.metrics import quality_metrics
from vqa_core.train import JobsDataset, Trainer, TrainTask, barrier, init_distributed, predict_dataset
from vqa_core.transforms import ClipAugment

log = logging.getLogger(__name__)

SALIENCY_STAGE = "saliency"


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


@dataclass(frozen=True)
class SaliencyStageConfig:
    """What the `saliency` pretraining stage trains: its config hash keys the cached artifact."""

    saliency: Any  # saliency_core.SaliencyConfig
    dataset: str
    data_root: str | None = None


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
        n = float(len(outputs["pred"]))
        try:
            m = quality_metrics(outputs["pred"], outputs["target"])
        except (ValueError, TypeError):  # constant predictions or too few items: undefined, no selection
            return {"srcc": float("nan"), "plcc": float("nan"), "n": n}
        return {k: float(v) for k, v in m.items() if isinstance(v, int | float)}


class ScMethod(Method):
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
    def _size(self) -> tuple[int, int]:
        return (self.config.data.height, self.config.data.width)

    @property
    def _uses_saliency_model(self) -> bool:
        sal = self.config.saliency
        return sal.enabled and sal.source == "model"

    # -- saliency -------------------------------------------------------------------------
    def saliency_stage_config(self) -> Any:
        """The saliency-core training config of the `saliency` pretraining stage."""
        return load_saliency_config(self.config.saliency.stage_preset)

    def pretrain_stages(self) -> list[PretrainStage]:
        """The saliency UNet3D, unless saliency is off, read from a folder, or a checkpoint is given."""
        sal = self.config.saliency
        if not self._uses_saliency_model or self.saliency_checkpoint is not None:
            return []
        stage = SaliencyStageConfig(
            saliency=self.saliency_stage_config(), dataset=sal.stage_dataset, data_root=sal.stage_data_root
        )

        def build(folder: Path) -> None:
            train_saliency(stage.saliency, dataset=stage.dataset, data_root=stage.data_root, out_dir=folder)

        return [PretrainStage(SALIENCY_STAGE, stage, build)]

    def use_pretrained(self, name: str, folder: Path) -> None:
        if name != SALIENCY_STAGE:
            super().use_pretrained(name, folder)
        self.saliency_checkpoint = stage_checkpoint(Path(folder))
        self.saliency_model = None

    def use_saliency_model(self, model: nn.Module, identity: str | None = None) -> None:
        """Use an in-memory saliency-core model (e.g. one just trained in a notebook).

        `identity` keys the map cache; by default it is a hash of the model's weights and config.
        """
        self.saliency_model = model.to(self.device).eval()
        self.saliency_identity = identity

    def _ensure_saliency_model(self, work_dir: Path | None) -> None:
        if not self._uses_saliency_model or self.saliency_model is not None:
            return
        if self.saliency_checkpoint is None:
            stages = self.pretrain_stages()
            if work_dir is None or not stages:
                raise VqaError(
                    f"{self.name}: saliency is on but no saliency model is available; set saliency.checkpoint, "
                    "run fit first, or turn saliency off (saliency.enabled=false)"
                )
            stage = stages[0]
            folder = Path(work_dir) / f"pretrain-{stage.key}"
            if not (folder / "complete").is_file():
                log.info("%s: training the saliency stage %s in %s", self.name, stage.key, folder)
                folder.mkdir(parents=True, exist_ok=True)
                stage.build(folder)
                (folder / "complete").write_text("")
            self.saliency_checkpoint = stage_checkpoint(folder)
        if not self.saliency_checkpoint.is_file():
            raise VqaError(
                f"{self.name}: saliency checkpoint {self.saliency_checkpoint} does not exist; point "
                "saliency.checkpoint at a saliency-core saliency.pt"
            )
        self.use_saliency_model(load_saliency_model(self.saliency_checkpoint, device="cpu"))

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

    def _fill_map_cache(
        self, items: Sequence[ManifestItem], indices: Sequence[list[int]], progress: bool
    ) -> None:
        """Cached maps for every clip not yet stored (under torchrun each rank does its share)."""
        sal = self.config.saliency
        if not (self._uses_saliency_model and sal.cache):
            return
        cache, size = self._map_cache(), self._size
        todo = [(it, ix) for it, ix in zip(items, indices) if not cache.has(it.path, ix, size)]
        if not todo:
            return

        def step(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
            for j in batch["job"].tolist():
                cache.maps(todo[j][0].path, todo[j][1], size)
            return {"done": torch.ones(len(batch["job"]))}

        predict_dataset(
            self.saliency_model,
            JobsDataset(len(todo)),
            step,
            batch_size=1,
            device=self.device,
            progress=progress,
            description=f"{self.name}: saliency maps",
        )
        barrier()

    # -- data -----------------------------------------------------------------------------
    def _indices(
        self, items: Sequence[ManifestItem], strict: bool
    ) -> tuple[list[ManifestItem], list[list[int]]]:
        kept, indices, failed = [], [], []
        for item in items:
            try:
                indices.append(clip_indices(item, self.config.data.num_frames))
                kept.append(item)
            except (VideoDecodeError, OSError) as err:
                if strict:
                    raise VideoDecodeError(f"cannot score {item.path}: {err}") from err
                failed.append(f"{item.path}: {err}")
        if failed:
            log.warning(
                "%d video(s) could not be opened and are left out:\n  %s", len(failed), "\n  ".join(failed)
            )
        return kept, indices

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
        init_distributed(self.device)
        train_items, train_idx = self._indices(train, strict=False)
        val_items, val_idx = self._indices(val, strict=False)
        if len(train_items) < 2:
            raise DatasetError(
                f"{self.name}: need at least 2 decodable training videos, got {len(train_items)}"
            )
        self.calibration = ScoreCalibration.from_mos([it.mos for it in train_items])
        train_t = [float(self.calibration.normalize(it.mos)) for it in train_items]
        val_t = [float(self.calibration.normalize(it.mos)) for it in val_items]

        self._ensure_saliency_model(work_dir)
        self._fill_map_cache(train_items + val_items, train_idx + val_idx, progress)
        maps = self._map_source()
        keep = cfg.data.cache_clips
        train_ds = ScClipDataset(
            train_items, train_idx, self._size, train_t, maps, self.augmentation(), cfg.trainer.seed, keep
        )
        val_ds = (
            ScClipDataset(val_items, val_idx, self._size, val_t, maps, cache_clips=keep)
            if val_items
            else None
        )

        trainer_cfg = replace(
            cfg.trainer, device=str(self.device), progress=cfg.trainer.progress and progress
        )
        trainer = Trainer(_ContrastiveTask(self), trainer_cfg, work_dir / "train", resume=resume)
        result = trainer.fit(train_ds, val_ds)
        self.model = trainer.model.eval()
        return {
            "best_epoch": result.best_epoch,
            "best_metric": result.best_metric,
            "val_metrics": result.metrics,
            "history": result.history,
            "saliency_checkpoint": str(self.saliency_checkpoint) if self.saliency_checkpoint else None,
            "config_hash": config_hash(cfg),
        }

    @torch.no_grad()
    def predict(
        self, items: Sequence[ManifestItem] | Sequence[str | Path], progress: bool = False
    ) -> np.ndarray:
        """MOS-scale scores, one per item; an undecodable video raises VideoDecodeError naming it."""
        if self.model is None:
            raise VqaError(f"{self.name}: the method is not trained; call fit() or load a checkpoint first")
        items = as_manifest_items(items)
        if not items:
            return np.zeros((0,), dtype=np.float64)
        items, indices = self._indices(items, strict=True)
        self._ensure_saliency_model(None)
        self._fill_map_cache(items, indices, progress)
        self.model.to(self.device).eval()
        ds = ScClipDataset(items, indices, self._size, maps=self._map_source())

        def step(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
            return {"pred": model(batch["frames"], batch.get("maps"))}

        out = predict_dataset(
            self.model,
            ds,
            step,
            batch_size=self.config.trainer.val_batch_size or 4,
            num_workers=self.config.trainer.num_workers,
            device=self.device,
            progress=progress,
            description=f"{self.name}: scoring",
        )
        return self.calibration.to_mos(out["pred"].astype(np.float64))

    def state_dict(self) -> dict[str, Any]:
        if self.model is None:
            raise VqaError(f"{self.name}: nothing to save; call fit() first")
        state: dict[str, Any] = {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()}}
        if self._uses_saliency_model:
            self._ensure_saliency_model(None)
            state["saliency"] = {
                "model": {k: v.detach().cpu() for k, v in self.saliency_model.state_dict().items()},
                "config": config_to_dict(self.saliency_model.config),
            }
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        model = self._new_model()
        model.load_state_dict(state["model"])
        self.model = model.to(self.device).eval()
        if self._uses_saliency_model:
            if "saliency" not in state:
                raise VqaError(f"{self.name}: checkpoint has saliency on but holds no saliency model")
            from saliency_core import ModelConfig as SalModelConfig
            from saliency_core import SaliencyUNet3D
            from vqa_core.config import load_config

            sal = SaliencyUNet3D(load_config(SalModelConfig, dict(state["saliency"]["config"])))
            sal.load_state_dict(state["saliency"]["model"])
            self.use_saliency_model(sal)


# --------------------------------------------------------------------------- helpers
