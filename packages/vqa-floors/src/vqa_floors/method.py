"""The three floor baselines as vqa-core Methods: `sharpness`, `bitrate` and `nss`.

Every learned method in vqa-zoo is judged against these, so they go through exactly the same
doors: registered under the entry-point group `vqa_zoo.methods`, fitted on the same splits by
the bench runner, scored by `vqa score` from a self-describing checkpoint.

- `sharpness` and `bitrate` are training-free: `fit` only sets a strictly increasing linear map
  from the statistic to the train part's MOS scale (`ScoreCalibration.fit_increasing`, moment
  matching when the least-squares slope is not positive), so their ranking is the statistic's own.
- `nss` regresses BRISQUE + frame-difference features to MOS with an SVR chosen on validation.

Per video, `score` times decoding (probe, decode, grey conversion; for `bitrate`, reading the
container) apart from the model (features and regression). A video that cannot be decoded
gets NaN and its reason in `score`, is left out of `fit` with a warning, and makes `predict`
raise `VideoDecodeError` naming it. Scoring is deterministic: same file, same score.
"""

from __future__ import annotations

import logging
import time
import warnings
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from scipy.stats import spearmanr

from vqa_core.errors import DatasetError, VideoDecodeError, VqaError
from vqa_core.method import Method, ScoreCalibration, ScoreReport, as_manifest_items
from vqa_core.sampling import uniform_indices
from vqa_core.train.distributed import all_gather_objects, init_distributed
from vqa_core.train.progress import make_progress
from vqa_core.video import probe
from vqa_floors.bitrate import bits_per_pixel
from vqa_floors.brisque import BRISQUE_FEATURE_NAMES, brisque_features
from vqa_floors.config import BitrateConfig, NssConfig, SharpnessConfig
from vqa_floors.frames import decode_grey, plan_frames
from vqa_floors.regression import FeatureRegressor, fit_regressor
from vqa_floors.sharpness import sharpness_statistic
from vqa_floors.temporal import (
    DIFFERENCE_FEATURE_NAMES,
    RHYTHM_FEATURE_NAMES,
    difference_features,
    rhythm_features,
)

if TYPE_CHECKING:
    from vqa_core.datasets import ManifestItem

log = logging.getLogger(__name__)

__all__ = ["BitrateMethod", "FloorMethod", "NssMethod", "SharpnessMethod"]

# Bumped whenever a change to the features changes the numbers a checkpoint was fitted on.
FEATURE_VERSION = 1
# The smallest analysis frame the NSS features are defined on (BRISQUE's half scale needs >= 8).
MIN_NSS_SIDE = 16


