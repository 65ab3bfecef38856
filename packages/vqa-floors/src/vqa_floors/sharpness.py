"""The sharpness floor's statistic: variance of the Laplacian of grey frames.

Blur removes high frequencies and heavy compression flattens blocks, both of which lower the
energy of the discrete Laplacian (scipy.ndimage's 4-neighbour [1, -2, 1] stencil, the same as
OpenCV's `Laplacian` with ksize 1). Averaged over sampled frames and log-scaled, it is the
one-line heuristic every learned method must beat.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["laplacian_variance", "sharpness_statistic"]


def laplacian_variance(grey: np.ndarray) -> float:
    """Variance of the Laplacian of one 2-D grey frame (0-255 scale); borders reflected."""
    img = np.asarray(grey, dtype=np.float32)
    if img.ndim != 2:
        raise ValueError(f"laplacian_variance needs a 2-D grey frame, got shape {img.shape}")
    return float(np.var(ndimage.laplace(img, mode="reflect"), dtype=np.float64))


def sharpness_statistic(frames: np.ndarray) -> float:
    """log(1 + mean over frames of the Laplacian variance) of grey frames (T, H, W).

    log1p keeps a flat (e.g. black) video finite at 0 and turns the heavy-tailed variance
    into a scale on which a linear map to MOS is reasonable; the ranking is unchanged.
    """
    grey = np.asarray(frames)
    if grey.ndim != 3 or grey.shape[0] == 0:
        raise ValueError(f"sharpness_statistic needs grey frames (T, H, W) with T >= 1, got {grey.shape}")
    return float(np.log1p(np.mean([laplacian_variance(f) for f in grey])))
