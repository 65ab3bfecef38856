"""probe (frame counts that do not trust the container) and headerless .yuv reading."""

from __future__ import annotations

import av
import numpy as np
import pytest

from vqa_core import VideoDecodeError
from vqa_core.testing import index_level, make_video, synthetic_frame
from vqa_core.video import RawFormat, VideoInfo, probe, read_clip


def test_probe_mp4_uses_the_checked_container_count(tmp_path):
    info = probe(make_video(tmp_path / "a.mp4", num_frames=20, fps=30))
    assert isinstance(info, VideoInfo)
    assert (info.num_frames, info.fps, info.width, info.height) == (20, 30.0, 96, 64)
    assert info.num_frames_source == "container"
    assert info.codec == "h264" and info.pix_fmt == "yuv420p" and info.rotation == 0
    assert info.duration == pytest.approx(20 / 30)


def test_probe_mkv_without_a_frame_count_counts_packets(tmp_path):
    path = make_video(tmp_path / "a.mkv", num_frames=21, fps=24)
    with av.open(str(path)) as c:
        assert c.streams.video[0].frames == 0  # the container really does not say
    info = probe(path)
    assert info.num_frames == 21 and info.num_frames_source == "packets"
    assert info.duration == pytest.approx(21 / 24, abs=2e-3)  # mkv stores whole milliseconds (two roundings)
    exact = probe(path, exact=True)
    assert exact.num_frames == 21 and exact.num_frames_source == "decoded"


def _write_yuv(path, frames_rgb, pix_fmt):
    """Independent writer: swscale converts each frame, planes are written row by row without padding.

    swscale runs single-threaded (threads=1): FFmpeg 8's slice-threaded rgb24 -> yuv444p10le
    conversion now and then gets 8 pixels at a slice boundary wrong, which made this test flaky.
    """
    with open(path, "wb") as fh:
        for rgb in frames_rgb:
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt, threads=1)
            fmt = frame.format
            for k, plane in enumerate(frame.planes):
                comps = [c for c in fmt.components if c.plane == k]
                row_bytes = sum(-(-c.bits // 8) * plane.width for c in comps) if len(frame.planes) > 1 else None
                if row_bytes is None:
                    row_bytes = -(-fmt.padded_bits_per_pixel * plane.width // 8)
                buf = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
                fh.write(buf[: plane.height, :row_bytes].tobytes())
    return path


@pytest.mark.parametrize(("pix_fmt", "height", "width"), [("yuv420p", 48, 64), ("yuv420p", 17, 33), ("yuv444p10le", 24, 40), ("nv12", 32, 48), ("gray", 20, 30)])
def test_raw_yuv_reads_by_offset(tmp_path, pix_fmt, height, width):
    n = 10
    frames = [synthetic_frame(i, n, height, width) for i in range(n)]
    path = _write_yuv(tmp_path / "v.yuv", frames, pix_fmt)
    raw = RawFormat(width, height, pix_fmt, fps=30)
    assert path.stat().st_size == n * raw.frame_bytes
    info = probe(path, raw=raw)
    assert (info.num_frames, info.width, info.height, info.num_frames_source) == (n, width, height, "raw")
    clip = read_clip(path, [9, 0, 4, 4, 99], raw=raw)
    assert clip.shape == (5, height, width, 3)
    levels = np.array([index_level(i, n) for i in range(n)])
    band = max(2, height // 8)
    assert [int(np.argmin(np.abs(levels - f[: band - 1].mean()))) for f in clip] == [9, 0, 4, 4, 9]
    # same pixels as converting the source frame's YUV straight back with swscale
    yuv = av.VideoFrame.from_ndarray(frames[4], format="rgb24").reformat(format=pix_fmt, threads=1)
    ref = yuv.reformat(format="rgb24", threads=1)
    np.testing.assert_array_equal(clip[2], ref.to_ndarray())
    assert read_clip(path, [1], size=(10, 12), raw=raw).shape == (1, 10, 12, 3)


def test_raw_yuv_trailing_partial_frame_and_too_small_file(tmp_path):
    raw = RawFormat(16, 8, "yuv420p")
    assert raw.frame_bytes == 16 * 8 * 3 // 2
    path = tmp_path / "v.yuv"
    path.write_bytes(bytes(raw.frame_bytes * 3 + 10))
    assert probe(path, raw=raw).num_frames == 3
    small = tmp_path / "small.yuv"
    small.write_bytes(bytes(10))
    with pytest.raises(VideoDecodeError, match=r"small\.yuv.*less than one"):
        read_clip(small, [0], raw=raw)
    with pytest.raises(ValueError, match="pixel format"):
        RawFormat(16, 8, "not-a-format")


def test_raw_color_range(tmp_path):
    # Y=235 with neutral chroma is peak white in limited (tv) range and 235 grey in full (pc) range.
    w, h = 16, 8
    path = tmp_path / "white.yuv"
    path.write_bytes(np.full(h * w, 235, np.uint8).tobytes() + np.full(h * w // 2, 128, np.uint8).tobytes())
    tv = read_clip(path, [0], raw=RawFormat(w, h, "yuv420p"))
    pc = read_clip(path, [0], raw=RawFormat(w, h, "yuv420p", color_range="pc"))
    assert (tv == 255).all() and (pc == 235).all()
