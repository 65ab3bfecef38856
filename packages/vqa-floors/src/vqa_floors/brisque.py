"""BRISQUE natural-scene statistics (Mittal, Moorthy & Bovik, IEEE TIP 2012), from the paper.

Why written here rather than imported: of the libraries that could provide them,
scikit-video's `brisque_features` (already installed with vqa-core) calls `scipy.misc.imresize`,
removed from SciPy years ago, so every call fails with an AttributeError; piq keeps its feature
extraction private (its public `brisque` is a score whose SVR weights it downloads at run time);
opencv-contrib's `cv2.quality` exposes the features but is a large second copy of OpenCV and
FFmpeg for one function. The features are a page of numpy/scipy.

What the features are (18 per scale, two scales = 36):
- MSCN coefficients: `(I - mu) / (sigma + 1)`, `mu` and `sigma` the local mean and standard
  deviation under a 7x7 Gaussian window (sigma 7/6), for a 0-255 grey image. Natural images
  give near-Gaussian, unit-variance coefficients; distortions change their shape.
- a generalised Gaussian (GGD) fitted to the coefficients by moment matching: shape, variance;
- an asymmetric GGD (AGGD, Lasmar et al. 2009) fitted to each of the four products of
  neighbouring coefficients (horizontal, vertical, both diagonals): shape, mean, left and
  right variance.
The second scale is the image downsampled by two (2x2 area average, where the paper used
MATLAB's antialiased bicubic `imresize`). Borders are reflected (the paper's `filter2` pads
with zeros) and neighbour products are taken inside the image (no wrap-around `circshift`).
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from scipy.special import gammaln

from vqa_core import mscn as mscn_window

__all__ = [
    "BRISQUE_FEATURE_NAMES",
    "NSS_FEATURE_NAMES",
    "aggd_fit",
    "brisque_features",
    "downsample2",
    "ggd_fit",
    "mscn",
    "nss_features",
]

# the window the networks' MSCN input uses too (vqa_core.mscn), on 0-255 images
MSCN_SIGMA = mscn_window.SIGMA
MSCN_RADIUS = mscn_window.KERNEL // 2  # 7x7 window
MSCN_C = mscn_window.C  # stabiliser for 0-255 images

# Shape parameters searched by the moment-matching fits (the paper's grid: 0.2 to 10 by 0.001).
_SHAPES = np.linspace(0.2, 10.0, 9801)
# Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)): increasing in the shape a, from ~0 to 3/4.
_MOMENT_RATIO = np.exp(2 * gammaln(2 / _SHAPES) - gammaln(1 / _SHAPES) - gammaln(3 / _SHAPES))

# (row offset, column offset) of the neighbour in each pairwise product.
_NEIGHBOURS = {"h": (0, 1), "v": (1, 0), "d1": (1, 1), "d2": (1, -1)}

NSS_FEATURE_NAMES: tuple[str, ...] = (
    "ggd_shape",
    "ggd_var",
    *(f"{k}_{p}" for k in _NEIGHBOURS for p in ("shape", "mean", "left_var", "right_var")),
)
BRISQUE_FEATURE_NAMES: tuple[str, ...] = tuple(
    f"s{scale}_{name}" for scale in (1, 2) for name in NSS_FEATURE_NAMES
)


def _shape_from_ratio(ratio: float) -> float:
    """The GGD shape whose moment ratio Gamma(2/a)^2/(Gamma(1/a)Gamma(3/a)) is `ratio` (clamped to the grid)."""
    return float(np.interp(ratio, _MOMENT_RATIO, _SHAPES))


def _floats(x: np.ndarray) -> np.ndarray:
    v = np.asarray(x).ravel()
    return v if v.dtype.kind == "f" else v.astype(np.float64)


def mscn(image: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients of a 2-D grey image (0-255 scale).

    Computed in float32 (the filters and products dominate the floor's run time; the fits
    accumulate in float64).
    """
    img = np.asarray(image, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"mscn needs a 2-D grey image, got shape {img.shape}")
    truncate = MSCN_RADIUS / MSCN_SIGMA
    mu = ndimage.gaussian_filter(img, MSCN_SIGMA, truncate=truncate, mode="reflect")
    second = ndimage.gaussian_filter(img * img, MSCN_SIGMA, truncate=truncate, mode="reflect")
    sigma = np.sqrt(np.abs(second - mu * mu))
    return (img - mu) / (sigma + MSCN_C)


