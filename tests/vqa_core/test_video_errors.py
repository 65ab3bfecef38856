"""Bad input never hangs or crashes: each case is a VideoDecodeError naming the file and the cause."""

from __future__ import annotations

import time

import av
import numpy as np
import pytest

from vqa_core import VideoDecodeError, VqaError
from vqa_core.testing import index_level, make_audio, make_video
from vqa_core.video import probe, read_clip


def _missing(d):
    return d / "nope.mp4", "no such file"


def _empty(d):
    (d / "empty.mp4").write_bytes(b"")
    return d / "empty.mp4", "empty"


def _random(d):
    (d / "noise.mkv").write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    return d / "noise.mkv", "not a readable video"


def _text(d):
    (d / "notes.mp4").write_text("this is not a video\n" * 50)
    return d / "notes.mp4", "not a readable video"


def _audio_only(d):
    return make_audio(d / "tone.m4a"), "no video stream"


def _truncated_mp4(d):
    full = make_video(d / "full.mp4", num_frames=24)
    data = full.read_bytes()
    (d / "cut.mp4").write_bytes(data[: len(data) // 2])  # moov atom is at the end: cut away
    return d / "cut.mp4", "not a readable video"


def _directory(d):
    (d / "folder.mp4").mkdir()
    return d / "folder.mp4", "directory"


CASES = [_missing, _empty, _random, _text, _audio_only, _truncated_mp4, _directory]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.__name__.strip("_"))
@pytest.mark.parametrize("call", ["probe", "read_clip"])
def test_bad_input_raises_video_decode_error(tmp_path, case, call):
    path, cause = case(tmp_path)
    t0 = time.monotonic()
    with pytest.raises(VideoDecodeError) as info:
        probe(path) if call == "probe" else read_clip(path, [0, 1])
    assert time.monotonic() - t0 < 5
    msg = str(info.value)
    assert str(path) in msg and cause in msg
    assert isinstance(info.value, VqaError)


def test_truncated_mkv_clamps_to_the_last_decodable_frame(tmp_path):
    n = 40
    full = make_video(tmp_path / "full.mkv", num_frames=n, gop=8)
    data = full.read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    clip = read_clip(cut, [0, 5, n - 1, 10**6])
    levels = np.array([index_level(i, n) for i in range(n)])
    ids = [int(np.argmin(np.abs(levels - f[:2].mean()))) for f in clip]
    assert ids[:2] == [0, 5]
    assert 5 < ids[2] < n - 1 and ids[3] == ids[2]  # the last decodable frame, for both
    exact = probe(cut, exact=True)
    assert ids[2] == exact.num_frames - 1


def test_corrupted_packets_fall_back_to_decodable_frames(tmp_path):
    n = 30
    path = make_video(tmp_path / "ok.mkv", num_frames=n, gop=10)
    data = bytearray(path.read_bytes())
    # Overwrite a stretch in the middle of the payload with noise.
    mid = len(data) // 2
    data[mid : mid + 600] = np.random.default_rng(1).integers(0, 256, 600, dtype=np.uint8).tobytes()
    bad = tmp_path / "bad.mkv"
    bad.write_bytes(bytes(data))
    clip = read_clip(bad, list(range(n)))
    assert clip.shape == (n, 64, 96, 3)
    levels = np.array([index_level(i, n) for i in range(n)])
    ids = [int(np.argmin(np.abs(levels - f[:2].mean()))) for f in clip]
    assert ids[:5] == [0, 1, 2, 3, 4]  # frames before the damage are untouched
    assert ids[-1] == n - 1  # the last keyframe interval is intact


def test_indices_validation_names_the_file(tmp_path):
    path = make_video(tmp_path / "v.mp4", num_frames=4)
    with pytest.raises(ValueError, match=r"v\.mp4.*negative"):
        read_clip(path, [-3])
    with pytest.raises(ValueError, match="integers"):
        read_clip(path, ["a"])


def test_truncated_avi_header_count_is_not_trusted(tmp_path):
    full = make_video(tmp_path / "full.avi", num_frames=40, codec="mpeg4", options={"b": "2M"})
    data = full.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with av.open(str(cut)) as c:
        assert c.streams.video[0].frames == 40  # the header still claims the full length
    info = probe(cut)
    exact = probe(cut, exact=True)
    assert info.num_frames_source == "packets" and exact.num_frames_source == "decoded"
    assert exact.num_frames <= info.num_frames < 40
    assert read_clip(cut, [39]).shape == (1, 64, 96, 3)  # clamps instead of failing
