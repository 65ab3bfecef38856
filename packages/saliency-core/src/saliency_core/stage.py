"""The saliency stage of a saliency-guided VQA method (STR/DAGR-VQA, SC-VQA), written once.

Both methods need the same plumbing around their own network: a `saliency` pretraining stage
(the UNet3D, trained and cached by the config hash of `SaliencyStageConfig` so that every method
with the same stage settings reuses one artifact), a saliency model loaded on demand, maps
cached at exactly the frame indices the method samples, and the same MOS calibration and
scoring loop. `SaliencyStageMixin` holds that plumbing; the method keeps what differs (its
network, its datasets, where its maps come from).

The stage config's class name and fields enter the stage key (`PretrainStage.key`), so they must
not change: cached stages and saved runs are found by that key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vqa_core.errors import DatasetError, VideoDecodeError, VqaError

if TYPE_CHECKING:
    import numpy as np
    import torch
    from torch import nn
    from torch.utils.data import Dataset

    from saliency_core.cache import SaliencyMapCache
    from vqa_core.datasets import ManifestItem
    from vqa_core.method import PretrainStage
    from vqa_core.video import RawFormat

__all__ = ["SALIENCY_STAGE", "LabelledClips", "SaliencyStageConfig", "SaliencyStageMixin", "clip_indices"]

log = logging.getLogger(__name__)

SALIENCY_STAGE = "saliency"


@dataclass(frozen=True)
class SaliencyStageConfig:
    """What the `saliency` pretraining stage trains: its config hash keys the cached artifact."""

    saliency: Any  # saliency_core.SaliencyConfig
    dataset: str
    data_root: str | None = None


@dataclass(frozen=True)
class LabelledClips:
    """Decodable items of one split, their frame indices and their training targets (normalised MOS)."""

    items: list[ManifestItem]
    indices: list[list[int]]
    targets: list[float]


def clip_indices(item: ManifestItem, num_frames: int, raw: RawFormat | None = None) -> list[int]:
    """The `num_frames` uniform (linspace) frame indices of a video, as in the papers.

    Frames and saliency maps are both taken at these indices (the seeds took the first T maps
    while sampling frames with linspace). A frame count stored in the manifest's `num_frames`
    field saves opening the video; `raw` describes a headerless .yuv file.
    """
    from vqa_core.sampling import uniform_indices
    from vqa_core.video import probe

    known = item.extra.get("num_frames") if item.extra else None
    if isinstance(known, int | float) and known > 0:
        total = int(known)
    else:
        total = int(probe(item.path, raw=raw).num_frames)
    if total <= 0:
        raise VideoDecodeError(f"{item.path}: the video reports no frames")
    return [int(i) for i in uniform_indices(total, num_frames)]


class SaliencyStageMixin:
    """Saliency stage, map cache, data preparation and scoring shared by the saliency-guided methods.

    Mix in before `vqa_core.method.Method`. The method provides:
    - `config.saliency` with `enabled`, `checkpoint`, `stage_preset`, `stage_dataset`,
      `stage_data_root`, and `config.data.num_frames`, `height`, `width`, `config.trainer`;
    - `saliency_model`, `saliency_checkpoint` and `model` attributes (set in `__init__`);
    - `use_saliency_model(model, identity)`, where it keeps the model the way it uses it;
    - `_map_cache_to_fill()`: the on-disk map cache to fill up front, or None;
    - `_scoring_dataset(items, indices)`: the dataset `predict` scores (items give `frames`, `maps`).
    """

    # attributes of the Method this is mixed into
    name: str
    config: Any
    device: torch.device
    calibration: Any
    model: nn.Module | None
    saliency_model: nn.Module | None
    saliency_checkpoint: Path | None

    # -- hooks ----------------------------------------------------------------------------
    @property
    def _uses_saliency_model(self) -> bool:
        """Whether maps come from a saliency-core model (rather than nowhere, or a folder)."""
        return bool(self.config.saliency.enabled)

    def use_saliency_model(self, model: nn.Module, identity: str | None = None) -> None:
        raise NotImplementedError

    def _map_cache_to_fill(self) -> SaliencyMapCache | None:
        raise NotImplementedError

    def _scoring_dataset(self, items: list[ManifestItem], indices: list[list[int]]) -> Dataset:
        raise NotImplementedError

    def _clip_indices(self, item: ManifestItem) -> list[int]:
        return clip_indices(item, self.config.data.num_frames)

    @property
    def _size(self) -> tuple[int, int]:
        return (self.config.data.height, self.config.data.width)

    # -- the saliency stage -----------------------------------------------------------------
    def saliency_stage_config(self) -> Any:
        """The saliency-core training config of the `saliency` pretraining stage."""
        from saliency_core.config import SaliencyConfig
        from vqa_core.config import load_config

        return load_config(SaliencyConfig, self.config.saliency.stage_preset)

    def pretrain_stages(self) -> list[PretrainStage]:
        """The saliency UNet3D, unless no saliency model is used or a checkpoint is given."""
        from vqa_core.method import PretrainStage

        sal = self.config.saliency
        if not self._uses_saliency_model or self.saliency_checkpoint is not None:
            return []
        stage = SaliencyStageConfig(
            saliency=self.saliency_stage_config(), dataset=sal.stage_dataset, data_root=sal.stage_data_root
        )

        def build(folder: Path) -> None:
            from saliency_core.train import train_saliency

            train_saliency(stage.saliency, dataset=stage.dataset, data_root=stage.data_root, out_dir=folder)

        return [PretrainStage(SALIENCY_STAGE, stage, build)]

    def use_pretrained(self, name: str, folder: Path) -> None:
        """Take the built `saliency` stage from the runner; any other name is an error."""
        if name != SALIENCY_STAGE:
            super().use_pretrained(name, folder)  # type: ignore[misc]  # raises: no such stage
            return
        from saliency_core.train import stage_checkpoint

        self.saliency_checkpoint = stage_checkpoint(Path(folder))
        self.saliency_model = None

    def _ensure_saliency_model(self, work_dir: Path | None) -> None:
        """Load the saliency model, training the stage into `work_dir` when nothing else provides one.

        Without a runner (a plain `fit` call) the stage is built in `work_dir/pretrain-<key>` and
        marked complete, so a resumed fit does not train it again.
        """
        if not self._uses_saliency_model or self.saliency_model is not None:
            return
        from saliency_core.train import load_saliency_model, stage_checkpoint

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

    def _fill_map_cache(
        self, items: Sequence[ManifestItem], indices: Sequence[list[int]], progress: bool
    ) -> None:
        """Saliency maps for every clip not yet cached (under torchrun each rank does its share)."""
        cache = self._map_cache_to_fill()
        if cache is None:
            return
        import torch

        from vqa_core.train import JobsDataset, barrier, predict_dataset

        size = self._size
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

    # -- data preparation -----------------------------------------------------------------
    def _indices(
        self, items: Sequence[ManifestItem], strict: bool
    ) -> tuple[list[ManifestItem], list[list[int]]]:
        """Frame indices per item; undecodable videos are left out with one warning (or, `strict`, raise)."""
        kept, indices, failed = [], [], []
        for item in items:
            try:
                indices.append(self._clip_indices(item))
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

    def _labelled_clips(
        self, train: Sequence[ManifestItem], val: Sequence[ManifestItem]
    ) -> tuple[LabelledClips, LabelledClips]:
        """The decodable train and val clips with targets; sets `calibration` from train MOS only."""
        from vqa_core.method import ScoreCalibration

        train_items, train_idx = self._indices(train, strict=False)
        val_items, val_idx = self._indices(val, strict=False)
        if len(train_items) < 2:
            raise DatasetError(
                f"{self.name}: need at least 2 decodable training videos, got {len(train_items)}"
            )
        self.calibration = ScoreCalibration.from_mos([it.mos for it in train_items])
        train_t = [float(self.calibration.normalize(it.mos)) for it in train_items]
        val_t = [float(self.calibration.normalize(it.mos)) for it in val_items]
        return LabelledClips(train_items, train_idx, train_t), LabelledClips(val_items, val_idx, val_t)

    def _prepare_fit(
        self, train: Sequence[ManifestItem], val: Sequence[ManifestItem], work_dir: Path, progress: bool
    ) -> tuple[LabelledClips, LabelledClips]:
        """What every saliency-guided `fit` does before building its datasets.

        Joins torchrun's process group (a no-op without one), keeps the decodable clips, sets the
        calibration from the train MOS, and makes sure the saliency model and the cached maps of
        every train and val clip exist (each rank fills its share).
        """
        from vqa_core.train import init_distributed

        init_distributed(self.device)
        tr, va = self._labelled_clips(train, val)
        self._ensure_saliency_model(work_dir)
        self._fill_map_cache(tr.items + va.items, tr.indices + va.indices, progress)
        return tr, va

    # -- scoring and state ------------------------------------------------------------------
    def predict(
        self, items: Sequence[ManifestItem] | Sequence[str | Path], progress: bool = False
    ) -> np.ndarray:
        """MOS-scale scores, one per item; an undecodable video raises VideoDecodeError naming it."""
        import numpy as np
        import torch

        from vqa_core.method import as_manifest_items
        from vqa_core.train import predict_dataset

        if self.model is None:
            raise VqaError(f"{self.name}: the method is not trained; call fit() or load a checkpoint first")
        items = as_manifest_items(items)
        if not items:
            return np.zeros((0,), dtype=np.float64)
        items, indices = self._indices(items, strict=True)
        self._ensure_saliency_model(None)
        self._fill_map_cache(items, indices, progress)
        self.model.to(self.device).eval()

        def step(model: nn.Module, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
            return {"pred": model(batch["frames"], batch.get("maps"))}

        with torch.no_grad():
            out = predict_dataset(
                self.model,
                self._scoring_dataset(items, indices),
                step,
                batch_size=self.config.trainer.val_batch_size or 4,
                num_workers=self.config.trainer.num_workers,
                device=self.device,
                progress=progress,
                description=f"{self.name}: scoring",
            )
        return self.calibration.to_mos(out["pred"].astype(np.float64))

    def _saliency_state(self) -> dict[str, Any] | None:
        """The saliency model's weights and config for the method checkpoint (None when unused)."""
        if not self._uses_saliency_model:
            return None
        from vqa_core.config import config_to_dict

        self._ensure_saliency_model(None)
        assert self.saliency_model is not None
        return {
            "model": {k: v.detach().cpu() for k, v in self.saliency_model.state_dict().items()},
            "config": config_to_dict(self.saliency_model.config),
        }

    def _load_saliency_state(self, state: Mapping[str, Any]) -> None:
        """Rebuild the saliency model a checkpoint holds (a checkpoint is self-contained)."""
        if not self._uses_saliency_model:
            return
        if "saliency" not in state:
            raise VqaError(f"{self.name}: checkpoint has saliency on but holds no saliency model")
        from saliency_core.config import ModelConfig
        from saliency_core.model import SaliencyUNet3D
        from vqa_core.config import load_config

        sal = SaliencyUNet3D(load_config(ModelConfig, dict(state["saliency"]["config"])))
        sal.load_state_dict(state["saliency"]["model"])
        self.use_saliency_model(sal)

    # -- cost ---------------------------------------------------------------------------------
    def extra_costs(self) -> dict[str, tuple[nn.Module, torch.Tensor]]:
        """The saliency UNet3D with the windows it runs on for one video's sampled frames, for
        the benchmark's FLOP count: it runs whenever a video is scored for the first time (its
        maps are cached afterwards), so it belongs to the cost of scoring a new video."""
        if not self._uses_saliency_model:
            return {}
        model = self.saliency_model or self._saliency_architecture()
        return {"saliency model": (model, saliency_windows(model, self.config.data.num_frames))}

    def _saliency_architecture(self) -> nn.Module:
        """The saliency network when none is loaded: from the checkpoint, else the stage preset
        (FLOPs depend on the architecture only, so an untrained network counts the same)."""
        if self.saliency_checkpoint is not None and self.saliency_checkpoint.is_file():
            from saliency_core.train import load_saliency_model

            return load_saliency_model(self.saliency_checkpoint, device="cpu")
        from saliency_core.model import SaliencyUNet3D

        return SaliencyUNet3D(self.saliency_stage_config().model)


def saliency_windows(model: nn.Module, num_frames: int) -> torch.Tensor:
    """What `saliency_core.predict_maps` feeds the UNet3D for `num_frames` frames, as one batch:
    (windows, 3, clip_len, height, width) at the model's own input size, the last window padded.
    """
    import torch

    cfg = model.config
    windows = -(-int(num_frames) // cfg.clip_len)
    device = next(model.parameters()).device
    return torch.rand(windows, 3, cfg.clip_len, cfg.height, cfg.width, device=device)
