"""Grey frames at the analysis size, decoded through vqa-core's `read_clip`.

Every floor sees a video the same way: `probe` for the displayed size and a checked frame
count, the frame indices it wants, then one `read_clip` call that decodes only those frames,
scaled in swscale straight to the analysis size (the shorter side `short_side`, never larger
than the video's own, aspect kept), and BT.601 luma in the 0-255 range.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vqa_core.sampling import uniform_indices
from vqa_core.video import VideoInfo, probe, read_clip

__all__ = ["FramePlan", "analysis_size", "decode_grey", "plan_frames", "to_grey"]

# ITU-R BT.601 luma weights (what "grey" means in the BRISQUE and Laplacian literature).
_LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)


def analysis_size(height: int, width: int, short_side: int) -> tuple[int, int]:
    """(H, W) with the shorter side min(short_side, its own), the aspect kept, both even and >= 2."""
    if height <= 0 or width <= 0:
        raise ValueError(f"a video of {width}x{height} has no pixels")
    scale = min(1.0, short_side / min(height, width))

    def even(x: float) -> int:
        return max(2, round(x / 2) * 2)

    return even(height * scale), even(width * scale)


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., 3) -> float32 BT.601 luma (...), 0-255."""
    return np.asarray(rgb, dtype=np.float32) @ _LUMA


@dataclass(frozen=True)
class FramePlan:
    """Which frames a floor reads: `spatial` uniform frames, `pairs` (t, t+1) and a `window` of
    consecutive frames (both may be empty, e.g. for a one-frame video)."""

    spatial: np.ndarray
    pairs: np.ndarray  # (P, 2)
    window: np.ndarray

    def all_indices(self) -> np.ndarray:
        return np.concatenate([self.spatial, self.pairs.reshape(-1), self.window]).astype(np.int64)


def plan_frames(num_frames: int, spatial: int, pairs: int = 0, window: int = 0) -> FramePlan:
    """Uniform spatial frames, `pairs` consecutive pairs at uniform positions, and a window of up to
    `window` consecutive frames centred in the video (shortened to the video; empty below 6 frames)."""
    spatial_idx = uniform_indices(num_frames, spatial)
    if pairs > 0 and num_frames >= 2:
        starts = uniform_indices(num_frames - 1, pairs)
        pair_idx = np.stack([starts, starts + 1], axis=1)
    else:
        pair_idx = np.zeros((0, 2), dtype=np.int64)
    length = min(window, num_frames)
    if length >= 6:
        first = (num_frames - length) // 2
        window_idx = np.arange(first, first + length, dtype=np.int64)
    else:
        window_idx = np.zeros((0,), dtype=np.int64)
    return FramePlan(spatial_idx, pair_idx, window_idx)


def decode_grey(
    path: str | Path, indices: np.ndarray, short_side: int, info: VideoInfo | None = None
) -> np.ndarray:
    """Frames `indices` of `path` as float32 grey (T, H, W) at the analysis size.

    Raises `VideoDecodeError` naming the file when it cannot be opened or decoded.
    """
    info = info if info is not None else probe(path)
    size = analysis_size(info.height, info.width, short_side)
    return to_grey(read_clip(path, indices, size=size, interpolation="area"))
