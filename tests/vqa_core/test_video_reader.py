"""read_clip: frame identity (via the index band), order, clamping, seeking, containers, pixel formats."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from fractions import Fraction

import av
import numpy as np
import pytest

from vqa_core.testing import index_level, make_video
from vqa_core.video import probe, read_clip


def band_ids(clip: np.ndarray, num_frames: int, band_rows: int = 2) -> list[int]:
    """Which frame each output shows: nearest index level to the mean of the top rows."""
    levels = np.array([index_level(i, num_frames) for i in range(num_frames)], dtype=np.float64)
    return [int(np.argmin(np.abs(levels - f[:band_rows].mean()))) for f in clip]


def reference_frames(path, size=None) -> list[np.ndarray]:
    """Every frame, decoded sequentially with plain PyAV and converted the same way (independent path)."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            h, w = size if size else (f.height, f.width)
            out.append(f.reformat(width=w, height=h, format="rgb24", interpolation="BILINEAR").to_ndarray())
    return out


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("videos")
    return {
        "mp4": make_video(d / "clip.mp4", num_frames=24),
        # long GOP with B-frames and keyframes every 10: exercises the seek plan
        "gop_mp4": make_video(d / "gop.mp4", num_frames=80, gop=10, options={"crf": "10", "bf": "3"}),
        "gop_mkv": make_video(d / "gop.mkv", num_frames=80, gop=10, options={"crf": "10", "bf": "3"}),
    }


def test_order_repeats_and_clamping(videos):
    idx = [23, 0, 5, 5, 12, 1000, 3, 24]
    clip = read_clip(videos["mp4"], idx)
    assert clip.shape == (8, 64, 96, 3) and clip.dtype == np.uint8
    assert band_ids(clip, 24) == [23, 0, 5, 5, 12, 23, 3, 23]
    np.testing.assert_array_equal(clip[2], clip[3])


@pytest.mark.parametrize("name", ["gop_mp4", "gop_mkv"])
@pytest.mark.parametrize(
    "idx",
    [
        [0, 11, 22, 33, 44, 55, 66, 77],  # sparse uniform: seeks
        list(range(30, 62, 2)),  # dense clip in the middle: one seek, then forward
        [79, 3, 41, 41, 0, 65, 64, 10],  # unsorted with repeats
        [5, 9, 17, 38, 39, 40, 71],  # keyframe boundaries
    ],
)
def test_seek_plan_returns_exactly_the_sequentially_decoded_frames(videos, name, idx):
    ref = reference_frames(videos[name], size=(32, 48))
    clip = read_clip(videos[name], idx, size=(32, 48))
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(clip[k], ref[i], err_msg=f"frame {i}")


def test_past_the_end_equals_last_frame_bit_exactly(videos):
    ref = reference_frames(videos["gop_mkv"])
    clip = read_clip(videos["gop_mkv"], [2, 10**9, 79, 500])
    for k in (1, 2, 3):
        np.testing.assert_array_equal(clip[k], ref[-1])


def test_empty_negative_and_non_integer_indices(videos):
    assert read_clip(videos["mp4"], []).shape == (0, 64, 96, 3)
    assert read_clip(videos["mp4"], np.array([], dtype=np.int64), size=(16, 20)).shape == (0, 16, 20, 3)
    with pytest.raises(ValueError, match="negative"):
        read_clip(videos["mp4"], [0, -1])
    with pytest.raises(ValueError, match="whole numbers"):
        read_clip(videos["mp4"], [0.5])
    assert band_ids(read_clip(videos["mp4"], np.array([4.0, 7.0])), 24) == [4, 7]


def test_resize_modes(videos):
    squash = read_clip(videos["mp4"], [3], size=(32, 40))
    assert squash.shape == (1, 32, 40, 3)
    keep = read_clip(videos["mp4"], [3], short_side=32)
    assert keep.shape == (1, 32, 48, 3)  # 64x96 -> short side 32, aspect 1.5 kept
    up = read_clip(videos["mp4"], [3], short_side=100, interpolation="bicubic")
    assert up.shape == (1, 100, 150, 3)
    assert band_ids(squash, 24) == [3] and band_ids(keep, 24) == [3]
    with pytest.raises(ValueError, match="not both"):
        read_clip(videos["mp4"], [0], size=(8, 8), short_side=8)
    with pytest.raises(ValueError, match="interpolation"):
        read_clip(videos["mp4"], [0], interpolation="nearest-ish")


@pytest.mark.parametrize(
    ("suffix", "codec", "options"),
    [
        ("mp4", "libx264", None),
        ("mkv", "libx264", None),
        ("mov", "libx264", None),
        ("avi", "mpeg4", {"b": "4M"}),
        ("webm", "libvpx-vp9", {"lossless": "1"}),
        ("mkv", "ffv1", None),
    ],
)
def test_containers(tmp_path, suffix, codec, options):
    n = 16
    path = make_video(tmp_path / f"c.{suffix}", num_frames=n, codec=codec, options=options, gop=6)
    info = probe(path)
    assert (info.num_frames, info.fps, info.width, info.height) == (n, 25.0, 96, 64)
    assert band_ids(read_clip(path, [15, 0, 7, 8, 40]), n) == [15, 0, 7, 8, 15]


