"""`SaliencyGuidedMethod`: the base class of the VQA methods that read saliency maps (STR/DAGR, SC).

Both need the same plumbing around their own network: the `saliency` pretraining stage (built
through `vqa_core.stages`, shared by every method with the same stage settings), a saliency
model loaded on demand, maps cached at exactly the frame indices the method samples, one path
for raw video, the MOS calibration, scoring with decode/model timings, checkpoints that carry
the saliency model, and the cost of both networks. A subclass supplies its network
(`new_network`), the dataset it scores (`scoring_dataset`) and its `fit`.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from saliency_core.guided_clips import clip_indices, frame_size, read_guided_clip
from saliency_core.stage import SALIENCY_STAGE, saliency_stage
from vqa_core.cache import cache_dir as named_cache_dir
from vqa_core.errors import DatasetError, VideoDecodeError, VqaError
from vqa_core.method import Method, ScoreCalibration, ScoreReport, as_manifest_items

if TYPE_CHECKING:
    from saliency_core.cache import SaliencyMapCache
    from vqa_core.datasets import ManifestItem
    from vqa_core.stages import PretrainStage

__all__ = ["LabelledClips", "SaliencyGuidedMethod", "saliency_windows"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledClips:
    """Decodable items of one split, their frame indices and their training targets (normalised MOS)."""

    items: list[ManifestItem]
    indices: list[list[int]]
    targets: list[float]


class SaliencyGuidedMethod(Method):
    """A VQA method whose network reads frames and saliency maps taken at the same indices.

    The config provides `saliency` (`enabled`, `checkpoint`, `stage_preset`, `stage_dataset`,
    `stage_data_root`), `data` (`num_frames`, `height`, `width`) and `trainer`
    (`val_batch_size`, `num_workers`). `cache_name` names the method's folder in the cache root
    (maps, features) when no `cache_dir` is given.
    """

    cache_name: ClassVar[str] = "saliency-guided"

    def __init__(
        self, config: Any = None, device: str | torch.device = "auto", cache_dir: str | Path | None = None
    ) -> None:
        super().__init__(config, device)
        self.cache_dir = Path(cache_dir) if cache_dir else named_cache_dir(self.cache_name)
        self.model: nn.Module | None = None
        self.saliency_model: nn.Module | None = None
        sal = self.config.saliency
        self.saliency_checkpoint: Path | None = Path(sal.checkpoint) if sal.checkpoint else None
        self._maps: SaliencyMapCache | None = None

    # -- what a subclass supplies -------------------------------------------------------------
    @abstractmethod
    def new_network(self, pretrained: bool | None = None) -> nn.Module:
        """A fresh VQA network for this config, `forward(frames, maps)`; `pretrained=False`
        when the weights come from a checkpoint (nothing to download)."""

    @abstractmethod
    def scoring_dataset(self, items: list[ManifestItem], indices: list[list[int]]) -> Dataset:
        """The dataset `score` runs on: items give `frames` (T, 3, H, W) and `maps` (T, H, W)."""

    @property
    def uses_saliency_model(self) -> bool:
        """Whether maps come from a saliency-core model (rather than nowhere, or a folder)."""
        return bool(self.config.saliency.enabled)

    @property
    def caches_maps(self) -> bool:
        """Whether the model's maps are cached on disk (filled up front) rather than made on the fly."""
        return True

    # -- shared pieces ---------------------------------------------------------------------------
    @property
    def frame_size(self) -> tuple[int, int] | None:
        """(height, width) frames are decoded at; None: each video's own size (no resampling)."""
        return frame_size((self.config.data.height, self.config.data.width))

    @property
    def scoring_batch_size(self) -> int:
        """Clips per forward pass when scoring: one at a time with native-size reading (videos of
        different sizes cannot share a batch), else `trainer.val_batch_size`."""
        return (self.config.trainer.val_batch_size or 4) if self.frame_size is not None else 1

    def run_trainer_config(self, progress: bool) -> Any:
        """`trainer` for this run (`for_run`); with native-size reading validation takes one clip
        per batch, as scoring does (videos of different sizes cannot be stacked)."""
        cfg = self.config.trainer.for_run(self.device, progress)
        return cfg if self.frame_size is not None else replace(cfg, val_batch_size=1)

    @property
    def cost_frame_size(self) -> tuple[int, int]:
        """The frame size FLOPs are counted at: the decode size, or with native-size reading the
        config's `data.cost_size` (a video's FLOPs then scale with its pixel count)."""
        size = self.frame_size
        return size if size is not None else frame_size(self.config.data.cost_size)

    @property
    def window(self) -> int:
        """Consecutive frames read per sampled index (`model.rhythm_window`, 1 without it)."""
        return int(getattr(getattr(self.config, "model", None), "rhythm_window", 1))

    @property
    def frames_per_clip(self) -> int:
        """Frames the VQA network reads per clip: `data.num_frames` windows of `window` frames,
        the maps staying at each window's first."""
        return int(self.config.data.num_frames) * self.window

    def clip_indices(self, item: ManifestItem) -> list[int]:
        """The item's uniform sampled indices (raw .yuv items probed with their format), where the
        maps are taken; with rhythm windows, each window's first, the last window ending on the last frame."""
        return clip_indices(item, self.config.data.num_frames, window=self.window)

    def use_saliency_model(self, model: nn.Module, identity: str | None = None) -> None:
        """Use an in-memory saliency-core model (e.g. one just trained in a notebook).

        `identity` keys the map cache; by default it is a hash of the model's weights and config.
        """
        from saliency_core.cache import SaliencyMapCache

        self.saliency_model = model.to(self.device).eval()
        windows, stride = self.map_windows
        self._maps = SaliencyMapCache(
            self.saliency_model, self.cache_dir / "maps", model_id=identity, windows=windows, stride=stride
        )

    @property
    def map_windows(self) -> tuple[str, int]:
        """(`saliency.windows`, the window stride): `faithful` maps come from windows of consecutive
        frames at the saliency model's training stride (`data.frame_stride` of `stage_preset`)."""
        windows = getattr(self.config.saliency, "windows", "fast")
        if windows == "fast":
            return "fast", 1
        return windows, int(self.saliency_stage_config().data.frame_stride)

    def map_cache(self) -> SaliencyMapCache | None:
        """The on-disk cache of the saliency model's maps, when maps come from a cached model."""
        if not (self.uses_saliency_model and self.caches_maps):
            return None
        return self._maps

    @property
    def target_scaling(self) -> str:
        """How train MOS become training targets (`zscore` | `minmax`, train statistics only);
        a method whose loss balance depends on the target scale overrides it."""
        return "zscore"

    # -- the saliency stage -----------------------------------------------------------------
    def saliency_stage_config(self) -> Any:
        """The saliency-core training config of the `saliency` pretraining stage."""
        from saliency_core.config import SaliencyConfig
        from vqa_core.config import load_config

        return load_config(SaliencyConfig, self.config.saliency.stage_preset)

    def pretrain_stages(self) -> list[PretrainStage]:
        """The saliency UNet3D, unless no saliency model is used or a checkpoint is given."""
        sal = self.config.saliency
        if not self.uses_saliency_model or self.saliency_checkpoint is not None:
            return []
        return [saliency_stage(sal.stage_preset, sal.stage_dataset, sal.stage_data_root)]

    def use_pretrained(self, name: str, folder: Path) -> None:
        """Take the built `saliency` stage; any other name is an error."""
        if name != SALIENCY_STAGE:
            super().use_pretrained(name, folder)  # raises: no such stage
            return
        from saliency_core.train import stage_checkpoint

        self.saliency_checkpoint = stage_checkpoint(Path(folder))
        self.saliency_model = None

    def _ensure_saliency_model(self, build: bool) -> None:
        """Load the saliency model; with `build`, make the stage first when nothing provides one
        (a plain `fit`: `ensure_pretrained` builds or reuses it in the cache root)."""
        if not self.uses_saliency_model or self.saliency_model is not None:
            return
        from saliency_core.train import load_saliency_model

        if self.saliency_checkpoint is None:
            if not build or not self.pretrain_stages():
                raise VqaError(
                    f"{self.name}: saliency is on but no saliency model is available; set saliency.checkpoint, "
                    "run fit first, or turn saliency off (saliency.enabled=false)"
                )
            self.ensure_pretrained()
        assert self.saliency_checkpoint is not None
        if not self.saliency_checkpoint.is_file():
            raise VqaError(
                f"{self.name}: saliency checkpoint {self.saliency_checkpoint} does not exist; point "
                "saliency.checkpoint at a saliency-core saliency.pt"
            )
        self.use_saliency_model(load_saliency_model(self.saliency_checkpoint, device="cpu"))

    def _fill_maps(
        self, items: Sequence[ManifestItem], indices: Sequence[list[int]], progress: bool
    ) -> tuple[np.ndarray, np.ndarray, list[str | None]]:
        """Make the maps not cached yet; per item (decode s, saliency model s, error), zeros for
        items already cached. Under torchrun each rank makes its share."""
        from vqa_core.train import score_dataset
        from vqa_core.train.distributed import broadcast_object

        n = len(items)
        decode, model_s, errors = np.zeros(n), np.zeros(n), [None] * n
        cache = self.map_cache()
        if cache is None or n == 0:
            return decode, model_s, errors
        size = self.frame_size
        todo = broadcast_object([i for i in range(n) if not cache.has(items[i].path, indices[i], size)])
        if not todo:
            return decode, model_s, errors

        def forward(batch: Mapping[str, Any]) -> torch.Tensor:
            for job, clip in zip(batch["job"].tolist(), batch["clip"]):
                i = todo[job]
                cache.store(items[i].path, indices[i], size, cache.predict(clip))
            return batch["job"]

        result = score_dataset(
            _ClipsToMap([items[i] for i in todo], [cache.frames_to_read(indices[i]) for i in todo], size),
            forward,
            batch_size=1,
            device=self.device,
            names=[str(items[i].path) for i in todo],
            progress=progress,
            description=f"{self.name}: saliency maps",
        )
        for k, i in enumerate(todo):
            decode[i], model_s[i], errors[i] = result.decode_s[k], result.model_s[k], result.errors[k]
        return decode, model_s, errors

    # -- data preparation -----------------------------------------------------------------
    def _indices(self, items: Sequence[ManifestItem], strict: bool) -> tuple[list[ManifestItem], list[list[int]]]:
        """Frame indices per item; undecodable videos are left out with one warning (or, `strict`, raise)."""
        kept, indices, failed = [], [], []
        for item in items:
            try:
                indices.append(self.clip_indices(item))
                kept.append(item)
            except (VideoDecodeError, OSError) as err:
                if strict:
                    raise VideoDecodeError(f"cannot score {item.path}: {err}") from err
                failed.append(f"{item.path}: {err}")
        if failed:
            log.warning("%d video(s) could not be opened and are left out:\n  %s", len(failed), "\n  ".join(failed))
        return kept, indices

    def _labelled_clips(
        self, train: Sequence[ManifestItem], val: Sequence[ManifestItem]
    ) -> tuple[LabelledClips, LabelledClips]:
        """The decodable train and val clips with targets; sets `calibration` from train MOS only."""
        train_items, train_idx = self._indices(train, strict=False)
        val_items, val_idx = self._indices(val, strict=False)
        if len(train_items) < 2:
            raise DatasetError(f"{self.name}: need at least 2 decodable training videos, got {len(train_items)}")
        self.calibration = ScoreCalibration.from_mos([it.mos for it in train_items], mode=self.target_scaling)
        train_t = [float(self.calibration.normalize(it.mos)) for it in train_items]
        val_t = [float(self.calibration.normalize(it.mos)) for it in val_items]
        return LabelledClips(train_items, train_idx, train_t), LabelledClips(val_items, val_idx, val_t)

    def _prepare_fit(
        self, train: Sequence[ManifestItem], val: Sequence[ManifestItem], progress: bool
    ) -> tuple[LabelledClips, LabelledClips]:
        """What every saliency-guided `fit` does before building its datasets.

        Joins torchrun's process group (a no-op without one), keeps the decodable clips, sets the
        calibration from the train MOS, and makes sure the saliency model and the cached maps of
        every train and val clip exist (each rank fills its share).
        """
        from vqa_core.train import init_distributed

        init_distributed(self.device)
        tr, va = self._labelled_clips(train, val)
        self._ensure_saliency_model(build=True)
        _, _, errors = self._fill_maps(tr.items + va.items, tr.indices + va.indices, progress)
        failed = [e for e in errors if e is not None]
        if failed:
            raise VideoDecodeError(f"{self.name}: cannot make saliency maps: {failed[0]}")
        return tr, va

    # -- scoring --------------------------------------------------------------------------------
    def score(self, items: Sequence[ManifestItem] | Sequence[str | Path], *, progress: bool = False) -> ScoreReport:
        """MOS-scale scores with per-item timings; making a new video's maps counts as model time
        (`parts["saliency_s"]`). Maps made on the fly inside the dataset count as decoding."""
        from vqa_core.train import Precision, score_dataset

        if self.model is None:
            raise VqaError(f"{self.name}: the method is not trained; call fit() or load a checkpoint first")
        items = as_manifest_items(items)
        if not items:
            return ScoreReport.empty()
        n = len(items)
        errors: list[str | None] = [None] * n
        indices: list[list[int]] = [[] for _ in range(n)]
        for i, item in enumerate(items):
            try:
                indices[i] = self.clip_indices(item)
            except (VideoDecodeError, OSError) as err:
                errors[i] = str(err) if str(item.path) in str(err) else f"{item.path}: {err}"
        self._ensure_saliency_model(build=False)
        ok = [i for i in range(n) if errors[i] is None]
        fill_dec, fill_sal, fill_err = self._fill_maps([items[i] for i in ok], [indices[i] for i in ok], progress)
        for k, i in enumerate(ok):
            errors[i] = fill_err[k]
        keep = [k for k, i in enumerate(ok) if errors[i] is None]
        scored = [ok[k] for k in keep]
        model = self.model.to(self.device).eval()
        result = score_dataset(
            self.scoring_dataset([items[i] for i in scored], [indices[i] for i in scored]),
            lambda batch: model(batch["frames"], batch.get("maps")),
            batch_size=self.scoring_batch_size,
            num_workers=self.config.trainer.num_workers,
            device=self.device,
            names=[str(items[i].path) for i in scored],
            progress=progress,
            description=f"{self.name}: scoring",
            precision=Precision.for_scoring(self.config.trainer, self.device),  # trainer.precision=bf16: bf16
        )
        scores, decode_s, model_s, saliency_s = (np.full(n, np.nan) for _ in range(4))
        for j, (k, i) in enumerate(zip(keep, scored)):
            errors[i] = result.errors[j]
            if errors[i] is None:
                scores[i] = float(self.calibration.to_mos(np.float64(result.outputs[j])))
                decode_s[i] = fill_dec[k] + result.decode_s[j]
                model_s[i] = fill_sal[k] + result.model_s[j]
                saliency_s[i] = fill_sal[k]
        return ScoreReport(scores, decode_s, model_s, errors, {"saliency_s": saliency_s})

    def init_for_scoring(self, seed: int = 0) -> None:
        """Random-init VQA network and, with saliency on, a random-init saliency UNet3D of the
        stage preset's architecture (no stage is built): the real scoring work, meaningless scores."""
        torch.manual_seed(seed)
        self.model = self.new_network(pretrained=False).to(self.device).eval()
        self.calibration = ScoreCalibration()
        if self.uses_saliency_model:
            from saliency_core.model import SaliencyUNet3D

            self.use_saliency_model(SaliencyUNet3D(self.saliency_stage_config().model))

    # -- state ------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """The VQA network and, when one is used, the saliency model (a checkpoint is self-contained)."""
        if self.model is None:
            raise VqaError(f"{self.name}: nothing to save; call fit() first")
        state: dict[str, Any] = {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()}}
        if self.uses_saliency_model:
            from vqa_core.config import config_to_dict

            self._ensure_saliency_model(build=False)
            assert self.saliency_model is not None
            state["saliency"] = {
                "model": {k: v.detach().cpu() for k, v in self.saliency_model.state_dict().items()},
                "config": config_to_dict(self.saliency_model.config),
            }
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        model = self.new_network(pretrained=False)  # the weights come from the checkpoint
        model.load_state_dict(state["model"])
        self.model = model.to(self.device).eval()
        if not self.uses_saliency_model:
            return
        if "saliency" not in state:
            raise VqaError(f"{self.name}: checkpoint has saliency on but holds no saliency model")
        from saliency_core.config import ModelConfig
        from saliency_core.model import SaliencyUNet3D
        from vqa_core.config import load_config

        sal = SaliencyUNet3D(load_config(ModelConfig, dict(state["saliency"]["config"])))
        sal.load_state_dict(state["saliency"]["model"])
        self.use_saliency_model(sal)

    # -- cost -------------------------------------------------------------------------------------
    def cost_parts(self) -> dict[str, tuple[nn.Module, tuple[Any, ...]]]:
        """The VQA network on one clip, (frames (1, T, 3, H, W), maps (1, T, H, W) or None), and
        the saliency UNet3D on the windows it runs on for those frames: it runs whenever a new
        video is scored (its maps are cached afterwards), so it is part of the cost of scoring a
        new video. The papers' FLOPs figures cover the VQA network alone ("model")."""
        d = self.config.data
        net = self.model if self.model is not None else self.new_network(pretrained=False)
        device = next(net.parameters()).device
        height, width = self.cost_frame_size
        frames = torch.rand(1, self.frames_per_clip, 3, height, width, device=device)
        maps = torch.rand(1, d.num_frames, height, width, device=device) if self.config.saliency.enabled else None
        parts: dict[str, tuple[nn.Module, tuple[Any, ...]]] = {"model": (net, (frames, maps))}
        if self.uses_saliency_model:
            sal = self.saliency_model or self._saliency_architecture()
            parts["saliency model"] = (sal, (saliency_windows(sal, d.num_frames, self.map_windows[0]),))
        return parts

    def _saliency_architecture(self) -> nn.Module:
        """The saliency network when none is loaded: from the checkpoint, else the stage preset
        (FLOPs depend on the architecture only, so an untrained network counts the same)."""
        if self.saliency_checkpoint is not None and self.saliency_checkpoint.is_file():
            from saliency_core.train import load_saliency_model

            return load_saliency_model(self.saliency_checkpoint, device="cpu")
        from saliency_core.model import SaliencyUNet3D

        return SaliencyUNet3D(self.saliency_stage_config().model)


class _ClipsToMap(Dataset):
    """Job j -> {"clip": uint8 (T, H, W, 3) of items[j] at its indices, "job": j}."""

    def __init__(
        self, items: Sequence[ManifestItem], indices: Sequence[list[int]], size: tuple[int, int] | None
    ) -> None:
        self.items, self.indices, self.size = list(items), list(indices), size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, j: int) -> dict[str, Any]:
        clip = read_guided_clip(self.items[j], self.indices[j], self.size)
        return {"clip": torch.from_numpy(np.ascontiguousarray(clip)), "job": j}


def saliency_windows(model: nn.Module, num_frames: int, mode: str = "fast") -> torch.Tensor:
    """What the UNet3D is fed for the maps of `num_frames` sampled frames, as one batch:
    (windows, 3, clip_len, height, width) at the model's own input size; `fast`: the sampled
    frames in windows (the last padded), `faithful`: one window per sampled frame."""
    cfg = model.config
    windows = int(num_frames) if mode == "faithful" else -(-int(num_frames) // cfg.clip_len)
    device = next(model.parameters()).device
    return torch.rand(windows, 3, cfg.clip_len, cfg.height, cfg.width, device=device)
