"""Temporal samplers and spatial fragments: hand-computed cases and a slow loop reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from vqa_core.sampling import (
    FragmentSampleFrames,
    SampleFrames,
    apply_fragments,
    fragment_offsets,
    spatial_fragments,
    two_view_fragments,
    uniform_indices,
)
from vqa_core.testing import index_level, make_video

# ---------------------------------------------------------------- uniform_indices


def test_uniform_indices_linspace():
    assert uniform_indices(10, 4).tolist() == [0, 3, 6, 9]
    assert uniform_indices(100, 1).tolist() == [0]
    assert uniform_indices(8, 8).tolist() == list(range(8))


def test_uniform_indices_pads_short_video_with_last_frame():
    assert uniform_indices(5, 8).tolist() == [0, 1, 2, 3, 4, 4, 4, 4]
    assert uniform_indices(1, 3).tolist() == [0, 0, 0]


@pytest.mark.parametrize("bad", [(0, 4), (10, 0), (-3, 2)])
def test_uniform_indices_rejects_empty(bad):
    with pytest.raises(ValueError):
        uniform_indices(*bad)


# ---------------------------------------------------------------- SampleFrames


def test_sample_frames_test_mode_hand_computed():
    # span 64, valid starts 37, avg interval 9.25: starts int(k*9.25 + 4.625) = 4, 13, 23, 32
    inds = SampleFrames(32, 2, 4)(100, train=False)
    assert inds.shape == (128,)
    starts = inds.reshape(4, 32)[:, 0]
    assert starts.tolist() == [4, 13, 23, 32]
    assert np.all(np.diff(inds.reshape(4, 32), axis=1) == 2)


def test_sample_frames_short_video_wraps_modulo():
    inds = SampleFrames(8, 2, 1)(10, train=False)
    assert inds.tolist() == [0, 2, 4, 6, 8, 0, 2, 4]


def test_sample_frames_train_offsets_inside_their_segment():
    sampler = SampleFrames(4, 2, 3)
    seen = [set(), set(), set()]
    rng = np.random.default_rng(0)
    for _ in range(400):
        starts = sampler(50, train=True, rng=rng).reshape(3, 4)[:, 0]
        for k, s in enumerate(starts):
            seen[k].add(int(s))
    # valid starts 50-8+1 = 43, avg interval 14: clip k starts in [14k, 14k+13]
    for k in range(3):
        assert seen[k] == set(range(14 * k, 14 * k + 14))


def test_sample_frames_train_branches_for_short_videos():
    rng = np.random.default_rng(0)
    # avg interval 0 but video longer than span and clip count: sorted draws from [0, 3)
    starts = SampleFrames(4, 2, 4).clip_offsets(10, train=True, rng=rng)
    assert np.all(np.diff(starts) >= 0) and starts.min() >= 0 and starts.max() <= 2
    # video as long as the span: evenly spread, rounded (ratio 0.25 -> 0, 0, 0, 1)
    assert SampleFrames(4, 2, 4).clip_offsets(8, train=True, rng=rng).tolist() == [0, 0, 0, 1]
    # shorter than the span: all zeros, indices wrap
    inds = SampleFrames(4, 2, 2)(5, train=True, rng=rng)
    assert inds.tolist() == [0, 2, 4, 1, 0, 2, 4, 1]


def test_sample_frames_train_seeded_and_needs_rng():
    sampler = SampleFrames(16, 2, 2)
    a = sampler(300, train=True, rng=np.random.default_rng(7))
    b = sampler(300, train=True, rng=np.random.default_rng(7))
    c = sampler(300, train=True, rng=np.random.default_rng(8))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    with pytest.raises(ValueError, match="Generator"):
        sampler(300, train=True)


# ---------------------------------------------------------------- FragmentSampleFrames


def test_fragment_sample_frames_test_mode_hand_computed():
    # 200 frames, 8 segments of 25, runs of 4x2=8 frames, slack 17, centred offset 8
    inds = FragmentSampleFrames(4, 8, 2)(200, train=False)
    expected = [25 * k + 8 + s for k in range(8) for s in (0, 2, 4, 6)]
    assert inds.tolist() == expected


def test_fragment_sample_frames_short_video_wraps():
    # 20 frames, segments of 2 < run 8: offsets 0, indices wrap modulo 20
    inds = FragmentSampleFrames(4, 8, 2)(20, train=True, rng=np.random.default_rng(0))
    expected = [(2 * k + s) % 20 for k in range(8) for s in (0, 2, 4, 6)]
    assert inds.tolist() == expected


def test_fragment_sample_frames_train_random_within_segments():
    sampler = FragmentSampleFrames(4, 8, 2, num_clips=2)
    rng = np.random.default_rng(3)
    offs = set()
    for _ in range(300):
        inds = sampler(200, train=True, rng=rng).reshape(2, 8, 4)
        rel = inds[..., 0] - 25 * np.arange(8)
        assert rel.min() >= 0 and rel.max() <= 17
        offs.update(rel.ravel().tolist())
    assert offs == set(range(18))  # slack 25 - 8 = 17: every offset that fits, 17 included


def test_fragment_sample_frames_test_clips_differ_and_repeat():
    sampler = FragmentSampleFrames(8, 8, 2, num_clips=2)
    a = sampler(400, train=False)
    assert np.array_equal(a, sampler(400, train=False))
    clips = a.reshape(2, -1)
    assert not np.array_equal(clips[0], clips[1])
    assert a.shape == (128,) and a.max() < 400


# ---------------------------------------------------------------- spatial fragments


def loop_fragments(video: torch.Tensor, tops: np.ndarray, lefts: np.ndarray, patch: int, aligned: int):
    """Obviously-correct reference: loops over blocks and cells of a (C, T, H, W) clip."""
    c, t = video.shape[:2]
    nb, gh, gw = tops.shape
    out = torch.zeros(c, t, gh * patch, gw * patch, dtype=video.dtype)
    for b in range(nb):
        t0, t1 = b * aligned, min((b + 1) * aligned, t)
        for i in range(gh):
            for j in range(gw):
                y, x = int(tops[b, i, j]), int(lefts[b, i, j])
                out[:, t0:t1, i * patch : (i + 1) * patch, j * patch : (j + 1) * patch] = video[
                    :, t0:t1, y : y + patch, x : x + patch
                ]
    return out


def coordinate_clip(t: int, h: int, w: int) -> torch.Tensor:
    """A (1, T, H, W) float64 clip whose value encodes its own (t, y, x)."""
    tt, yy, xx = torch.meshgrid(torch.arange(t), torch.arange(h), torch.arange(w), indexing="ij")
    return (tt * 1_000_000 + yy * 1000 + xx).to(torch.float64)[None]


def test_fragments_match_loop_reference():
    rng = np.random.default_rng(11)
    video = torch.rand(3, 10, 250, 260, generator=torch.Generator().manual_seed(0))
    off = fragment_offsets(250, 260, 10, grid=7, patch=32, aligned=4, rng=rng)
    assert off.tops.shape == (3, 7, 7)  # ceil(10 / 4) blocks
    fast = apply_fragments(video, off)
    slow = loop_fragments(video, off.tops, off.lefts, 32, 4)
    assert fast.shape == (3, 10, 224, 224)
    assert torch.equal(fast, slow)


def test_fragments_take_patches_from_their_cells_at_native_resolution():
    video = coordinate_clip(4, 230, 300)
    out = spatial_fragments(video, grid=7, patch=32, aligned=2, rng=np.random.default_rng(5))[0]
    t = (out // 1_000_000).long()
    y = ((out % 1_000_000) // 1000).long()
    x = (out % 1000).long()
    assert torch.equal(t, torch.arange(4)[:, None, None].expand_as(t))
    cell_h, cell_w = 230 // 7, 300 // 7
    for i in range(7):
        for j in range(7):
            py = y[:, i * 32 : (i + 1) * 32, j * 32 : (j + 1) * 32]
            px = x[:, i * 32 : (i + 1) * 32, j * 32 : (j + 1) * 32]
            # one contiguous 32x32 patch per block, inside cell (i, j)
            assert torch.all(py - py[:, :1, :1] == torch.arange(32)[None, :, None])
            assert torch.all(px - px[:, :1, :1] == torch.arange(32)[None, None, :])
            assert py.min() >= i * cell_h and py.max() < (i + 1) * cell_h
            assert px.min() >= j * cell_w and px.max() < (j + 1) * cell_w
            # aligned=2: frames 0-1 share positions, as do frames 2-3
            assert torch.equal(py[0], py[1]) and torch.equal(px[2], px[3])


def test_fragments_test_mode_is_centred_and_deterministic():
    off = fragment_offsets(448, 448, 8, rng=None)
    # cells of 64 px, patches centred at offset (64 - 32) // 2 = 16
    assert np.array_equal(off.tops[0, :, 0], 64 * np.arange(7) + 16)
    assert np.array_equal(off.lefts[0, 0, :], 64 * np.arange(7) + 16)
    video = torch.rand(3, 8, 448, 448)
    assert torch.equal(spatial_fragments(video), spatial_fragments(video))


def test_fragments_seeded_rng_reproducible_and_covers_all_positions():
    a = fragment_offsets(448, 448, 64, aligned=8, rng=np.random.default_rng(1))
    b = fragment_offsets(448, 448, 64, aligned=8, rng=np.random.default_rng(1))
    c = fragment_offsets(448, 448, 64, aligned=8, rng=np.random.default_rng(2))
    assert np.array_equal(a.tops, b.tops) and np.array_equal(a.lefts, b.lefts)
    assert not np.array_equal(a.tops, c.tops)
    rel = (a.tops - 64 * np.arange(7)[None, :, None]).ravel()
    for seed in range(3, 12):
        more = fragment_offsets(448, 448, 64, aligned=8, rng=np.random.default_rng(seed))
        rel = np.concatenate([rel, (more.tops - 64 * np.arange(7)[None, :, None]).ravel()])
    assert rel.min() == 0 and rel.max() == 32  # every valid in-cell offset, last one included


def test_fragments_upsample_fallback_per_frame_bilinear():
    gen = torch.Generator().manual_seed(1)
    video = torch.rand(3, 4, 112, 150, generator=gen)
    off = fragment_offsets(112, 150, 4, rng=np.random.default_rng(0))
    assert off.frame_size == (224, 300)
    # reference: upsample one frame at a time, then the loop reference on the upsampled clip
    frames = [
        F.interpolate(video[:, k][None], size=(224, 300), mode="bilinear", align_corners=False)[0]
        for k in range(4)
    ]
    big = torch.stack(frames, dim=1)
    assert torch.allclose(
        apply_fragments(video, off), loop_fragments(big, off.tops, off.lefts, 32, 32), atol=1e-6
    )
    # the grid spans the whole upsampled frame, not just its top-left corner
    assert off.tops.max() >= 6 * (224 // 7) and off.lefts.max() >= 6 * (300 // 7)


def test_fragments_numpy_uint8_thwc_and_tchw_layouts_agree():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(6, 240, 320, 3), dtype=np.uint8)
    out = spatial_fragments(clip, aligned=3, rng=np.random.default_rng(4))
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (6, 224, 224, 3)
    cthw = torch.from_numpy(clip).permute(3, 0, 1, 2)
    ref = spatial_fragments(cthw, aligned=3, rng=np.random.default_rng(4))
    assert np.array_equal(out, ref.permute(1, 2, 3, 0).numpy())
    tchw = spatial_fragments(cthw.permute(1, 0, 2, 3), aligned=3, rng=np.random.default_rng(4), layout="TCHW")
    assert torch.equal(tchw, ref.permute(1, 0, 2, 3))


def test_small_uint8_clip_upsamples_to_mosaic():
    clip = np.full((2, 60, 80, 3), 200, dtype=np.uint8)
    out = spatial_fragments(clip)
    assert out.shape == (2, 224, 224, 3) and out.dtype == np.uint8 and np.all(out == 200)


def test_shared_offsets_across_distortion_versions():
    # ST-VQRL: one draw, applied to a batch of versions of the same scene (leading dims share offsets)
    versions = torch.rand(5, 3, 8, 256, 256)
    off = fragment_offsets(256, 256, 8, aligned=8, rng=np.random.default_rng(9))
    batch = apply_fragments(versions, off)
    assert batch.shape == (5, 3, 8, 224, 224)
    for v in range(5):
        assert torch.equal(batch[v], apply_fragments(versions[v], off))


def test_two_views_come_from_different_halves_of_each_cell():
    video = coordinate_clip(2, 448, 512)
    first, second = two_view_fragments(video, aligned=2, rng=np.random.default_rng(0))
    cell_h, cell_w = 448 // 7, 512 // 7
    for view, is_first in ((first, True), (second, False)):
        y = ((view[0] % 1_000_000) // 1000).long()
        x = (view[0] % 1000).long()
        ry = y.reshape(2, 7, 32, 7, 32) - (cell_h * torch.arange(7))[None, :, None, None, None]
        rx = x.reshape(2, 7, 32, 7, 32) - (cell_w * torch.arange(7))[None, None, None, :, None]
        if is_first:
            assert ry.min() >= 0 and ry.max() < cell_h // 2
            assert rx.min() >= 0 and rx.max() < cell_w // 2
        else:
            assert ry.min() >= cell_h // 2 and ry.max() < cell_h
            assert rx.min() >= cell_w // 2 and rx.max() < cell_w


def test_two_views_differ_when_half_cell_is_too_small():
    video = coordinate_clip(1, 300, 300)  # cells of 42 px: half a cell cannot hold a 32 px patch
    first, second = two_view_fragments(video, aligned=1)
    assert not torch.equal(first, second)


def test_fragment_errors_name_the_problem():
    off = fragment_offsets(256, 256, 8)
    with pytest.raises(ValueError, match="8 frames of 256x256"):
        apply_fragments(torch.zeros(3, 8, 250, 256), off)
    with pytest.raises(ValueError, match="smaller than one"):
        fragment_offsets(20, 200, 4, fallback="none")
    with pytest.raises(ValueError, match="layout"):
        spatial_fragments(torch.zeros(3, 2, 224, 224), layout="HWC")


# ---------------------------------------------------------------- end to end on an encoded video


def test_sampled_frames_survive_decode_and_fragments(tmp_path):
    """Sampler indices -> decoded frames -> fragments keep each frame's identity (index band)."""
    from vqa_core.video import read_clip

    path = make_video(tmp_path / "clip.mp4", num_frames=48, height=64, width=96)
    inds = FragmentSampleFrames(2, 4, 2)(48, train=False)  # segments of 12, runs 0,2 at offset 4
    assert inds.tolist() == [4, 6, 16, 18, 28, 30, 40, 42]
    clip = read_clip(path, inds)
    levels = clip[:, :4].reshape(len(inds), -1).mean(axis=1)
    expected = np.array([index_level(int(i), 48) for i in inds])
    assert np.all(np.abs(levels - expected) < 4)
    frags = spatial_fragments(clip, aligned=8)  # 64x96 < 224: upsampled to 224x336 first
    assert frags.shape == (8, 224, 224, 3)
    top_row = frags[:, 0].reshape(len(inds), -1).mean(axis=1)
    assert np.all(np.abs(top_row - expected) < 4)
