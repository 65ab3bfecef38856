"""The `demo` dataset's label: a full-reference proxy MOS from MS-SSIM against the pristine clip.

This is *not* a subjective score. It stands in for one so the demo benchmark has labels
that rank versions the way viewers broadly would (Wang, Simoncelli & Bovik, "Multi-scale
structural similarity for image quality assessment", 2003): mean per-frame MS-SSIM on luma,
mapped to the 1-5 scale of KoNViD-style MOS.

MS-SSIM is the standard dyadic one (11x11 Gaussian window, sigma 1.5, 2x2 average-pool
between scales, the paper's five exponents, valid filtering). kornia's `MS_SSIMLoss` is a
different multi-sigma full-resolution variant, so the pyramid is built here on scipy's
separable Gaussian filter, in float64 (keeps E[x^2] - E[x]^2 exact near MS-SSIM = 1; torch's
single-channel conv2d was ~10x slower on CPU for this). On frames too small for five scales (the coarsest must still hold the
11-pixel window) the finest scales are kept and their exponents renormalised to sum to 1.

Mapping: MS-SSIM saturates near 1, so its "dB" form -10*log10(1 - q) is mapped linearly
from [MOS_DB_LOW, MOS_DB_HIGH] onto [1, 5] and clipped; the pristine clip (q = 1) is 5.
The bounds were fixed once from the bank's spread on the demo scenes and are constants,
so labels do not depend on which scenes are built: 36 dB (MS-SSIM 0.99975) is where H.264
CRF 5 lands, visually lossless, so it maps to ~5; 2 dB (MS-SSIM 0.37) lies below four
pyramid octaves of blur, the strongest version, which maps to ~1.1.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter

from vqa_core.distort.clip_io import read_yuv_frames
from vqa_core.errors import VideoDecodeError

__all__ = [
    "LABEL_VERSION",
    "MOS_DB_HIGH",
    "MOS_DB_LOW",
    "MS_SSIM_WEIGHTS",
    "ReferenceClip",
    "luma_frames",
    "ms_ssim",
    "ms_ssim_scales",
    "proxy_mos",
    "video_ms_ssim",
]

# Bump when a change of this module alters the labels it gives the same files (the demo's build.json
# records it, with the constants below, and a different label code rebuilds the demo).
LABEL_VERSION = 1
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WINDOW, SIGMA = 11, 1.5
K1, K2 = 0.01, 0.03
MOS_DB_LOW = 2.0
MOS_DB_HIGH = 36.0
_BATCH = 32
_TRUNCATE = (WINDOW // 2) / SIGMA  # scipy's radius int(truncate * sigma + 0.5) = 5 -> 11 taps


def ms_ssim_scales(height: int, width: int, max_scales: int = len(MS_SSIM_WEIGHTS)) -> int:
    """How many dyadic scales a frame supports with an 11-pixel window at the coarsest one."""
    scales = 1
    while scales < max_scales and min(height, width) >> scales >= WINDOW:
        scales += 1
    if min(height, width) < WINDOW:
        raise ValueError(f"a {width}x{height} frame is smaller than the {WINDOW}-pixel SSIM window")
    return scales


class _Scale:
    """One pyramid scale of the reference batch with its blurred statistics, kept for every version it is
    compared with: a scene's 12 versions share one reference, so its blurs are done once, not 12 times."""

    def __init__(self, x: np.ndarray) -> None:
        self.x = x
        self.mu = _blur(x)
        self.mu_sq = self.mu**2
        self.var = _blur(x * x) - self.mu_sq


def _blur(t: np.ndarray) -> np.ndarray:
    """11-tap Gaussian per image (truncate 3.5 sigma), border rows dropped = valid filtering."""
    r = WINDOW // 2
    return gaussian_filter(t, sigma=(0, SIGMA, SIGMA), truncate=_TRUNCATE)[:, r:-r, r:-r]


class _Workspace:
    """Scratch arrays for `_stats` at one batch shape, reused for every version a reference is scored against.

    Fresh arrays of this size come from the OS each time (page faults: a fifth of the label time
    went to the kernel); the arithmetic is the original expression's, operation by operation, and the
    arrays that are averaged stay C-contiguous (a strided mean sums in another order), so the
    scores are the same to the last bit.
    """

    def __init__(self, shape: tuple[int, ...]) -> None:
        r = WINDOW // 2
        self.full = [np.empty(shape) for _ in range(4)]
        self.cs = np.empty((shape[0], shape[1] - 2 * r, shape[2] - 2 * r))

    def blur(self, t: np.ndarray, index: int) -> np.ndarray:
        """`_blur(t)`, written into scratch array `index`."""
        r = WINDOW // 2
        out = self.full[index]
        gaussian_filter(t, sigma=(0, SIGMA, SIGMA), truncate=_TRUNCATE, output=out)
        return out[:, r:-r, r:-r]


