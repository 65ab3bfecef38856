"""check_videos: every video probed once, up front, with an on-disk cache (#16.1), and the
decode check of `vqa dataset build`."""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import time
from pathlib import Path

import av
import pytest

from vqa_core.datasets import ManifestItem, VideoCheck, check_videos, read_manifest_csv
from vqa_core.datasets import check as check_module
from vqa_core.datasets.command import add_dataset_command
from vqa_core.errors import DatasetError
from vqa_core.testing import make_video


def _faststart_cut(d: Path, n: int = 48) -> Path:
    src = make_video(d / "src.mp4", num_frames=n)
    fast = d / "fast.mp4"
    with av.open(str(src)) as inp, av.open(str(fast), "w", options={"movflags": "faststart"}) as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is not None:
                packet.stream = copy
                out.mux(packet)
    data = fast.read_bytes()
    (d / "cut.mp4").write_bytes(data[: int(len(data) * 0.6)])
    src.unlink()
    fast.unlink()
    return d / "cut.mp4"


@pytest.fixture
def videos(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "videos"
    d.mkdir()
    (d / "empty.mp4").write_bytes(b"")
    (d / "text.mp4").write_text("this is not a video\n" * 20)
    (d / "frames").mkdir()
    (d / "frames" / "0001.png").write_bytes(b"png")
    (d / "no_frames").mkdir()
    return {
        "good": make_video(d / "good.mp4", num_frames=12),
        "empty": d / "empty.mp4",
        "text": d / "text.mp4",
        "missing": d / "missing.mp4",
        "tiny": make_video(d / "tiny.mkv", num_frames=4, height=2, width=2, codec="ffv1"),
        "cut": _faststart_cut(d),
        "frames": d / "frames",
        "no_frames": d / "no_frames",
    }


def _items(videos: dict[str, Path]) -> list[ManifestItem]:
    return [ManifestItem(name, path, 3.0) for name, path in videos.items()]


def test_bad_videos_are_sorted_out_with_their_reasons(tmp_path: Path, videos: dict[str, Path]) -> None:
    t0 = time.monotonic()
    result = check_videos(_items(videos), cache_dir=tmp_path / "cache")
    assert time.monotonic() - t0 < 10
    assert isinstance(result, VideoCheck)
    assert [i.video_id for i in result.ok] == ["good", "cut", "frames"]
    reasons = {item.video_id: reason for item, reason in result.bad}
    assert list(reasons) == ["empty", "text", "missing", "tiny", "no_frames"]
    for name, cause in {
        "empty": "empty (0 bytes)",
        "text": "not a readable video",
        "missing": "missing.mp4",
        "tiny": "2x2 pixels is below the minimum",
        "no_frames": "frame folder is empty",
    }.items():
        assert cause in reasons[name], reasons[name]
    assert str(videos["text"]) in reasons["text"]
    assert result.infos["good"] == {"num_frames": 12, "width": 96, "height": 64, "fps": 25.0}
    assert [(i.video_id, "declares 48 frames" in note) for i, note in result.notes] == [("cut", True)]
    summary = result.summary(shown=2)
    assert summary.startswith("5 of 8 videos cannot be used:") and "... and 3 more" in summary


def test_verdicts_are_cached_by_path_size_mtime_and_version(
    tmp_path: Path, videos: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    files = {k: v for k, v in videos.items() if k not in ("frames", "no_frames", "missing")}
    first = check_videos(_items(files), cache_dir=cache)
    assert first.cached == 0
    calls: list[Path] = []
    real_probe = check_module._probe_verdict
    monkeypatch.setattr(check_module, "_probe_verdict", lambda item: calls.append(item.path) or real_probe(item))
    again = check_videos(_items(files), cache_dir=cache)
    assert again.cached == len(files) and calls == []
    assert [i.video_id for i in again.ok] == [i.video_id for i in first.ok]
    assert again.bad == first.bad and again.notes == first.notes and again.infos == first.infos

    # a replaced file (same name, new content) and a touched one are probed again
    shutil.copy(videos["good"], videos["text"])
    stat = videos["good"].stat()
    os.utime(videos["good"], ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    third = check_videos(_items(files), cache_dir=cache)
    assert sorted(calls) == sorted([videos["text"], videos["good"]])
    assert "text" in [i.video_id for i in third.ok]

    # another checker version does not trust the old verdicts
    monkeypatch.setattr(check_module, "CHECKER_VERSION", check_module.CHECKER_VERSION + 1)
    assert check_videos(_items(files), cache_dir=cache).cached == 0


def test_a_damaged_cache_entry_is_probed_again(tmp_path: Path, videos: dict[str, Path]) -> None:
    cache = tmp_path / "cache"
    items = [ManifestItem("good", videos["good"], 1.0)]
    check_videos(items, cache_dir=cache)
    for entry in cache.rglob("*.json"):
        entry.write_text("{not json")
    result = check_videos(items, cache_dir=cache)
    assert result.cached == 0 and [i.video_id for i in result.ok] == ["good"]


def test_default_cache_root_follows_vqa_zoo_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VQA_ZOO_CACHE", str(tmp_path / "root"))
    assert check_module.default_cache_dir() == tmp_path / "root" / "video-check"
    monkeypatch.delenv("VQA_ZOO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert check_module.default_cache_dir() == tmp_path / "xdg" / "vqa-zoo" / "video-check"


def test_an_unexpected_exception_becomes_a_reason(tmp_path: Path, videos, monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("decoder crashed")

    monkeypatch.setattr("vqa_core.video.probe", explode)
    result = check_videos([ManifestItem("good", videos["good"], 1.0)], cache_dir=tmp_path / "c")
    assert result.ok == [] and "RuntimeError: decoder crashed" in result.bad[0][1]


# -- vqa dataset build -------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vqa")
    add_dataset_command(parser.add_subparsers(dest="command"))
    return parser


def _konvid_root(root: Path, good: Path) -> Path:
    (root / "KoNViD_1k_videos").mkdir(parents=True)
    with (root / "KoNViD_1k_mos.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["flickr_id", "mos"])
        for k in range(4):
            writer.writerow([str(100 + k), f"{1 + k}.5"])
    for k in (0, 1, 3):
        shutil.copy(good, root / "KoNViD_1k_videos" / f"{100 + k}.mp4")
    (root / "KoNViD_1k_videos" / "102.mp4").write_text("a text file named .mp4")
    return root


def test_dataset_build_checks_that_videos_decode(tmp_path: Path, videos, monkeypatch, capsys) -> None:
    monkeypatch.setenv("VQA_ZOO_CACHE", str(tmp_path / "cache"))
    root = _konvid_root(tmp_path / "konvid", videos["good"])
    args = _parser().parse_args(["dataset", "build", "konvid-1k", "--data-root", str(root)])
    with pytest.raises(DatasetError, match=r"1 of 4 videos cannot be used:\n  102 \(.*102\.mp4\): .*not a readable"):
        args.func(args)
    out = tmp_path / "m.csv"
    args = _parser().parse_args(
        ["dataset", "build", "konvid-1k", "--data-root", str(root), "--on-missing", "drop", "-o", str(out)]
    )
    with pytest.warns(UserWarning, match="1 of 4 videos cannot be used"):
        assert args.func(args) == 0
    assert [item.video_id for item in read_manifest_csv(out)] == ["100", "101", "103"]
    args = _parser().parse_args(["dataset", "build", "konvid-1k", "--data-root", str(root), "--no-check-videos"])
    assert args.func(args) == 0  # label parsing only: no file is opened
