"""Native-scale crops: one window and one flip per clip, frames and maps alike, never resampled."""

from __future__ import annotations

import pytest
import torch

from saliency_core import NativeCrop, NativeCropConfig
from vqa_core.errors import ConfigError


def _clip(t: int = 3, h: int = 20, w: int = 30) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames whose pixels encode (frame, row, column), and maps that encode (row, column)."""
    rows = torch.arange(h, dtype=torch.float32).view(h, 1).expand(h, w)
    cols = torch.arange(w, dtype=torch.float32).view(1, w).expand(h, w)
    frames = torch.stack([torch.stack([rows, cols, torch.full((h, w), float(i))]) for i in range(t)])
    maps = (rows * w + cols).expand(t, h, w).clone()
    return frames, maps


def _window(frames: torch.Tensor, out: torch.Tensor) -> tuple[int, int, bool]:
    """The (top, left, flipped) of `out` in `frames`; fails unless `out` is an exact window."""
    rows, cols = out[0, 0], out[0, 1]
    flipped = bool(cols[0, 0] > cols[0, -1])
    top, left = int(rows[0, 0]), int(cols[0, -1] if flipped else cols[0, 0])
    h, w = out.shape[-2:]
    window = frames[..., top : top + h, left : left + w]
    assert torch.equal(out, window.flip(-1) if flipped else window)
    return top, left, flipped


def test_crop_is_a_native_scale_window_shared_by_frames_and_maps() -> None:
    frames, maps = _clip()
    out, out_maps = NativeCrop(NativeCropConfig(size=(8, 12), hflip_p=0.5))(frames, maps, seed=3)
    assert out.shape == (3, 3, 8, 12) and out_maps.shape == (3, 8, 12)
    top, left, flipped = _window(frames, out)  # an exact copy of pixels: no interpolation
    map_window = maps[:, top : top + 8, left : left + 12]
    assert torch.equal(out_maps, map_window.flip(-1) if flipped else map_window)
    assert torch.equal(out[:, 2, 0, 0], torch.arange(3, dtype=torch.float32))  # frame order kept


def test_the_seed_alone_decides_the_window_and_the_global_rng_is_untouched() -> None:
    frames, maps = _clip()
    crop = NativeCrop(NativeCropConfig(size=(8, 12), hflip_p=0.5))
    torch.manual_seed(0)
    before = torch.random.get_rng_state()
    a = crop(frames, maps, seed=11)
    assert torch.equal(torch.random.get_rng_state(), before)
    b = crop(frames, maps, seed=11)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    windows = {_window(frames, crop(frames, None, seed=s)[0]) for s in range(20)}
    assert len(windows) > 5  # different seeds, different windows
    assert {f for _, _, f in windows} == {True, False}  # and both flip states


def test_a_small_frame_is_padded_by_reflection_not_upscaled() -> None:
    frames, maps = _clip(t=2, h=6, w=30)
    out, out_maps = NativeCrop(NativeCropConfig(size=(8, 10), hflip_p=0.0))(frames, maps, seed=0)
    assert out.shape == (2, 3, 8, 10) and out_maps.shape == (2, 8, 10)
    assert set(out[0, 0].unique().tolist()) <= set(range(6))  # rows repeat, no new (interpolated) values


def test_bad_inputs_and_settings_are_named() -> None:
    with pytest.raises(ConfigError, match="size"):
        NativeCropConfig(size=(0, 8))
    with pytest.raises(ConfigError, match="hflip_p"):
        NativeCropConfig(hflip_p=1.5)
    crop = NativeCrop(NativeCropConfig(size=(4, 4)))
    with pytest.raises(ValueError, match="frames must be"):
        crop(torch.rand(2, 4, 8, 8), seed=0)
    with pytest.raises(ValueError, match=r"smaller data\.train_crop"):
        crop(torch.rand(2, 3, 1, 1), seed=0)
    with pytest.raises(ValueError, match="do not match"):
        crop(torch.rand(2, 3, 8, 8), torch.rand(2, 8, 9), seed=0)
