"""read_clip on streams without presentation timestamps: AVI (frame numbers in decode order only)
and any container whose decoded pts go backwards. Every result is compared bit-exactly with a
plain sequential PyAV decode taken in decoder output order, which is display order."""

from __future__ import annotations

from itertools import pairwise

import av
import numpy as np
import pytest

from vqa_core.testing import index_level, make_video
from vqa_core.video import probe, read_clip

LONG = 60  # frames in the seek clips (keyframe every 8)


def sequential_frames(path) -> list[np.ndarray]:
    """Every frame in the order the decoder returns it, converted independently of read_clip."""
    with av.open(str(path)) as c:
        return [f.reformat(format="rgb24", interpolation="BILINEAR").to_ndarray() for f in c.decode(video=0)]


def band_ids(clip: np.ndarray, num_frames: int) -> list[int]:
    levels = np.array([index_level(i, num_frames) for i in range(num_frames)], dtype=np.float64)
    return [int(np.argmin(np.abs(levels - f[:2].mean()))) for f in clip]


def assert_frames(path, idx, ref):
    clip = read_clip(path, idx)
    assert clip.shape[0] == len(idx)
    for k, i in enumerate(idx):
        np.testing.assert_array_equal(clip[k], ref[min(i, len(ref) - 1)], err_msg=f"{path.name}: frame {i}")


@pytest.fixture(scope="module")
def avis(tmp_path_factory):
    d = tmp_path_factory.mktemp("avi")
    paths = {
        "x264_short": make_video(d / "x264_short.avi", num_frames=24, codec="libx264"),
        "x264_nob": make_video(d / "x264_nob.avi", num_frames=24, codec="libx264", options={"bf": "0"}),
        # B-frames and a small GOP: seeks land on many keyframes
        "x264": make_video(d / "x264.avi", num_frames=LONG, gop=8, codec="libx264", options={"bf": "3"}),
        # MPEG-4 part 2 with B-frames writes open GOPs: B-frames after a keyframe are shown before it
        "mpeg4": make_video(d / "mpeg4.avi", num_frames=LONG, gop=8, codec="mpeg4", options={"bf": "2", "b": "4M"}),
    }
    return {name: (p, sequential_frames(p)) for name, p in paths.items()}


def test_reference_decode_is_in_display_order(avis):
    """Guards the premise of every other test: the plain decode returns frames in display order.

    The index band's level rises with the frame index, so display order means strictly
    increasing band means (60-frame clips space levels too closely for exact identification).
    """
    for name, (_, ref) in avis.items():
        means = [float(f[:2].mean()) for f in ref]
        assert all(b > a for a, b in pairwise(means)), name
    for name in ("x264_short", "x264_nob"):
        assert band_ids(np.stack(avis[name][1]), 24) == list(range(24)), name


@pytest.mark.parametrize("name", ["x264_short", "x264_nob"])
def test_sequential_read_matches_decoder_output(avis, name):
    path, ref = avis[name]
    clip = read_clip(path, range(24))
    assert band_ids(clip, 24) == list(range(24))
    assert_frames(path, list(range(24)), ref)


@pytest.mark.parametrize("name", ["x264", "mpeg4"])
@pytest.mark.parametrize(
    "idx",
    [
        list(range(LONG)),  # everything
        [0, 9, 17, 26, 35, 43, 51, 59],  # sparse uniform: a seek per target
        [59, 3, 41, 41, 0, 33, 32, 10, 10],  # unsorted with repeats
        list(range(LONG - 1, -1, -7)),  # reverse order
        [7, 8, 15, 16, 23, 24, 31, 32],  # either side of keyframes
        [1000, 2, LONG],  # past the end: the last frame
    ],
)
def test_avi_with_b_frames_and_seeks_matches_decoder_output(avis, name, idx):
    path, ref = avis[name]
    assert len(ref) == LONG
    assert_frames(path, idx, ref)


def test_probe_on_avi_with_b_frames(avis):
    info = probe(avis["x264_short"][0])
    assert (info.num_frames, info.fps, info.codec) == (24, 25.0, "h264")
    assert (info.width, info.height) == (96, 64)
    assert info.duration == pytest.approx(24 / 25)
    exact = probe(avis["mpeg4"][0], exact=True)
    assert (exact.num_frames, exact.num_frames_source) == (LONG, "decoded")


def test_container_whose_pts_are_decode_order_is_read_by_counting(tmp_path):
    """An mkv remuxed with decode-order stamps (as AVI-to-mkv tools produce): pts go backwards."""
    src = make_video(tmp_path / "src.mkv", num_frames=30, gop=10, options={"bf": "3"})
    dst = tmp_path / "decode_order.mkv"
    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        s = inp.streams.video[0]
        o = out.add_stream_from_template(s)
        step = round(1 / (s.average_rate * s.time_base))
        for k, packet in enumerate(p for p in inp.demux(s) if p.size > 0):
            packet.pts = packet.dts = k * step
            packet.stream = o
            out.mux(packet)
    with av.open(str(dst)) as c:
        stamps = [f.pts for f in c.decode(video=0)]
    assert stamps != sorted(stamps)  # the premise: decoded pts are not monotonic
    ref = sequential_frames(dst)
    for idx in (list(range(30)), [29, 0, 14, 14, 7, 22, 40]):
        assert_frames(dst, idx, ref)