class FloorMethod(Method):
    """What the floors share: per-video measurement with timings, scoring, the fitted flag."""

    config_class: ClassVar[type]

    def __init__(self, config: Any = None, device: Any = "auto") -> None:
        super().__init__(config, device)
        self._fitted = False

    # -- what each floor provides -----------------------------------------------------------
    @abstractmethod
    def _decode(self, path: Path) -> Any:
        """Everything read from the file (timed as decode); raises VideoDecodeError."""

    @abstractmethod
    def _features(self, decoded: Any) -> np.ndarray:
        """The video's 1-D feature vector from what `_decode` returned (timed as model)."""

    @abstractmethod
    def _raw_scores(self, features: np.ndarray) -> np.ndarray:
        """Raw scores (before calibration) of a (videos, features) matrix."""

    # -- measuring --------------------------------------------------------------------------
    def _measure(
        self, items: Sequence[ManifestItem], progress: bool, what: str
    ) -> tuple[list[np.ndarray | None], np.ndarray, np.ndarray, list[str | None]]:
        """Features, decode seconds, feature seconds and errors per item (never raises for one video).

        Under torchrun each rank measures every world_size-th video and the ranks exchange their
        results, so every rank ends with all of them (the same fit, the same scores).
        """
        n = len(items)
        feats: list[np.ndarray | None] = [None] * n
        decode_s = np.full(n, np.nan)
        model_s = np.full(n, np.nan)
        errors: list[str | None] = [None] * n
        info, _ = init_distributed(self.device)
        mine = range(info.rank, n, info.world_size)
        with make_progress(progress and info.is_main, transient=True) as bar:
            task = bar.add_task(f"{self.name}: {what}", total=len(mine), status="")
            for i in mine:
                item = items[i]
                t0 = time.perf_counter()
                try:
                    decoded = self._decode(Path(item.path))
                    t1 = time.perf_counter()
                    feats[i] = np.asarray(self._features(decoded), dtype=np.float64).reshape(-1)
                    t2 = time.perf_counter()
                except (VqaError, OSError) as err:
                    message = str(err)
                    errors[i] = message if str(item.path) in message else f"{item.path}: {message}"
                else:
                    decode_s[i], model_s[i] = t1 - t0, t2 - t1
                bar.advance(task)
        if info.distributed:
            for rank, part in enumerate(all_gather_objects((feats, decode_s, model_s, errors))):
                for i in range(rank, n, info.world_size):
                    feats[i], decode_s[i], model_s[i], errors[i] = (part[0][i], part[1][i], part[2][i], part[3][i])
        return feats, decode_s, model_s, errors

    def _labelled(
        self, items: Sequence[ManifestItem], progress: bool, what: str
    ) -> tuple[np.ndarray, np.ndarray]:
        """(features, MOS) of the decodable items; the others are left out with one warning."""
        items = list(items)
        feats, _, _, errors = self._measure(items, progress, what)
        failed = [e for e in errors if e is not None]
        if failed:
            log.warning(
                "%s: %d %s video(s) could not be decoded and are left out:\n  %s",
                self.name,
                len(failed),
                what,
                "\n  ".join(failed),
            )
        keep = [i for i, f in enumerate(feats) if f is not None]
        x = np.stack([feats[i] for i in keep]) if keep else np.zeros((0, 0))
        return x, np.asarray([items[i].mos for i in keep], dtype=np.float64)

    # -- the contract ------------------------------------------------------------------------
    def score(
        self, items: Sequence[ManifestItem] | Sequence[str | Path], *, progress: bool = False
    ) -> ScoreReport:
        """MOS-scale scores with per-video decode and model seconds; NaN and a reason where a video fails."""
        if not self._fitted:
            raise VqaError(f"{self.name}: not fitted; call fit() or load a checkpoint first")
        items = as_manifest_items(items)
        feats, decode_s, model_s, errors = self._measure(items, progress, "scoring")
        scores = np.full(len(items), np.nan)
        ok = [i for i, f in enumerate(feats) if f is not None]
        if ok:
            t0 = time.perf_counter()
            raw = self._raw_scores(np.stack([feats[i] for i in ok]))
            scores[ok] = self.calibration.to_mos(raw)
            model_s[ok] += (time.perf_counter() - t0) / len(ok)
        return ScoreReport(scores=scores, decode_s=decode_s, model_s=model_s, errors=errors)

    def init_for_scoring(self, seed: int = 0) -> None:
        """Ready to score without fitting, identity calibration (raw statistic as the score)."""
        self.calibration = ScoreCalibration()
        self._fitted = True

    def cost_parts(self) -> dict[str, Any]:
        """No network runs: the bench reports parameters and FLOPs as n/a."""
        return {}

    def caveats(self) -> list[str]:
        return []


def _srcc(x: np.ndarray, y: np.ndarray) -> float:
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    return float(spearmanr(x, y).statistic)


