"""Rhythm statistics: a softer frame and a repeated frame inside a window of consecutive frames."""

from __future__ import annotations

import pytest
import torch
from kornia.filters import gaussian_blur2d

from vqa_core.rhythm import RhythmStatistics, window_indices


def _texture(seed: int, size: int = 48) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(3, size, size, generator=g)


def test_window_indices_are_runs_of_consecutive_frames() -> None:
    assert window_indices([0, 9, 18], 3) == [0, 1, 2, 9, 10, 11, 18, 19, 20]
    assert window_indices([5], 1) == [5]


def test_a_softer_frame_and_a_repeated_frame_show_in_the_statistics() -> None:
    stats = RhythmStatistics(4)
    sharp = _texture(0)
    moving = torch.stack([torch.roll(sharp, shifts=k, dims=-1) for k in range(4)])  # (4, 3, H, W): a pan
    natural = stats.raw(moving[None, None])[0, 0]
    assert natural.shape == (8,)
    # a steady pan: every frame as sharp as the sharpest, every step as large as the largest
    assert natural[:4].abs().max() < 0.05 and natural[4:7].abs().max() < 0.05

    soft = moving.clone()
    soft[1] = gaussian_blur2d(soft[1:2], (5, 5), (1.0, 1.0))[0]  # an interpolated-looking frame
    softened = stats.raw(soft[None, None])[0, 0]
    assert softened[1] < -0.5 and softened[[0, 2, 3]].abs().max() < 0.05

    held = moving.clone()
    held[2] = held[1]  # a repeated frame: one step with no change at all
    repeated = stats.raw(held[None, None])[0, 0]
    assert repeated[5] < -5 and repeated[[4, 6]].abs().max() < 0.1
    # the peak step energy does not depend on a brightness offset (Laplacian and differences ignore it)
    brighter = stats.raw((moving * 0.8 + 0.1)[None, None])[0, 0]
    assert torch.allclose(brighter[:7], natural[:7], atol=1e-3)


def test_statistics_are_normalised_per_position_and_checked() -> None:
    stats = RhythmStatistics(2)
    assert sum(p.numel() for p in stats.parameters()) == 2 * stats.out_dim  # only the BatchNorm's affine
    out = stats(torch.rand(3, 5, 2, 3, 16, 16))
    assert out.shape == (3, 5, 4)
    with pytest.raises(ValueError, match=r"\(B, T, 2, 3, H, W\)"):
        stats(torch.rand(3, 5, 3, 3, 16, 16))
    with pytest.raises(ValueError, match="at least 2"):
        RhythmStatistics(1)
