"""The on-disk store of decoded clips: decoded once, identical when read back, never stale."""

from __future__ import annotations

import os

import numpy as np
import pytest

from vqa_core.errors import VideoDecodeError
from vqa_core.testing import make_video
from vqa_core.video import DecodedClipStore, read_clip


@pytest.fixture()
def video(tmp_path):
    return make_video(tmp_path / "clip.mp4", num_frames=12, height=48, width=64)


class Counting:
    """`read_clip` that counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, path, indices, size, raw):
        self.calls += 1
        return read_clip(path, indices, size=size, raw=raw)


def test_a_clip_is_decoded_once_and_read_back_identical(tmp_path, video) -> None:
    decode = Counting()
    store = DecodedClipStore(tmp_path / "clips", decode=decode)
    first = store.read(video, [0, 4, 8], None)
    again = DecodedClipStore(tmp_path / "clips", decode=decode).read(video, [0, 4, 8], None)  # e.g. the next split
    assert decode.calls == 1
    assert isinstance(again, np.memmap) and not again.flags.writeable
    assert again.dtype == np.uint8 and again.shape == (3, 48, 64, 3)
    np.testing.assert_array_equal(first, read_clip(video, [0, 4, 8]))
    np.testing.assert_array_equal(again, first)


def test_other_indices_sizes_or_a_changed_video_are_other_entries(tmp_path, video) -> None:
    decode = Counting()
    store = DecodedClipStore(tmp_path / "clips", decode=decode)
    store.read(video, [0, 4], None)
    store.read(video, [0, 5], None)
    resized = store.read(video, [0, 4], (24, 32))
    assert decode.calls == 3 and resized.shape == (2, 24, 32, 3)
    stat = os.stat(video)
    os.utime(video, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # the file was replaced
    store.read(video, [0, 4], None)
    assert decode.calls == 4


def test_a_torn_entry_is_decoded_again(tmp_path, video) -> None:
    decode = Counting()
    store = DecodedClipStore(tmp_path / "clips", decode=decode)
    good = np.array(store.read(video, [1, 2], None))
    store.entry(video, [1, 2], None).write_bytes(b"\x93NUMPY torn")
    np.testing.assert_array_equal(store.read(video, [1, 2], None), good)
    assert decode.calls == 2


def test_a_missing_video_names_the_file(tmp_path) -> None:
    with pytest.raises(VideoDecodeError, match=r"gone\.mp4"):
        DecodedClipStore(tmp_path / "clips").read(tmp_path / "gone.mp4", [0], None)
