"""Features -> quality regression for the NSS floor: scikit-learn to fit, plain arrays to keep.

`fit_regressor` standardises the features on the train part, fits an RBF SVR (or ridge) for
every point of the grid on train, and keeps the one with the best SRCC on the validation part
(never the test part). The result is a `FeatureRegressor`: the scaler statistics, the
imputation values and the model as arrays (support vectors, dual coefficients, intercept and
gamma for the SVR; weights and intercept for ridge). Its `predict` evaluates the function
sklearn's `SVR.predict` does, so a checkpoint holds tensors only, readable with
`torch.load(weights_only=True)`, and no pickle. It works one video (row) at a time with
elementwise sums rather than matrix products: a BLAS product's rounding depends on the batch
it is blocked in, and a video's score must not depend on which other videos are scored with it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.stats import spearmanr
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from vqa_core.errors import VqaError
from vqa_floors.config import RegressorConfig

__all__ = ["FeatureRegressor", "fit_regressor"]

# With fewer validation videos than this, SRCC cannot rank grid points: the grid's middle is used.
MIN_VAL_ITEMS = 4


@dataclass
class FeatureRegressor:
    """A fitted regressor as arrays: impute with `fill`, standardise with `center`/`scale`, then
    `kind == "svr"`: sum_i dual_i exp(-gamma |x - support_i|^2) + intercept;
    `kind == "ridge"`: x . coef + intercept."""

    kind: str
    fill: np.ndarray
    center: np.ndarray
    scale: np.ndarray
    intercept: float
    coef: np.ndarray  # dual coefficients (svr) or weights (ridge)
    support: np.ndarray | None = None  # (n_support, n_features), svr only
    gamma: float = 0.0

    @property
    def num_features(self) -> int:
        return int(self.center.shape[0])

    def transform(self, features: np.ndarray) -> np.ndarray:
        x = np.array(features, dtype=np.float64, ndmin=2)
        if x.shape[1] != self.num_features:
            raise VqaError(f"the regressor expects {self.num_features} features per video, got {x.shape[1]}")
        x = np.where(np.isfinite(x), x, self.fill[None, :])
        return (x - self.center) / self.scale

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Raw (z-scored MOS) predictions, one per row of `features`."""
        x = self.transform(features)
        if self.kind == "svr":
            assert self.support is not None
            out = np.empty(x.shape[0])
            for i, row in enumerate(x):
                kernel = np.exp(-self.gamma * np.sum(np.square(self.support - row), axis=1))
                out[i] = np.sum(kernel * self.coef) + self.intercept
            return out
        return np.sum(x * self.coef, axis=1) + self.intercept

    def state_dict(self) -> dict[str, Any]:
        state: dict[str, Any] = {
            "kind": self.kind,
            "fill": torch.from_numpy(np.ascontiguousarray(self.fill, dtype=np.float64)),
            "center": torch.from_numpy(np.ascontiguousarray(self.center, dtype=np.float64)),
            "scale": torch.from_numpy(np.ascontiguousarray(self.scale, dtype=np.float64)),
            "intercept": float(self.intercept),
            "coef": torch.from_numpy(np.ascontiguousarray(self.coef, dtype=np.float64)),
            "gamma": float(self.gamma),
        }
        if self.support is not None:
            state["support"] = torch.from_numpy(np.ascontiguousarray(self.support, dtype=np.float64))
        return state

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> FeatureRegressor:
        def arr(key: str) -> np.ndarray:
            value = state[key]
            return (
                value.numpy().astype(np.float64)
                if isinstance(value, torch.Tensor)
                else np.asarray(value, np.float64)
            )

        return cls(
            kind=str(state["kind"]),
            fill=arr("fill"),
            center=arr("center"),
            scale=arr("scale"),
            intercept=float(state["intercept"]),
            coef=arr("coef"),
            support=arr("support") if "support" in state else None,
            gamma=float(state.get("gamma", 0.0)),
        )


