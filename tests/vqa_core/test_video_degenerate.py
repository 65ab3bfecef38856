"""Damaged and degenerate videos (#16.5): trust the frames that decode, say when some are
missing, refuse inputs below the stated minimum; `vqa probe --json` reports errors as JSON."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import av
import numpy as np
import pytest

from vqa_core.cli import main
from vqa_core.errors import VideoDecodeError
from vqa_core.testing import index_level, make_video
from vqa_core.video import MIN_FRAMES, MIN_SIDE, ShortVideoWarning, probe, read_clip

N = 64


def _faststart_cut(d: Path, keep: float = 0.6) -> Path:
    """An mp4 with its index (moov) in front, cut short: the header still lists all N frames."""
    src = make_video(d / "src.mp4", num_frames=N)
    fast = d / "fast.mp4"
    with av.open(str(src)) as inp, av.open(str(fast), "w", options={"movflags": "faststart"}) as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is not None:
                packet.stream = copy
                out.mux(packet)
    data = fast.read_bytes()
    assert data.find(b"moov") < data.find(b"mdat")  # the index is at the start
    cut = d / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * keep)])
    return cut


def _band_ids(clip: np.ndarray, n: int) -> list[int]:
    levels = np.array([index_level(i, n) for i in range(n)])
    return [int(np.argmin(np.abs(levels - f[:4].mean()))) for f in clip]


def test_truncated_faststart_mp4_reports_the_frames_that_decode(tmp_path: Path) -> None:
    cut = _faststart_cut(tmp_path)
    with av.open(str(cut)) as c:
        assert c.streams.video[0].frames == N  # what used to be believed
    with pytest.warns(ShortVideoWarning, match=rf"cut\.mp4.*declares {N} frames"):
        info = probe(cut)
    real = info.num_frames
    assert N // 3 < real < N and info.num_frames_source == "decoded"
    assert info.frames_declared == N and f"holds only {real}" in info.note
    # every reported frame is a real, distinct frame, read densely or sparsely (no repeated tail)
    sparse = np.linspace(0, real - 1, 8).round().astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # within the frames that decode, nothing to warn about
        assert _band_ids(read_clip(cut, range(real)), N) == list(range(real))
        assert _band_ids(read_clip(cut, sparse), N) == sparse.tolist()


def test_reading_past_the_decodable_end_warns(tmp_path: Path) -> None:
    cut = _faststart_cut(tmp_path)
    with pytest.warns(ShortVideoWarning, match=r"decoding stops after frame"):
        clip = read_clip(cut, [0, N - 1])
    ids = _band_ids(clip, N)
    assert ids[0] == 0 and ids[1] < N - 1  # the last decodable frame stands in, as documented


@pytest.mark.parametrize(
    "timestamps",
    [None, [2.0 + i / 25 for i in range(24)], [0.0, 0.04, 0.5, 0.54, 0.58, *(0.6 + 0.1 * k for k in range(19))]],
    ids=["cfr", "late-start", "vfr"],
)
@pytest.mark.parametrize("suffix", ["mp4", "mkv"])
def test_sound_files_raise_no_warning(tmp_path: Path, suffix: str, timestamps: list[float] | None) -> None:
    path = make_video(tmp_path / f"ok.{suffix}", num_frames=24, timestamps=timestamps)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        info = probe(path)
        read_clip(path, [0, 10, 23, 100])  # past the end is documented, not a damaged file
    assert info.note == "" and info.num_frames == 24
    assert info.frames_declared == (24 if suffix == "mp4" else 0)  # mkv has no header count


def test_truncated_mkv_note_compares_durations(tmp_path: Path) -> None:
    full = make_video(tmp_path / "full.mkv", num_frames=N)
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with pytest.warns(ShortVideoWarning, match=r"cut\.mkv: the container declares 2\.56 s of video but the file holds only"):
        info = probe(cut)
    assert info.frames_declared == 0 and f"({info.num_frames} frames)" in info.note


@pytest.mark.parametrize(("height", "width"), [(2, 2), (8, 64), (64, 8)])
def test_frames_below_the_minimum_size_are_refused(tmp_path: Path, height: int, width: int) -> None:
    path = make_video(tmp_path / "tiny.mkv", num_frames=4, height=height, width=width, codec="ffv1")
    for call in (lambda: probe(path), lambda: read_clip(path, [0])):
        with pytest.raises(VideoDecodeError, match=rf"tiny\.mkv: {width}x{height} pixels.*{MIN_SIDE}x{MIN_SIDE}"):
            call()


def test_the_minimum_size_itself_is_accepted(tmp_path: Path) -> None:
    path = make_video(tmp_path / "small.mkv", num_frames=4, height=MIN_SIDE, width=MIN_SIDE, codec="ffv1")
    assert probe(path).width == MIN_SIDE
    assert read_clip(path, [3]).shape == (1, MIN_SIDE, MIN_SIDE, 3)


def _still(d: Path, codec: str, suffix: str, pix_fmt: str) -> Path:
    path = d / f"picture.{suffix}"
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 48, pix_fmt
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 128, np.uint8), format="rgb24")
        for packet in stream.encode(frame.reformat(format=pix_fmt)):
            out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


@pytest.mark.parametrize(("codec", "suffix", "pix_fmt"), [("png", "png", "rgb24"), ("mjpeg", "jpg", "yuvj420p")])
def test_still_images_are_refused(tmp_path: Path, codec: str, suffix: str, pix_fmt: str) -> None:
    path = _still(tmp_path, codec, suffix, pix_fmt)
    for call in (lambda: probe(path), lambda: read_clip(path, [0])):
        with pytest.raises(VideoDecodeError, match=rf"picture\.{suffix}: a still image"):
            call()


def test_a_one_frame_clip_is_refused_and_two_frames_pass(tmp_path: Path) -> None:
    one = make_video(tmp_path / "one.mp4", num_frames=1)
    with pytest.raises(VideoDecodeError, match=rf"one\.mp4: 1 decodable frame, fewer than the {MIN_FRAMES}"):
        probe(one)
    assert probe(make_video(tmp_path / "two.mp4", num_frames=MIN_FRAMES)).num_frames == MIN_FRAMES


def test_probe_json_prints_errors_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = make_video(tmp_path / "good.mp4", num_frames=12)
    bad = tmp_path / "bad.mp4"
    bad.write_text("not a video")
    cut = _faststart_cut(tmp_path)
    assert main(["probe", "--json", str(good), str(bad), str(cut)]) == 1
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in rows] == [str(good), str(bad), str(cut)]
    assert rows[0]["num_frames"] == 12 and rows[0]["note"] == ""
    assert set(rows[1]) == {"path", "error"} and str(bad) in rows[1]["error"] and "not a readable" in rows[1]["error"]
    assert rows[2]["frames_declared"] == N and "declares" in rows[2]["note"]
