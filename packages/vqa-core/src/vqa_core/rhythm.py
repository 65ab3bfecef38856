"""Rhythm statistics: the temporal artefacts a per-frame trunk on far-apart frames cannot see.

STR, DAGR and SC-VQA read T frames spread over the whole video (9 frames apart on a 64-frame
clip), and their trunk judges each frame alone. A frame-rate drop that is motion-interpolated back to the
source rate (the demo's `fps_drop` family; what players and TV up-converters do) leaves every
frame plausible on its own: the synthesised frames are softer than the kept ones and the change
from frame to frame is uneven. Measured on the demo, the log-sharpness step between a kept and a
synthesised neighbour is ~0.3, between two pristine neighbours ~0.02, yet the trained `small`
networks scored all three drop levels like pristine.

With a rhythm window of w >= 2 (`model.rhythm_window` of dagr-vqa and sc-vqa) a method reads w consecutive
frames at each sampled position. The trunk and the saliency model still see only the first frame
of each window (the papers' input, at the papers' cost); `RhythmStatistics` turns each window
into 2w numbers:

- the log sharpness (mean squared Laplacian of the grey frame) of each of its w frames, relative
  to the window's sharpest: interpolated frames are softer than the kept ones;
- the log energy of each of its w-1 consecutive differences, relative to the window's largest:
  a duplicated frame gives a near-zero step, a dropped one a spike;
- that largest log difference energy: how much moves at all, the context of the two above.

They are batch-normalised (their scales differ by orders of magnitude) and appended to the
trunk's per-frame features before the temporal transformer, which sees them per position. The
statistics are fixed; only the normalisation and the head that reads them are learned, so they
add 4w parameters and cannot overfit the way a second learned trunk on frame differences did
(issue #15: 0.48 test SRCC against 0.83 without). The same quantities, pooled over the video
and regressed, are `vqa_floors.temporal.rhythm_features`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from kornia.color import rgb_to_grayscale
from kornia.filters import laplacian
from torch import nn

__all__ = ["RhythmStatistics", "split_windows", "window_indices"]

_EPS = 1e-6  # on [0, 1] grey: well below the squared Laplacian / difference of any textured frame


def window_indices(starts: Sequence[int], window: int) -> list[int]:
    """Frame indices of `window` consecutive frames from each start, window after window."""
    return [int(s) + j for s in starts for j in range(int(window))]


def split_windows(frames: torch.Tensor, window: int) -> torch.Tensor:
    """(B, T*w, 3, H, W), w consecutive frames per sampled position -> windows (B, T, w, 3, H, W)."""
    w = int(window)
    if frames.dim() != 5 or frames.shape[1] % w:
        raise ValueError(
            f"frames must be (B, T*{w}, 3, H, W): {w} consecutive frames per sampled position "
            f"(model.rhythm_window={w}), got {tuple(frames.shape)}"
        )
    return frames.reshape(frames.shape[0], frames.shape[1] // w, w, *frames.shape[2:])


class RhythmStatistics(nn.Module):
    """(B, T, w, 3, H, W) windows of RGB frames in [0, 1] -> (B, T, 2w) normalised statistics."""

    def __init__(self, window: int) -> None:
        super().__init__()
        if window < 2:
            raise ValueError(f"a rhythm window needs at least 2 consecutive frames, got {window}")
        self.window = int(window)
        self.out_dim = 2 * self.window
        self.norm = nn.BatchNorm1d(self.out_dim)

    def raw(self, windows: torch.Tensor) -> torch.Tensor:
        """The statistics before normalisation, (B, T, 2w), in float32 whatever the input's dtype."""
        if windows.dim() != 6 or windows.shape[2] != self.window or windows.shape[3] != 3:
            raise ValueError(f"windows must be (B, T, {self.window}, 3, H, W), got {tuple(windows.shape)}")
        b, t, w = windows.shape[:3]
        grey = rgb_to_grayscale(windows.float().flatten(0, 2))  # (B*T*w, 1, H, W)
        sharp = laplacian(grey, kernel_size=3).pow(2).mean(dim=(-3, -2, -1)).add(_EPS).log().view(b, t, w)
        grey = grey.view(b, t, w, *grey.shape[-2:])
        energy = (grey[:, :, 1:] - grey[:, :, :-1]).pow(2).mean(dim=(-2, -1)).add(_EPS).log()  # (B, T, w-1)
        peak = energy.amax(dim=-1, keepdim=True)
        return torch.cat([sharp - sharp.amax(dim=-1, keepdim=True), energy - peak, peak], dim=-1)

    def forward(self, windows: torch.Tensor) -> torch.Tensor:
        stats = self.raw(windows)
        b, t = stats.shape[:2]
        return self.norm(stats.flatten(0, 1)).view(b, t, self.out_dim)