@pytest.mark.parametrize(
    ("codec", "pix_fmt", "height", "width", "suffix"),
    [
        ("libx264", "yuv420p10le", 64, 96, "mp4"),
        ("libx264", "yuv444p", 47, 65, "mp4"),  # odd size
        ("libx264", "yuv420p", 46, 66, "mp4"),  # width not a multiple of 4
        ("libx265", "gray", 48, 64, "mkv"),
        ("ffv1", "yuv422p10le", 33, 57, "mkv"),
    ],
)
def test_pixel_formats_and_odd_sizes(tmp_path, codec, pix_fmt, height, width, suffix):
    n = 8
    path = make_video(tmp_path / f"p.{suffix}", num_frames=n, height=height, width=width, codec=codec, pix_fmt=pix_fmt)
    clip = read_clip(path, [7, 0, 3])
    assert clip.shape == (3, height, width, 3)
    assert band_ids(clip, n) == [7, 0, 3]
    if pix_fmt.startswith("gray"):
        np.testing.assert_allclose(clip[..., 0], clip[..., 1], atol=1)
        np.testing.assert_allclose(clip[..., 0], clip[..., 2], atol=1)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_display_rotation_is_applied(tmp_path, rotation):
    n = 8
    plain = make_video(tmp_path / "plain.mp4", num_frames=n)
    rotated = make_video(tmp_path / "rot.mp4", num_frames=n, rotation=rotation)
    info = probe(rotated)
    assert info.rotation == rotation
    expect_hw = (96, 64) if rotation in (90, 270) else (64, 96)
    assert (info.height, info.width) == expect_hw
    got = read_clip(rotated, [0, 5])
    # The display matrix does not change the coded pictures, so the rotated read must equal a
    # counter-clockwise np.rot90 of the plain read.
    want = np.stack([np.rot90(f, k=rotation // 90) for f in read_clip(plain, [0, 5])])
    np.testing.assert_array_equal(got, want)
    # size is given in the displayed orientation
    assert read_clip(rotated, [1], size=(30, 20)).shape == (1, 30, 20, 3)
    assert read_clip(rotated, [1], short_side=32).shape[1:3] == ((48, 32) if rotation != 180 else (32, 48))


def test_first_pts_not_zero(tmp_path):
    n = 12
    path = make_video(tmp_path / "late.mkv", num_frames=n, timestamps=[2.0 + i / 25 for i in range(n)])
    info = probe(path)
    assert info.num_frames == n and abs(info.duration - n / 25) < 1e-6
    assert band_ids(read_clip(path, [0, 11, 6, 30]), n) == [0, 11, 6, 11]


@pytest.mark.parametrize("bframes", ["0", "3"])
def test_variable_frame_rate_returns_the_frame_nearest_in_time(tmp_path, bframes):
    n = 48
    rng = np.random.default_rng(3)
    steps = rng.choice([0.02, 0.04, 0.1], size=n)
    steps[30:33] = 0.5  # pauses: targets inside them have no frame of their own
    steps[20] = 2.0  # long enough that frames before it are passed in skip mode (exercises the guard)
    times = np.cumsum(steps) - steps[0]
    path = make_video(
        tmp_path / "vfr.mkv", num_frames=n, timestamps=times.tolist(), gop=12, options={"crf": "10", "bf": bframes}
    )
    fps = Fraction(probe(path).fps).limit_denominator(100000)
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        shown = [float((f.pts - s.start_time) * s.time_base) for f in c.decode(s)]
    assert len(shown) == n
    last = int(shown[-1] * fps)
    # Independent expectation: for target i, the decoded frame whose time is closest to i / fps
    # (ties go to the earlier frame).
    def nearest(i):
        return int(np.argmin([abs(t - i / float(fps)) + 1e-9 * k for k, t in enumerate(shown)]))

    in_pause = round(float(times[19] + 1.0) * fps)
    for idx in (
        list(range(last + 3)),
        sorted({0, 3, last // 2, last // 2 + 1, last - 1, last + 5}),
        [last, 2, last // 3],
        [in_pause],
        [1, in_pause + 2],
    ):
        assert band_ids(read_clip(path, idx), n) == [nearest(i) for i in idx], idx


def test_reader_is_stateless_across_threads(videos):
    idx = [70, 2, 33, 33, 9]
    ref = read_clip(videos["gop_mkv"], idx, size=(16, 24))
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: read_clip(videos["gop_mkv"], idx, size=(16, 24)), range(3)))
    for r in results:
        np.testing.assert_array_equal(r, ref)


@pytest.mark.parametrize(
    ("suffix", "codec", "options"),
    [("ts", "libx264", None), ("h264", "libx264", None), ("flv", "libx264", None), ("mpg", "mpeg2video", {"b": "4M"})],
)
def test_containers_without_a_keyframe_index_match_sequential_decode(tmp_path, suffix, codec, options):
    # No sample index (mpegts, raw Annex-B h264 without timestamps, flv, mpeg-ps): the plan falls
    # back to a seek threshold and must still return exactly the sequentially decoded frames.
    path = make_video(tmp_path / f"x.{suffix}", num_frames=90, gop=10, codec=codec, options=options)
    ref = reference_frames(path)
    idx = [89, 0, 45, 46, 10, 200, 70, 3, 33, 61]
    clip = read_clip(path, idx)
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(clip[k], ref[min(i, len(ref) - 1)], err_msg=f"frame {i}")


def _read_three(path, start):
    return read_clip(path, [start, start + 5, start + 10], size=(16, 24))


def test_reader_works_in_forked_worker_processes(videos):
    # DataLoader workers are forked after the parent has already decoded: nothing may be shared.
    starts = [0, 30, 60, 7]
    want = [_read_three(videos["gop_mkv"], s) for s in starts]
    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        got = list(pool.map(_read_three, [videos["gop_mkv"]] * len(starts), starts))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
