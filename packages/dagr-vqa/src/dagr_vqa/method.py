"""STR-VQA and DAGR-VQA as vqa-core Methods: fit / predict / save / load.

Pipeline of `fit` (each stage reusable across runs and splits through content-keyed caches):
1. frame indices: `num_frames` uniform indices per video (decoding failures dropped, with a warning);
   with `model.rhythm_window = w > 1`, w consecutive frames are read from each (maps at the first);
2. saliency maps: the saliency-core model (a given checkpoint, or the `saliency` pretraining stage
   trained and cached by its config hash) is run on the sampled frames; maps are stored per
   (video, indices, size, checkpoint) so the RGB frames and maps always share indices;
3. with `fit.freeze_backbone` and `fit.cache_features`, per-frame trunk features are computed once
   and cached, keyed by video, indices, saliency settings and the trunk's weights identity;
4. vqa-core's Trainer trains the network (or only its head on cached features) with L1 plus a
   differentiable PLCC / rank term, AdamW and one cosine schedule, selecting on validation only.
Steps 2 and 3 run through vqa-core's dataset runners, so under torchrun each rank fills its shard of
the cache. The saliency plumbing (stage, maps, scoring with timings, state, cost) is saliency-core's
`SaliencyGuidedMethod`; this module adds the network, the feature cache and the training task.
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

from dagr_vqa.cache import FeatureCache, digest
from dagr_vqa.config import DagrConfig, StrConfig
from dagr_vqa.data import ClipDataset, FeatureDataset, augmentation
from dagr_vqa.model import QualityHead, SaliencyVQA, backbone_identity, backbone_width, build_from_config
from saliency_core.guided_method import SaliencyGuidedMethod
from vqa_core.config import config_hash
from vqa_core.datasets import ManifestItem
from vqa_core.errors import VqaError
from vqa_core.losses import plcc_loss, rank_loss, soft_rank_loss
from vqa_core.train import Trainer, TrainTask, barrier, predict_dataset, quality_validation_metrics
from vqa_core.train.distributed import broadcast_object

log = logging.getLogger(__name__)

__all__ = ["DagrMethod", "QualityTask", "StrMethod", "network_for", "quality_loss"]


# --------------------------------------------------------------------------- loss, network, task


def quality_loss(
    pred: torch.Tensor, target: torch.Tensor, rank_term: str, rank_weight: float, temperature: float = 0.1
) -> tuple:
    """L1 + rank_weight * differentiable correlation term (plcc, rank, or soft_rank at
    `temperature`); returns (loss, logs)."""
    l1 = F.l1_loss(pred, target)
    logs = {"l1": float(l1.detach())}
    if rank_term == "none" or rank_weight == 0 or pred.numel() < 2:
        return l1, logs
    if rank_term == "soft_rank":
        term = soft_rank_loss(pred, target, temperature)
    else:
        term = plcc_loss(pred, target) if rank_term == "plcc" else rank_loss(pred, target)
    logs[rank_term] = float(term.detach())
    return l1 + rank_weight * term, logs


def network_for(config: DagrConfig, pretrained: bool | None = None) -> SaliencyVQA:
    """The STR/DAGR network of `config` (`pretrained` overrides `model.pretrained`), its trunk
    frozen when `fit.freeze_backbone`."""
    model_cfg = config.model if pretrained is None else replace(config.model, pretrained=pretrained)
    model = build_from_config(model_cfg, config.saliency)
    return model.freeze_trunk() if config.fit.freeze_backbone else model


def head_for(config: DagrConfig) -> QualityHead:
    """The quality head alone, trained on cached trunk features (the frozen-backbone fast path)."""
    return QualityHead(backbone_width(config.model), config.model)


class QualityTask(TrainTask):
    """Model builder, loss and batch function handed to vqa-core's Trainer.

    `build_model` makes the network (or, `on_features`, the head on cached trunk features).
    """

    def __init__(
        self,
        build_model: Callable[[], nn.Module],
        rank_term: str,
        rank_weight: float,
        on_features: bool,
        temperature: float = 0.1,
    ) -> None:
        self._build = build_model
        self.rank_term = rank_term
        self.rank_weight = rank_weight
        self.on_features = on_features
        self.temperature = temperature

    def build_model(self) -> nn.Module:
        return self._build()

    def param_groups(self, model: nn.Module):
        return [p for p in model.parameters() if p.requires_grad]

    def _forward(self, model: nn.Module, batch: Mapping[str, Any]) -> torch.Tensor:
        if self.on_features:
            return model(batch["features"])
        return model(batch["frames"], batch.get("maps"))

    def training_step(self, model: nn.Module, batch: Any):
        pred = self._forward(model, batch)
        return quality_loss(pred, batch["target"], self.rank_term, self.rank_weight, self.temperature)

    def validation_step(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        return {"pred": self._forward(model, batch), "target": batch["target"]}

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return quality_validation_metrics(outputs)


# --------------------------------------------------------------------------- the method


class _SaliencyVQAMethod(SaliencyGuidedMethod):
    """Shared implementation of StrMethod and DagrMethod (they differ only in config).

    `cache_dir` holds the map and feature caches (default: `dagr-vqa` in the vqa-zoo cache root).
    """

    config_class: ClassVar[type] = DagrConfig
    cache_name: ClassVar[str] = "dagr-vqa"

    # -- SaliencyGuidedMethod hooks ---------------------------------------------------------
    def new_network(self, pretrained: bool | None = None) -> SaliencyVQA:
        return network_for(self.config, pretrained)

    def scoring_dataset(self, items: list[ManifestItem], indices: list[list[int]]) -> ClipDataset:
        return ClipDataset(items, indices, self.frame_size, maps=self.map_cache(), window=self.window)

    def caveats(self) -> list[str]:
        """A random-init trunk is not the papers' ImageNet ResNet; frozen, it is never trained at all."""
        model = self.config.model
        if model.pretrained:
            return []
        return ["frozen random trunk"] if self.config.fit.freeze_backbone else ["random-init trunk"]

    # -- the trunk-feature cache --------------------------------------------------------------
    def _feature_settings(self) -> dict[str, Any]:
        sal = self.config.saliency
        maps = self.map_cache()
        return {
            "size": list(self.frame_size) if self.frame_size is not None else "native",
            "saliency": {
                "enabled": sal.enabled,
                "alpha": sal.alpha,
                "floor": sal.floor,
                "remap": sal.remap,
                "model": maps.model_id if sal.enabled and maps is not None else None,
            },
        }

    def _fill_feature_cache(
        self, model: SaliencyVQA, items: Sequence[ManifestItem], indices: Sequence[list[int]], progress: bool
    ) -> list[Path]:
        trunk = {"trunk": backbone_identity(self.config.model)}
        if not self.config.model.pretrained:  # a random-init trunk is defined by the seed it was drawn with
            trunk["seed"] = self.config.trainer.seed
        cache = FeatureCache(self.cache_dir, digest(trunk))
        settings = self._feature_settings()
        paths = [cache.path(it, ix, settings) for it, ix in zip(items, indices)]
        # rank 0 says what is missing: every rank must run the same list under torchrun
        todo = broadcast_object([i for i, p in enumerate(paths) if not p.is_file()])
        if todo:
            ds = ClipDataset(
                [items[i] for i in todo], [indices[i] for i in todo], self.frame_size, maps=self.map_cache()
            )
            todo_paths = [paths[i] for i in todo]

            def step(m: nn.Module, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
                feats = m(batch["frames"], batch.get("maps"))
                for j, f in zip(batch["index"].tolist(), feats):
                    cache.write(todo_paths[j], f)
                return {"done": torch.ones(len(feats))}

            predict_dataset(
                model.spatial,
                ds,
                step,
                batch_size=self.config.trainer.val_batch_size or 4,
                num_workers=self.config.trainer.num_workers,
                device=self.device,
                progress=progress,
                description=f"{self.name}: trunk features",
            )
            barrier()
        return paths

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
        maps = self.map_cache()

        trainer_cfg = self.run_trainer_config(progress)
        on_features = cfg.fit.freeze_backbone and cfg.fit.cache_features
        if on_features:
            torch.manual_seed(cfg.trainer.seed)
            full = self.new_network().to(self.device)
            paths = self._fill_feature_cache(full, tr.items + va.items, tr.indices + va.indices, progress)
            train_ds = FeatureDataset(paths[: len(tr.items)], tr.targets)
            val_ds = FeatureDataset(paths[len(tr.items) :], va.targets) if va.items else None
        else:
            full = None
            augment = augmentation(cfg.data.train_crop) if cfg.fit.augment else None
            keep = cfg.data.cache_clips
            train_ds = ClipDataset(
                tr.items,
                tr.indices,
                self.frame_size,
                tr.targets,
                maps,
                augment,
                cfg.trainer.seed,
                cache_clips=keep,
                window=self.window,
            )
            val_ds = (
                ClipDataset(
                    va.items,
                    va.indices,
                    self.frame_size,
                    va.targets,
                    maps,
                    cache_clips=keep,
                    window=self.window,
                )
                if va.items
                else None
            )

        build = partial(head_for, cfg) if on_features else partial(network_for, cfg)
        task = QualityTask(build, cfg.loss.rank_term, cfg.loss.rank_weight, on_features, cfg.loss.rank_temperature)
        trainer = Trainer(task, trainer_cfg, work_dir / "train", resume=resume)
        result = trainer.fit(train_ds, val_ds)
        if on_features:
            assert full is not None
            full.head.load_state_dict(trainer.model.state_dict())
            self.model = full
        else:
            self.model = trainer.model
        self.model.eval()
        return {
            **result.summary(),
            "saliency_checkpoint": str(self.saliency_checkpoint) if self.saliency_checkpoint else None,
            "config_hash": config_hash(cfg),
        }

    def score_clip(self, frames: np.ndarray) -> float:
        """Score one decoded clip, uint8 (T, H, W, 3) already at the config's size (for notebooks);
        with `model.rhythm_window = w > 1`, w consecutive frames per sampled position (T*w frames)."""
        if self.model is None:
            raise VqaError(f"{self.name}: the method is not trained; call fit() or load a checkpoint first")
        self._ensure_saliency_model(build=False)
        with torch.no_grad():
            clip = torch.from_numpy(np.ascontiguousarray(frames))
            x = clip.permute(0, 3, 1, 2).float().div(255.0)[None].to(self.device)
            maps = None
            if self.saliency_model is not None:
                from saliency_core import predict_maps

                maps = predict_maps(self.saliency_model, frames[:: self.window])[None].to(self.device)
            raw = self.model.to(self.device).eval()(x, maps)
        return float(self.calibration.to_mos(raw.cpu().numpy())[0])


class DagrMethod(_SaliencyVQAMethod):
    """DAGR-VQA (Mithila & Farias): saliency-weighted ResNet-50, 1024-d 1-head temporal transformer."""

    name: ClassVar[str] = "dagr"
    config_class: ClassVar[type] = DagrConfig


class StrMethod(_SaliencyVQAMethod):
    """STR-VQA (Mithila & Farias): saliency-weighted ResNet-50, 2048-d 4-head temporal transformer."""

    name: ClassVar[str] = "str"
    config_class: ClassVar[type] = StrConfig