class TrainingFreeFloor(FloorMethod):
    """A one-number statistic; `fit` only maps it, increasing, to the train part's MOS scale."""

    def _raw_scores(self, features: np.ndarray) -> np.ndarray:
        return features[:, 0]

    def fit(
        self,
        train: Sequence[ManifestItem],
        val: Sequence[ManifestItem],
        work_dir: str | Path,
        *,
        resume: bool = True,
        progress: bool = True,
    ) -> dict[str, Any]:
        x, mos = self._labelled(train, progress, "train")
        if len(mos) < 2:
            raise DatasetError(f"{self.name}: need at least 2 decodable training videos, got {len(mos)}")
        raw = self._raw_scores(x)
        self.calibration = ScoreCalibration.fit_increasing(raw, mos, fallback="moments")
        self._fitted = True
        history: dict[str, Any] = {"num_train": len(mos), "train_srcc": _srcc(raw, mos)}
        if val:
            xv, mos_v = self._labelled(val, progress, "val")
            history.update(
                num_val=len(mos_v), val_srcc=_srcc(self._raw_scores(xv), mos_v) if len(mos_v) else None
            )
        history["calibration"] = self.calibration.to_dict()
        return history

    def state_dict(self) -> dict[str, Any]:
        if not self._fitted:
            raise VqaError(f"{self.name}: nothing to save; call fit() first")
        return {"statistic": self.name, "feature_version": FEATURE_VERSION}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        _check_state(self.name, state, "statistic")
        self._fitted = True


class SharpnessMethod(TrainingFreeFloor):
    """Floor: log(1 + mean variance of the Laplacian) of `num_frames` uniformly sampled grey frames."""

    name: ClassVar[str] = "sharpness"
    config_class: ClassVar[type] = SharpnessConfig

    def _decode(self, path: Path) -> np.ndarray:
        info = probe(path)
        return decode_grey(
            path, uniform_indices(info.num_frames, self.config.num_frames), self.config.short_side, info
        )

    def _features(self, decoded: np.ndarray) -> np.ndarray:
        return np.asarray([sharpness_statistic(decoded)])


class BitrateMethod(TrainingFreeFloor):
    """Floor: log bits per pixel per frame from the container (nothing is decoded but one frame)."""

    name: ClassVar[str] = "bitrate"
    config_class: ClassVar[type] = BitrateConfig

    def _decode(self, path: Path) -> float:
        return bits_per_pixel(path, self.config.source).value

    def _features(self, decoded: float) -> np.ndarray:
        return np.asarray([np.log(decoded)])


