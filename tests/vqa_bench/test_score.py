"""`vqa score` through argparse: folders walked, any container, skipped files, determinism."""

from __future__ import annotations

import argparse
import csv

import numpy as np
import pytest

from vqa_bench.score import add_score_command, iter_candidate_files
from vqa_core.errors import VqaError
from vqa_core.testing import make_video


@pytest.fixture
def checkpoint(tmp_path, toy_manifest, toy_method):
    method = toy_method(config="tiny", device="cpu")
    items = toy_manifest.items
    method.fit(items[:18], items[18:], tmp_path)
    return method.save(tmp_path / "toy.pt"), method


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="vqa")
    add_score_command(parser.add_subparsers(dest="command"))
    return parser.parse_args(["score", *argv])


def read_rows(path):
    with open(path, newline="") as fh:
        return {row["path"]: row for row in csv.DictReader(fh)}


def test_score_folder_of_mixed_containers_lists_skipped_files(tmp_path, checkpoint, capsys):
    ckpt, method = checkpoint
    clips = tmp_path / "clips"
    sharp = make_video(clips / "a_sharp.mkv", num_frames=8, height=48, width=64, seed=1, options={"crf": "5"})
    blocky = make_video(
        clips / "nested" / "b_blocky.avi",
        num_frames=8,
        height=48,
        width=64,
        seed=1,
        codec="mpeg4",
        options={"qscale": "31"},
    )
    no_ext = make_video(clips / "nested" / "c.mov", num_frames=8, height=48, width=64, seed=2)
    no_ext = no_ext.rename(no_ext.with_name("c_no_extension"))
    (clips / "notes.txt").write_text("not a video")
    (clips / "empty.mp4").write_bytes(b"")
    (clips / ".DS_Store").write_bytes(b"\0\1")
    out = tmp_path / "scores.csv"

    args = parse(
        str(clips),
        str(tmp_path / "missing.mp4"),
        "--method",
        "toy-ridge",
        "--checkpoint",
        str(ckpt),
        "--out",
        str(out),
        "--device",
        "cpu",
        "--no-progress",
    )
    assert args.func(args) == 0
    rows = read_rows(out)
    ok = {p for p, r in rows.items() if r["status"] == "ok"}
    assert ok == {str(sharp), str(blocky), str(no_ext)}  # found by probing, not by extension
    skipped = {p: r["reason"] for p, r in rows.items() if r["status"] == "skipped"}
    assert set(skipped) == {str(clips / "notes.txt"), str(clips / "empty.mp4"), str(tmp_path / "missing.mp4")}
    assert all(reason for reason in skipped.values())
    assert skipped[str(tmp_path / "missing.mp4")] == "does not exist"
    for p in ok:  # the toy method has separate decode and model phases: both timed
        assert float(rows[p]["decode_s"]) > 0 and float(rows[p]["model_s"]) >= 0
        assert float(rows[p]["total_s"]) >= float(rows[p]["decode_s"])
        assert rows[p]["num_frames"] == "8"
    # the scores are the method's own predictions, and quality shows in them
    expected = method.predict([sharp, blocky])
    assert float(rows[str(sharp)]["score"]) == pytest.approx(expected[0], abs=1e-5)
    assert float(rows[str(sharp)]["score"]) > float(rows[str(blocky)]["score"])
    assert "skipped 3 file(s)" in capsys.readouterr().err


def test_same_video_same_score_in_any_order(tmp_path, checkpoint):
    ckpt, _ = checkpoint
    a = make_video(tmp_path / "v" / "a.mp4", num_frames=8, height=48, width=64, seed=3)
    b = make_video(
        tmp_path / "v" / "b.webm",
        num_frames=8,
        height=48,
        width=64,
        seed=4,
        codec="libvpx-vp9",
        pix_fmt="yuv420p",
    )
    scores = []
    for order in ([a, b], [b, a, a]):
        out = tmp_path / f"s{len(order)}.csv"
        args = parse(
            *map(str, order), "--checkpoint", str(ckpt), "--out", str(out), "--no-progress", "--device", "cpu"
        )
        assert args.func(args) == 0
        scores.append({p: float(r["score"]) for p, r in read_rows(out).items()})
    assert scores[0] == scores[1]
    assert scores[0][str(a)] != scores[0][str(b)]


def test_method_mismatch_and_no_videos_are_errors(tmp_path, checkpoint):
    ckpt, _ = checkpoint
    video = make_video(tmp_path / "x.mp4", num_frames=8, height=48, width=64)
    args = parse(str(video), "--checkpoint", str(ckpt), "--method", "toy-ridge-other", "--no-progress")
    with pytest.raises(VqaError, match="unknown method"):
        args.func(args)
    (tmp_path / "t.txt").write_text("hello")
    args = parse(str(tmp_path / "t.txt"), "--checkpoint", str(ckpt), "--no-progress")
    with pytest.raises(VqaError, match="no decodable video"):
        args.func(args)


def test_walk_is_sorted_and_deduplicated(tmp_path):
    for name in ("b.bin", "a.bin", "sub/c.bin", ".hidden/d.bin"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    found = [
        p.relative_to(tmp_path).as_posix() for p, _ in iter_candidate_files([tmp_path, tmp_path / "a.bin"])
    ]
    assert found == ["a.bin", "b.bin", "sub/c.bin"]
    assert np.all([reason is None for _, reason in iter_candidate_files([tmp_path])])