def ggd_fit(x: np.ndarray) -> tuple[float, float]:
    """(shape, variance) of a zero-mean generalised Gaussian fitted by moment matching.

    The shape solves Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) = E|x|^2 / E[x^2]; the variance is
    E[x^2]. All-zero input has no shape: (nan, 0.0).
    """
    v = _floats(x)
    second = float(np.sum(v * v, dtype=np.float64)) / v.size if v.size else 0.0
    if second <= 0.0:
        return float("nan"), 0.0
    first = float(np.sum(np.abs(v), dtype=np.float64)) / v.size
    return _shape_from_ratio(first * first / second), second


def aggd_fit(x: np.ndarray) -> tuple[float, float, float, float]:
    """(shape, mean, left variance, right variance) of an asymmetric GGD (Lasmar et al. 2009).

    Left/right variances are the mean squares of the negative / positive values; the shape
    solves the moment ratio corrected for the asymmetry gamma = sigma_left / sigma_right;
    the mean is (beta_r - beta_l) Gamma(2/a) / Gamma(1/a), beta = sigma sqrt(Gamma(1/a)/Gamma(3/a)).
    Input without both negative and positive values has no shape: (nan, nan, left, right).
    """
    v = _floats(x)
    # sums over masks rather than boolean indexing: no copies of the (large) product arrays
    square = v * v
    negative = v < 0
    n_neg = int(np.count_nonzero(negative))
    n_pos = int(np.count_nonzero(v > 0))
    total = float(np.sum(square, dtype=np.float64))
    left_sum = float(np.sum(square, where=negative, dtype=np.float64))
    left_var = left_sum / n_neg if n_neg else 0.0
    right_var = (total - left_sum) / n_pos if n_pos else 0.0
    if left_var <= 0.0 or right_var <= 0.0:
        return float("nan"), float("nan"), left_var, right_var
    left, right = np.sqrt(left_var), np.sqrt(right_var)
    gamma = left / right
    first = float(np.sum(np.abs(v), dtype=np.float64)) / v.size
    r_hat = first * first / (total / v.size)
    r_norm = r_hat * (gamma**3 + 1) * (gamma + 1) / (gamma**2 + 1) ** 2
    shape = _shape_from_ratio(r_norm)
    scale = np.exp(0.5 * (gammaln(1 / shape) - gammaln(3 / shape)))
    mean = (right - left) * scale * np.exp(gammaln(2 / shape) - gammaln(1 / shape))
    return shape, float(mean), left_var, right_var


def _neighbour_products(coeffs: np.ndarray) -> dict[str, np.ndarray]:
    """Products of each coefficient with its right, lower, lower-right and lower-left neighbour."""
    h, w = coeffs.shape
    out = {}
    for name, (dr, dc) in _NEIGHBOURS.items():
        c0, c1 = max(0, -dc), w - max(0, dc)
        a = coeffs[0 : h - dr, c0:c1]
        b = coeffs[dr:h, c0 + dc : c1 + dc]
        out[name] = a * b
    return out


def nss_features(coeffs: np.ndarray) -> np.ndarray:
    """The 18 NSS features of one scale of MSCN (or any normalised) coefficients, in
    `NSS_FEATURE_NAMES` order: GGD (shape, variance), then AGGD of the h, v, d1, d2 products."""
    feats = list(ggd_fit(coeffs))
    for product in _neighbour_products(np.asarray(coeffs)).values():
        feats.extend(aggd_fit(product))
    return np.asarray(feats, dtype=np.float64)


def downsample2(image: np.ndarray) -> np.ndarray:
    """Half-size image by 2x2 area averaging (an odd last row/column is dropped)."""
    img = np.asarray(image, dtype=np.float32)
    h, w = (img.shape[0] // 2) * 2, (img.shape[1] // 2) * 2
    return img[:h, :w].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))


def brisque_features(grey: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of a 2-D grey image (0-255): 18 at full size, 18 at half size."""
    img = np.asarray(grey, dtype=np.float32)
    if img.ndim != 2 or min(img.shape) < 8:
        raise ValueError(f"brisque_features needs a 2-D grey image of at least 8x8 pixels, got {img.shape}")
    return np.concatenate([nss_features(mscn(img)), nss_features(mscn(downsample2(img)))])