def _mean_rows(rows: list[np.ndarray], width: int) -> np.ndarray:
    """Column means ignoring NaN (a flat frame has no NSS shape); NaN where a column has no value."""
    if not rows:
        return np.full(width, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN column: NaN, imputed at regression
        return np.nanmean(np.stack(rows), axis=0)


class NssMethod(FloorMethod):
    """Classical learned floor: BRISQUE (36) + frame-difference NSS (20) + temporal rhythm (10)
    features, averaged over the video, regressed to MOS by an SVR chosen on validation SRCC."""

    name: ClassVar[str] = "nss"
    config_class: ClassVar[type] = NssConfig
    feature_names: ClassVar[tuple[str, ...]] = (
        BRISQUE_FEATURE_NAMES + DIFFERENCE_FEATURE_NAMES + RHYTHM_FEATURE_NAMES
    )

    def __init__(self, config: Any = None, device: Any = "auto") -> None:
        super().__init__(config, device)
        self.regressor: FeatureRegressor | None = None

    def _decode(self, path: Path) -> tuple[np.ndarray, Any]:
        cfg = self.config
        info = probe(path)
        plan = plan_frames(info.num_frames, cfg.num_frames, cfg.pairs, cfg.window)
        grey = decode_grey(path, plan.all_indices(), cfg.short_side, info)
        if min(grey.shape[1:]) < MIN_NSS_SIDE:
            raise VideoDecodeError(
                f"{path}: {info.width}x{info.height} is too small for NSS features "
                f"(the analysis frame needs >= {MIN_NSS_SIDE} pixels a side)"
            )
        return grey, plan

    def _features(self, decoded: tuple[np.ndarray, Any]) -> np.ndarray:
        grey, plan = decoded
        n_s, n_p = len(plan.spatial), len(plan.pairs)
        spatial = grey[:n_s]
        pairs = grey[n_s : n_s + 2 * n_p].reshape(n_p, 2, *grey.shape[1:])
        window = grey[n_s + 2 * n_p :]
        parts = [
            _mean_rows([brisque_features(f) for f in spatial], len(BRISQUE_FEATURE_NAMES)),
            _mean_rows([difference_features(a, b) for a, b in pairs], len(DIFFERENCE_FEATURE_NAMES)),
            rhythm_features(window) if len(window) else np.full(len(RHYTHM_FEATURE_NAMES), np.nan),
        ]
        return np.concatenate(parts)

    def _raw_scores(self, features: np.ndarray) -> np.ndarray:
        assert self.regressor is not None
        return self.regressor.predict(features)

    def fit(
        self,
        train: Sequence[ManifestItem],
        val: Sequence[ManifestItem],
        work_dir: str | Path,
        *,
        resume: bool = True,
        progress: bool = True,
    ) -> dict[str, Any]:
        x, mos = self._labelled(train, progress, "train")
        if len(mos) < 3:
            raise DatasetError(f"{self.name}: need at least 3 decodable training videos, got {len(mos)}")
        xv, mos_v = self._labelled(val, progress, "val") if val else (np.zeros((0, x.shape[1])), np.zeros(0))
        self.calibration = ScoreCalibration.from_mos(mos)  # z-scored targets, train statistics only
        target = np.asarray(self.calibration.normalize(mos), dtype=np.float64)
        target_v = np.asarray(self.calibration.normalize(mos_v), dtype=np.float64)
        self.regressor, history = fit_regressor(x, target, xv, target_v, self.config.regressor)
        self._fitted = True
        # the selected point also as scalars: run records keep only the plain values of a history
        selected = {f"selected_{k}": v for k, v in history["selected"].items()}
        return {"num_train": len(mos), "num_val": len(mos_v), **selected, **history}

    def init_for_scoring(self, seed: int = 0) -> None:
        """An UNTRAINED ridge stand-in for the SVR (standard-normal weights / sqrt(features) on
        unstandardised features, zero fill): the per-video work is the features, which this
        computes in full; the regression itself costs microseconds either way."""
        width = len(self.feature_names)
        coef = np.random.default_rng(seed).standard_normal(width) / np.sqrt(width)
        zeros = np.zeros(width)
        self.regressor = FeatureRegressor("ridge", fill=zeros, center=zeros, scale=zeros + 1, intercept=0.0, coef=coef)
        super().init_for_scoring(seed)

    def state_dict(self) -> dict[str, Any]:
        if not self._fitted or self.regressor is None:
            raise VqaError(f"{self.name}: nothing to save; call fit() first")
        return {
            "statistic": self.name,
            "feature_version": FEATURE_VERSION,
            "feature_names": list(self.feature_names),
            "regressor": self.regressor.state_dict(),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        _check_state(self.name, state, "statistic")
        names = list(state.get("feature_names", []))
        if names != list(self.feature_names):
            raise VqaError(
                f"{self.name}: the checkpoint was fitted on {len(names)} features that differ from this "
                f"version's {len(self.feature_names)}; refit it with this version of vqa-floors"
            )
        self.regressor = FeatureRegressor.from_state(state["regressor"])
        self._fitted = True


def _check_state(name: str, state: Mapping[str, Any], key: str) -> None:
    if state.get(key) != name:
        raise VqaError(f"{name}: the checkpoint state belongs to {state.get(key)!r}, not {name!r}")
    version = int(state.get("feature_version", 0))
    if version != FEATURE_VERSION:
        raise VqaError(
            f"{name}: the checkpoint was fitted with feature version {version}, this vqa-floors computes "
            f"version {FEATURE_VERSION}; refit the method"
        )