def _stats(ref: _Scale, y: np.ndarray, data_range: float, work: _Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Mean SSIM (luminance x contrast-structure) and mean cs per image, valid region only.

    In place, the same operations as
        mu_y = blur(y);  var_y = blur(y*y) - mu_y**2;  cov = blur(x*y) - mu_x*mu_y
        cs = (2*cov + c2) / (var_x + var_y + c2);  lum = (2*mu_x*mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    (a doubling is exact, so 2*mu_x*mu_y = 2*(mu_x*mu_y) bit for bit; sums commute exactly).
    """
    c1, c2 = (K1 * data_range) ** 2, (K2 * data_range) ** 2
    mu_y = work.blur(y, 0)
    product = work.full[3]
    np.multiply(y, y, out=product)
    var_y = work.blur(product, 1)
    mu_y_sq = mu_y**2
    var_y -= mu_y_sq
    np.multiply(ref.x, y, out=product)
    cov = work.blur(product, 2)
    lum = ref.mu * mu_y
    cov -= lum
    cov *= 2
    cov += c2
    var_y += ref.var
    var_y += c2
    cs = np.divide(cov, var_y, out=work.cs)
    lum *= 2
    lum += c1
    mu_y_sq += ref.mu_sq
    mu_y_sq += c1
    lum /= mu_y_sq
    cs_mean = cs.mean(axis=(1, 2))
    lum *= cs
    return lum.mean(axis=(1, 2)), cs_mean


def _half(t: np.ndarray) -> np.ndarray:
    """2x2 average pooling (odd last row/column dropped)."""
    h, w = t.shape[1] // 2 * 2, t.shape[2] // 2 * 2
    t = t[:, :h, :w]
    return 0.25 * (t[:, 0::2, 0::2] + t[:, 1::2, 0::2] + t[:, 0::2, 1::2] + t[:, 1::2, 1::2])


def _pyramid(x: np.ndarray, scales: int) -> list[_Scale]:
    out = [_Scale(x)]
    for _ in range(scales - 1):
        out.append(_Scale(_half(out[-1].x)))
    return out


def _as_batch(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[None] if x.ndim == 2 else x


def _ms_ssim_against(
    pyramid: list[_Scale],
    y: np.ndarray,
    data_range: float,
    work: dict[tuple[int, ...], _Workspace] | None = None,
) -> np.ndarray:
    work = {} if work is None else work
    n = len(pyramid)
    weights = np.asarray(MS_SSIM_WEIGHTS[:n])
    weights = weights / weights.sum()
    factors = []
    for s, ref in enumerate(pyramid):
        if y.shape not in work:
            work[y.shape] = _Workspace(y.shape)
        ssim_s, cs_s = _stats(ref, y, data_range, work[y.shape])
        factors.append(ssim_s if s == n - 1 else cs_s)
        if s < n - 1:
            y = _half(y)
    # cs can dip below 0 on anti-correlated content; clamping (as pytorch-msssim does) keeps the
    # fractional powers real.
    stacked = np.clip(np.stack(factors, axis=1), 0.0, None)
    return np.prod(stacked**weights, axis=1)


def ms_ssim(x: np.ndarray, y: np.ndarray, data_range: float = 255.0, scales: int | None = None) -> np.ndarray:
    """Per-image MS-SSIM of two (N, H, W) (or (H, W)) grey batches, shape (N,).

    With `scales=1` this is plain Gaussian-window SSIM (skimage's `structural_similarity`
    with `gaussian_weights=True, use_sample_covariance=False`).
    """
    x, y = _as_batch(x), _as_batch(y)
    if x.shape != y.shape or x.ndim != 3:
        raise ValueError(f"ms_ssim needs two (N, H, W) arrays of one shape, got {x.shape} and {y.shape}")
    return _ms_ssim_against(_pyramid(x, scales or ms_ssim_scales(*x.shape[-2:])), y, data_range)


def luma_frames(path: str | Path) -> np.ndarray:
    """(T, H, W) uint8 Y plane of every frame."""
    frames, _ = read_yuv_frames(path)
    height = frames[0].height
    return np.stack([f.to_ndarray()[:height] for f in frames])


class ReferenceClip:
    """A pristine clip's luma and MS-SSIM pyramid statistics, computed once, scored against any number of versions.

    `score(path)` equals `video_ms_ssim(reference, path)` to the last bit (same operations in
    the same order); it only skips recomputing the reference's half of them. Holds about
    4 x 1.33 float64 copies of the clip (~200 MB for 64 frames at 320x240).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        luma = luma_frames(self.path)
        self.shape = luma.shape
        scales = ms_ssim_scales(*luma.shape[1:])
        self._batches = [
            _pyramid(np.asarray(luma[i : i + _BATCH], dtype=np.float64), scales)
            for i in range(0, len(luma), _BATCH)
        ]
        self._work: dict[tuple[int, ...], _Workspace] = {}

    def score(self, distorted: str | Path) -> float:
        """Mean per-frame luma MS-SSIM of `distorted` against this reference."""
        dist = luma_frames(distorted)
        if dist.shape != self.shape:
            raise VideoDecodeError(
                f"{distorted}: shape {dist.shape} (frames, height, width) does not match the reference "
                f"{self.path} {self.shape}; full-reference scoring needs aligned clips"
            )
        scores = [
            _ms_ssim_against(
                pyramid, np.asarray(dist[i * _BATCH : (i + 1) * _BATCH], dtype=np.float64), 255.0
            )
            for i, pyramid in enumerate(self._batches)
        ]
        return float(np.concatenate(scores).mean())


def video_ms_ssim(reference: str | Path, distorted: str | Path) -> float:
    """Mean per-frame luma MS-SSIM of `distorted` against `reference` (same frame count and size)."""
    return ReferenceClip(reference).score(distorted)


def proxy_mos(ms_ssim_value: float) -> float:
    """MS-SSIM (0..1) -> proxy MOS on 1..5, linear in MS-SSIM decibels (see the module doc)."""
    distortion = 1.0 - float(ms_ssim_value)
    if distortion <= 0:
        return 5.0
    db = -10.0 * math.log10(distortion)
    fraction = (db - MOS_DB_LOW) / (MOS_DB_HIGH - MOS_DB_LOW)
    return 1.0 + 4.0 * min(max(fraction, 0.0), 1.0)
