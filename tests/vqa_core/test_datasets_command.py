"""`vqa dataset` and tools/build_manifest.py on a small fake dataset."""

from __future__ import annotations

import argparse
import csv
import importlib.util
import shutil
from pathlib import Path

import pytest

from vqa_core.datasets import read_manifest_csv, read_splits_csv
from vqa_core.datasets.command import add_dataset_command
from vqa_core.errors import DatasetError
from vqa_core.testing import make_video

REPO = Path(__file__).resolve().parents[2]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vqa")
    add_dataset_command(parser.add_subparsers(dest="command"))
    return parser


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch):
    """`build` probes every video and caches the verdicts: keep them out of the user's cache."""
    monkeypatch.setenv("VQA_ZOO_CACHE", str(tmp_path / "cache"))


def _konvid_like(root: Path, n: int = 10, present: int = 10) -> Path:
    root.mkdir(parents=True)
    with (root / "KoNViD_1k_mos.csv").open("w", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerow(["flickr_id", "mos"])
        for k in range(n):
            writer.writerow([str(1000 + k), f"{1 + 0.3 * k:.10f}"])
    (root / "KoNViD_1k_videos").mkdir()
    clip = make_video(root / "clip.mp4", num_frames=2, height=16, width=16)  # `build` decodes every video
    for k in range(present):
        shutil.copy(clip, root / "KoNViD_1k_videos" / f"{1000 + k}.mp4")
    clip.unlink()
    return root


def test_build_writes_manifest_and_splits(tmp_path, capsys):
    root = _konvid_like(tmp_path / "konvid")
    shutil.copy(root / "KoNViD_1k_videos" / "1000.mp4", root / "KoNViD_1k_videos" / "99999.mp4")  # no label
    args = _parser().parse_args(
        [
            "dataset",
            "build",
            "konvid-1k",
            "--data-root",
            str(root),
            "-o",
            str(tmp_path / "out" / "m.csv"),
            "--splits-out",
            str(tmp_path / "out" / "s.csv"),
            "--num-splits",
            "3",
            "--seed",
            "5",
        ]
    )
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "konvid-1k: 10 items" in out and "MOS observed 1 to 3.7" in out
    assert "total: 10 items, reference 1200 (differs by -1190)" in out
    assert "1 video file(s) under the video folders have no label" in out and "99999.mp4" in out
    items = read_manifest_csv(tmp_path / "out" / "m.csv")
    assert [i.path for i in items] == [
        (root / "KoNViD_1k_videos" / f"{1000 + k}.mp4").resolve() for k in range(10)
    ]
    splits = read_splits_csv(tmp_path / "out" / "s.csv")
    assert [s.name for s in splits] == [f"ratio802_seed5_split_{k:02d}" for k in range(3)]
    assert all((len(s.train), len(s.val), len(s.test)) == (7, 1, 2) for s in splits)


def test_build_reports_missing_videos(tmp_path):
    root = _konvid_like(tmp_path / "konvid", present=7)
    args = _parser().parse_args(["dataset", "build", "konvid-1k", "--data-root", str(root)])
    with pytest.raises(DatasetError, match="3 of 10 labelled videos are missing: 1007"):
        args.func(args)


def test_list_and_show(capsys):
    args = _parser().parse_args(["dataset", "list"])
    assert args.func(args) == 0
    listing = capsys.readouterr().out
    assert "lsvq-fastvqa" in listing and "dhf1k" in listing and "saliency" in listing
    args = _parser().parse_args(["dataset", "show", "lsvq"])
    assert args.func(args) == 0
    shown = capsys.readouterr().out
    assert "labels_train_test.csv" in shown and "'test_1080p'" in shown


def test_tools_script_runs_the_same_build(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("build_manifest_tool", REPO / "tools" / "build_manifest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    root = _konvid_like(tmp_path / "konvid", present=9)
    assert module.main(["konvid-1k", "--data-root", str(root)]) == 1
    assert "1 of 10 labelled videos are missing" in capsys.readouterr().err
    with pytest.warns(UserWarning, match="1 of 10 labelled videos are missing"):
        code = module.main(
            ["konvid-1k", "--data-root", str(root), "--on-missing", "drop", "-o", str(tmp_path / "m.csv")]
        )
    assert code == 0
    assert len(read_manifest_csv(tmp_path / "m.csv")) == 9