def _grid(cfg: RegressorConfig) -> list[dict[str, float]]:
    if cfg.kind == "svr":
        return [{"C": c, "gamma_mult": g} for c, g in itertools.product(cfg.c_grid, cfg.gamma_grid)]
    return [{"alpha": a} for a in cfg.alpha_grid]


def _srcc(pred: np.ndarray, target: np.ndarray) -> float:
    if np.ptp(pred) == 0 or np.ptp(target) == 0:
        return float("nan")
    return float(spearmanr(pred, target).statistic)


def _fit_one(cfg: RegressorConfig, point: Mapping[str, float], x: np.ndarray, y: np.ndarray):
    if cfg.kind == "svr":
        gamma = point["gamma_mult"] / x.shape[1]
        return SVR(kernel="rbf", C=point["C"], gamma=gamma, epsilon=cfg.epsilon).fit(x, y), gamma
    return Ridge(alpha=point["alpha"]).fit(x, y), 0.0


def fit_regressor(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    cfg: RegressorConfig,
) -> tuple[FeatureRegressor, dict[str, Any]]:
    """Fit on train, select the grid point by validation SRCC; returns the regressor and a history.

    Non-finite features (a flat frame has no NSS shape) are replaced by the train column means.
    """
    x_train = np.array(x_train, dtype=np.float64, ndmin=2)
    y_train = np.asarray(y_train, dtype=np.float64)
    if x_train.shape[0] != y_train.shape[0] or x_train.shape[0] < 3:
        raise VqaError(
            f"the NSS regressor needs at least 3 training videos with features, got {x_train.shape[0]}"
        )
    finite = np.where(np.isfinite(x_train), x_train, np.nan)
    counts = np.sum(np.isfinite(x_train), axis=0)
    fill = np.where(counts > 0, np.nansum(finite, axis=0) / np.maximum(counts, 1), 0.0)
    x_train = np.where(np.isfinite(x_train), x_train, fill[None, :])
    scaler = StandardScaler().fit(x_train)
    base = FeatureRegressor(cfg.kind, fill, scaler.mean_, scaler.scale_, 0.0, np.zeros(0))
    xs_train = base.transform(x_train)
    xs_val = base.transform(x_val) if len(x_val) else np.zeros((0, xs_train.shape[1]))
    y_val = np.asarray(y_val, dtype=np.float64)

    grid = _grid(cfg)
    trials = []
    if len(xs_val) >= MIN_VAL_ITEMS:
        for point in grid:
            model, _ = _fit_one(cfg, point, xs_train, y_train)
            trials.append({**point, "val_srcc": _srcc(model.predict(xs_val), y_val)})
        scored = [t for t in trials if math.isfinite(t["val_srcc"])]
        # max keeps the first of equal scores: ties go to the grid's earlier (smaller) setting
        best = (
            grid[trials.index(max(scored, key=lambda t: t["val_srcc"]))] if scored else grid[len(grid) // 2]
        )
        selected_by = "validation SRCC" if scored else "grid middle (constant validation predictions)"
    else:
        best = grid[len(grid) // 2]
        selected_by = f"grid middle (fewer than {MIN_VAL_ITEMS} validation videos)"
    model, gamma = _fit_one(cfg, best, xs_train, y_train)
    if cfg.kind == "svr":
        regressor = FeatureRegressor(
            "svr",
            fill,
            scaler.mean_.copy(),
            scaler.scale_.copy(),
            float(model.intercept_[0]),
            model.dual_coef_[0].astype(np.float64),
            model.support_vectors_.astype(np.float64),
            gamma,
        )
    else:
        regressor = FeatureRegressor(
            "ridge",
            fill,
            scaler.mean_.copy(),
            scaler.scale_.copy(),
            float(model.intercept_),
            model.coef_.astype(np.float64),
        )
    history = {
        "selected": dict(best),
        "selected_by": selected_by,
        "train_srcc": _srcc(regressor.predict(x_train), y_train),
        "val_srcc": _srcc(regressor.predict(x_val), y_val) if len(x_val) >= 2 else float("nan"),
        "grid": trials,
    }
    return regressor, history
