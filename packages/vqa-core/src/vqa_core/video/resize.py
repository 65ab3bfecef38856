"""Output geometry of a decoded clip: the resize rule and the display rotation.

Resizing happens inside FFmpeg (swscale) while converting to RGB, so full-resolution RGB never
exists in Python. Sizes here are always the *displayed* size, i.e. after rotation: a phone
video stored as 1920x1080 with a 90-degree display matrix is 1080 wide and 1920 high.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# swscale interpolation names accepted by `read_clip(interpolation=...)`.
INTERPOLATIONS = ("bilinear", "bicubic", "area", "lanczos", "point", "fast_bilinear")

# Every `frame.reformat` here passes `threads=SWSCALE_THREADS`. PyAV 18 defaults to automatic
# swscale slice threads, and FFmpeg 8's threaded swscale is not deterministic: rgb24 ->
# yuv444p10le gets the first 8 pixels of a slice's first row wrong in about one call of
# 1000-3000 (often the first call of a process, more often under load), and a read must give the
# same pixels every time. Decoding dominates the cost and frames are small after
# resizing, so single-threaded conversion costs nothing measurable (1080p -> 224x224 RGB:
# 1.0-1.5 ms per frame either way on 2 busy cores).
SWSCALE_THREADS = 1


@dataclass(frozen=True)
class Resize:
    """How to size output frames; at most one of `size` and `short_side` is set.

    - `size=(H, W)`: squash to exactly H x W, ignoring the aspect ratio (what the seed methods do).
    - `short_side=S`: scale so the shorter displayed side is S, keeping the aspect ratio
      (the long side is rounded to the nearest integer).
    - neither: the displayed size of the video.
    """

    size: tuple[int, int] | None = None
    short_side: int | None = None
    interpolation: str = "bilinear"

    def __post_init__(self) -> None:
        if self.size is not None and self.short_side is not None:
            raise ValueError("give either size=(H, W) or short_side=S, not both")
        if self.size is not None:
            if len(self.size) != 2 or any(int(v) != v or v < 1 for v in self.size):
                raise ValueError(f"size must be (H, W) with positive integers, got {self.size!r}")
            object.__setattr__(self, "size", (int(self.size[0]), int(self.size[1])))
        if self.short_side is not None and (int(self.short_side) != self.short_side or self.short_side < 1):
            raise ValueError(f"short_side must be a positive integer, got {self.short_side!r}")
        if self.interpolation.lower() not in INTERPOLATIONS:
            raise ValueError(f"interpolation must be one of {', '.join(INTERPOLATIONS)}, got {self.interpolation!r}")

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """(H, W) of the output for a displayed frame of `height` x `width`."""
        if self.size is not None:
            return self.size
        if self.short_side is not None:
            s = int(self.short_side)
            if height <= width:
                return s, max(1, round(width * s / height))
            return max(1, round(height * s / width)), s
        return height, width


def quarter_turns(rotation: float) -> int:
    """Counter-clockwise display rotation in degrees -> number of 90-degree turns (0..3)."""
    return round(rotation / 90.0) % 4


def displayed_size(coded_height: int, coded_width: int, rotation: float) -> tuple[int, int]:
    """(H, W) as shown to a viewer, given the coded size and the display rotation."""
    if quarter_turns(rotation) % 2:
        return coded_width, coded_height
    return coded_height, coded_width


def rotate_for_display(rgb: np.ndarray, rotation: float) -> np.ndarray:
    """Apply a counter-clockwise display rotation (FFmpeg's display-matrix convention) to (H, W, 3)."""
    k = quarter_turns(rotation)
    return rgb if k == 0 else np.ascontiguousarray(np.rot90(rgb, k=k))
