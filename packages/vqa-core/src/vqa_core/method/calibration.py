"""`ScoreCalibration`: how a method's raw output becomes a score on the training data's MOS scale.

A checkpoint carries its own calibration, so `Method.predict` returns MOS-scale scores and users
never see the seeds' negative numbers or hard-coded rescale constants.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vqa_core.errors import ConfigError, VqaError

__all__ = ["ScoreCalibration"]


@dataclass(frozen=True)
class ScoreCalibration:
    """Maps a model's raw output to the MOS scale of the data it was trained on.

    Users asked what the seeds' scores mean (negative numbers, hard-coded rescale constants).
    A checkpoint carries its own calibration, so `predict` returns MOS-scale scores:

    - `kind="zscore"` / `"minmax"`: the model was trained on `(mos - mean) / std` of the train
      part (for minmax, `mean` holds the minimum and `std` the range), so
      `to_mos(raw) = raw * std + mean`. `from_scaler` takes these from a
      `vqa_core.datasets.MosScaler` fitted on the train part.
    - `kind="logistic"`: a 4-parameter logistic (`vqa_core.metrics.logistic4`) fitted from raw
      outputs to MOS on the train part, `params = (b1, b2, b3, b4)`.
    - `kind="identity"`: the model already outputs MOS.
    """

    kind: str = "identity"
    mean: float = 0.0
    std: float = 1.0
    params: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("identity", "zscore", "minmax", "logistic"):
            raise ConfigError(f"calibration kind {self.kind!r} must be identity, zscore, minmax or logistic")
        if self.kind in ("zscore", "minmax") and not (self.std > 0 and math.isfinite(self.std)):
            raise ConfigError(f"{self.kind} calibration needs a scale > 0, got {self.std}")
        if self.kind == "logistic" and len(self.params) != 4:
            raise ConfigError(f"logistic calibration needs 4 parameters, got {self.params!r}")

    @classmethod
    def from_mos(cls, mos: Sequence[float] | np.ndarray, mode: str = "zscore") -> ScoreCalibration:
        """Calibration from the train part's MOS (never include val or test); mode zscore | minmax."""
        from vqa_core.datasets import MosScaler

        return cls.from_scaler(MosScaler.fit([float(v) for v in np.asarray(mos, dtype=np.float64)], mode=mode))

    @classmethod
    def from_scaler(cls, scaler: Any) -> ScoreCalibration:
        """The calibration that undoes a `vqa_core.datasets.MosScaler` (train-part statistics)."""
        if scaler.mode == "none":
            return cls()
        if scaler.mode == "minmax":
            return cls(kind="minmax", mean=float(scaler.min), std=float(scaler.max - scaler.min))
        return cls(kind="zscore", mean=float(scaler.mean), std=float(scaler.std))

    @classmethod
    def fit_logistic(cls, raw: Sequence[float] | np.ndarray, mos: Sequence[float] | np.ndarray) -> ScoreCalibration:
        """Fit the 4-parameter logistic raw -> MOS with the metrics' own fit (VQEG form)."""
        from vqa_core.metrics import fit_logistic4

        x = np.asarray(raw, dtype=np.float64)
        y = np.asarray(mos, dtype=np.float64)
        if x.shape != y.shape or x.size < 4:
            raise ConfigError(f"logistic calibration needs >= 4 paired values, got {x.size} and {y.size}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ConfigError("logistic calibration needs finite outputs and MOS values")
        params = fit_logistic4(x, y)
        if params is None:
            raise VqaError(f"the logistic calibration did not converge on {x.size} items")
        return cls(kind="logistic", params=tuple(float(p) for p in params))

    @classmethod
    def fit_increasing(
        cls,
        raw: Sequence[float] | np.ndarray,
        mos: Sequence[float] | np.ndarray,
        fallback: str = "identity",
    ) -> ScoreCalibration:
        """A strictly increasing linear map raw -> MOS scale (least squares on the finite pairs).

        For scores whose ranking must stay the model's own: a 4-parameter logistic fitted on a
        few videos saturates outside their raw range (every test video gets one value) or
        decreases (the labels flip the ranking). When the least-squares slope is not positive,
        `fallback` decides: "identity" keeps the raw scores, "moments" matches the MOS mean and
        spread with a positive slope. Degenerate input (< 2 pairs, constant raw) gives identity.
        """
        if fallback not in ("identity", "moments"):
            raise ConfigError(f"fallback {fallback!r} must be 'identity' or 'moments'")
        x = np.asarray(raw, dtype=np.float64)
        y = np.asarray(mos, dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if x.size < 2 or np.ptp(x) == 0:
            return cls()
        slope, intercept = np.polyfit(x, y, 1)
        if not slope > 0:
            if fallback == "identity":
                return cls()
            slope = max(float(y.std()), 1e-6) / float(x.std())
            intercept = float(y.mean()) - slope * float(x.mean())
        # to_mos(raw) = raw * std + mean for kind zscore
        return cls(kind="zscore", mean=float(intercept), std=float(slope))

    def normalize(self, mos: np.ndarray | torch.Tensor | float) -> Any:
        """MOS -> training target (the inverse of `to_mos` for zscore/identity)."""
        if self.kind in ("zscore", "minmax"):
            return (mos - self.mean) / self.std
        if self.kind == "identity":
            return mos
        raise ConfigError("a logistic calibration maps outputs to MOS only; train on zscore targets instead")

    def to_mos(self, raw: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """Raw model output -> score on the training data's MOS scale."""
        x = np.asarray(raw, dtype=np.float64)
        if self.kind in ("zscore", "minmax"):
            return x * self.std + self.mean
        if self.kind == "logistic":
            from vqa_core.metrics import logistic4

            return logistic4(x, *self.params)
        return x

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "mean": float(self.mean), "std": float(self.std), "params": list(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreCalibration:
        return cls(
            kind=str(data.get("kind", "identity")),
            mean=float(data.get("mean", 0.0)),
            std=float(data.get("std", 1.0)),
            params=tuple(float(p) for p in data.get("params", ())),
        )
