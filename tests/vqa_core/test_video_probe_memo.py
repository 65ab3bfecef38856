"""`probe` reads a file once per process (`vqa score` and the method's dataset both ask), and
reads it again as soon as the file changes."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from vqa_core.testing import make_video
from vqa_core.video import ShortVideoWarning, forget_probes, info, probe


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The files `probe` actually read through FFmpeg, in order."""
    calls: list[Path] = []
    real = info._probe_container

    def counting(p: Path, exact: bool):
        calls.append(p)
        return real(p, exact)

    monkeypatch.setattr(info, "_probe_container", counting)
    monkeypatch.setattr(info, "_MEMO", type(info._MEMO)())
    return calls


def test_a_second_probe_of_the_same_file_reads_nothing(tmp_path: Path, opened: list[Path]) -> None:
    path = make_video(tmp_path / "a.mp4", num_frames=12)
    first = probe(path)
    assert probe(str(path)) == first
    assert probe(tmp_path / "." / "a.mp4") == first  # the same file by another spelling
    assert opened == [path]
    assert probe(path, exact=True).num_frames == first.num_frames  # exact is its own question
    assert len(opened) == 2
    forget_probes()  # a new process's view
    assert probe(path) == first
    assert len(opened) == 3


def test_a_rewritten_file_is_probed_again(tmp_path: Path, opened: list[Path]) -> None:
    path = make_video(tmp_path / "a.mp4", num_frames=12)
    assert probe(path).num_frames == 12
    make_video(tmp_path / "b.mp4", num_frames=20).replace(path)
    assert probe(path).num_frames == 20
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))  # touched: read again
    assert probe(path).num_frames == 20
    assert len(opened) == 3


def test_the_memory_is_bounded(tmp_path: Path, opened: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(info, "_MEMO_SIZE", 2)
    paths = [make_video(tmp_path / f"{i}.mp4", num_frames=4) for i in range(3)]
    for p in paths:
        probe(p)
    assert len(info._MEMO) == 2
    probe(paths[0])  # the oldest was dropped: read again
    assert opened == [*paths, paths[0]]


def test_a_remembered_shortfall_is_still_warned_about(tmp_path: Path, opened: list[Path]) -> None:
    data = make_video(tmp_path / "src.mkv", num_frames=64).read_bytes()
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    for _ in range(2):
        with pytest.warns(ShortVideoWarning, match=r"cut\.mkv: the container declares"):
            note = probe(cut).note
        assert note
    assert opened == [cut]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        probe(make_video(tmp_path / "ok.mp4", num_frames=8))  # a sound file: no warning
