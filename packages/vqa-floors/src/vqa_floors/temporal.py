"""Frame-difference statistics: what BRISQUE, a still-image model, cannot see.

Two families, both cheap on grey frames at the analysis size:

- `difference_features(prev, next)`: natural-scene statistics of the difference of two
  consecutive frames (the spirit of V-BLIINDS and TLVQM's temporal NSS). The raw difference's
  GGD shape and log variance say how sparse and how strong the change is; the 18 BRISQUE fits
  of its local-contrast-normalised version say how its structure departs from natural motion
  (compression drifts and block flicker, interpolation smear).
- `rhythm_features(frames)`: over a window of consecutive frames, how irregular the
  frame-difference energy and the per-frame sharpness are. Natural motion changes smoothly;
  a dropped-and-duplicated frame gives a near-zero difference, a dropped frame a spike, and
  motion-interpolated frames (synthesised every k-th frame) make the sharpness and the energy
  periodic with period k, which the autocorrelations at lags 2, 3 and 4 pick up.
"""

from __future__ import annotations

import numpy as np

from vqa_floors.brisque import NSS_FEATURE_NAMES, ggd_fit, mscn, nss_features
from vqa_floors.sharpness import laplacian_variance

__all__ = [
    "DIFFERENCE_FEATURE_NAMES",
    "RHYTHM_FEATURE_NAMES",
    "RHYTHM_LAGS",
    "autocorrelation",
    "difference_features",
    "rhythm_features",
]

RHYTHM_LAGS = (2, 3, 4)
DIFFERENCE_FEATURE_NAMES: tuple[str, ...] = (
    "diff_ggd_shape",
    "diff_log_var",
    *(f"diff_mscn_{name}" for name in NSS_FEATURE_NAMES),
)
RHYTHM_FEATURE_NAMES: tuple[str, ...] = (
    "energy_log_cv",
    "energy_min_over_median",
    "energy_log_max_over_median",
    *(f"energy_autocorr_{lag}" for lag in RHYTHM_LAGS),
    "sharpness_flicker",
    *(f"sharpness_autocorr_{lag}" for lag in RHYTHM_LAGS),
)

_EPS = 1e-6


def difference_features(prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """The 20 features of one consecutive-frame pair (2-D grey, 0-255), in `DIFFERENCE_FEATURE_NAMES` order."""
    a = np.asarray(prev, dtype=np.float32)
    b = np.asarray(nxt, dtype=np.float32)
    if a.shape != b.shape or a.ndim != 2:
        raise ValueError(
            f"difference_features needs two 2-D frames of one shape, got {a.shape} and {b.shape}"
        )
    diff = b - a
    shape, var = ggd_fit(diff)
    return np.concatenate([[shape, np.log1p(var)], nss_features(mscn(diff))])


def autocorrelation(x: np.ndarray, lag: int) -> float:
    """Biased sample autocorrelation of `x` at `lag` (0 for a constant or too short sequence)."""
    v = np.asarray(x, dtype=np.float64) - float(np.mean(x))
    denom = float(np.dot(v, v))
    if lag >= v.size or denom <= 0:
        return 0.0
    return float(np.dot(v[:-lag], v[lag:]) / denom)


def _detrend(x: np.ndarray) -> np.ndarray:
    """`x` minus its 3-tap moving average (edges replicated): the frame-to-frame part of a slow trend."""
    padded = np.pad(x, 1, mode="edge")
    return x - np.convolve(padded, np.ones(3) / 3.0, mode="valid")


def rhythm_features(frames: np.ndarray) -> np.ndarray:
    """The 10 features of a window of consecutive grey frames (T >= 6, H, W), in `RHYTHM_FEATURE_NAMES` order."""
    grey = np.asarray(frames, dtype=np.float32)
    if grey.ndim != 3 or grey.shape[0] < 6:
        raise ValueError(
            f"rhythm_features needs at least 6 consecutive grey frames (T, H, W), got {grey.shape}"
        )
    energy = np.mean(np.square(np.diff(grey, axis=0)), axis=(1, 2), dtype=np.float64)
    median = float(np.median(energy))
    mean = float(np.mean(energy))
    # Periodicity is measured on the frame-to-frame part only: a slow change of motion or
    # detail over the window would otherwise dominate every autocorrelation.
    energy_jitter = _detrend(energy / (median + _EPS))
    flicker = _detrend(np.log1p([laplacian_variance(f) for f in grey]))
    return np.asarray(
        [
            np.log1p(float(np.std(energy)) / (mean + _EPS)),
            float(np.min(energy)) / (median + _EPS),
            np.log1p(float(np.max(energy)) / (median + _EPS)),
            *(autocorrelation(energy_jitter, lag) for lag in RHYTHM_LAGS),
            float(np.std(flicker)),
            *(autocorrelation(flicker, lag) for lag in RHYTHM_LAGS),
        ],
        dtype=np.float64,
    )
