"""`vqa score` through argparse: folders walked, any container, skipped files, determinism."""

from __future__ import annotations

import argparse
import csv
import os
import time
from pathlib import Path

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


# -- #16.2 / #16.3: --out checked first, rows kept as they are scored, one writer per file ----------


def _unwritable_out(tmp_path):
    """A path whose folder cannot be written: a read-only folder, or (as root, who may write
    anywhere permissions say no) a sysfs folder; None where neither refuses."""
    ro = tmp_path / "read-only"
    ro.mkdir()
    ro.chmod(0o500)
    for folder in (ro, Path("/sys")):
        try:
            (folder / ".probe").touch()
        except OSError:
            return folder / "scores.csv"
        (folder / ".probe").unlink()
    return None


@pytest.mark.parametrize("case", ["folder", "missing parent", "parent is a file", "unwritable"])
def test_bad_out_fails_fast_before_any_work(tmp_path, case, capsys, monkeypatch):
    import vqa_bench.score as score

    (tmp_path / "a_file").write_text("x")
    out = {
        "folder": tmp_path,
        "missing parent": tmp_path / "no" / "such" / "scores.csv",
        "parent is a file": tmp_path / "a_file" / "scores.csv",
        "unwritable": _unwritable_out(tmp_path),
    }[case]
    if out is None:
        pytest.skip("no folder here refuses writes")

    def no_work(*a, **k):
        raise AssertionError("scoring work started before --out was checked")

    monkeypatch.setattr(score, "probe_files", no_work)
    video = make_video(tmp_path / "v.mp4", num_frames=8, height=48, width=64)
    args = parse(str(video), "--checkpoint", str(tmp_path / "missing.pt"), "--out", str(out), "--no-progress")
    t0 = time.perf_counter()
    assert args.func(args) == 2
    assert time.perf_counter() - t0 < 1.0
    err = capsys.readouterr().err.strip()
    assert err.startswith("vqa score: error: --out ") and str(out) in err and len(err.splitlines()) == 1
    words = {"folder": "is a folder", "missing parent": "does not exist", "parent is a file": "is not a folder",
             "unwritable": "cannot write in"}[case]
    assert words in err
    if Path(out).parent.is_dir():
        assert not list(Path(out).parent.glob(".*.lock"))  # nothing left behind


@pytest.fixture
def clips(tmp_path):
    return [make_video(tmp_path / "clips" / f"c{k}.mp4", num_frames=8, height=48, width=64, seed=k) for k in range(4)]


def test_interrupted_score_keeps_every_row_scored_and_says_how_many(tmp_path, checkpoint, clips, capsys, monkeypatch):
    ckpt, method = checkpoint
    out = tmp_path / "scores.csv"
    (tmp_path / "clips" / "notes.txt").write_text("not a video")
    calls, on_disk = [], []
    real = type(method).score

    def interrupt_third(self, items, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # Ctrl-C while the third video is scored
            on_disk.append(read_rows(out))
            raise KeyboardInterrupt
        return real(self, items, **kwargs)

    monkeypatch.setattr(type(method), "score", interrupt_third)
    args = parse(str(tmp_path / "clips"), "--checkpoint", str(ckpt), "--out", str(out), "--no-progress", "--device", "cpu")
    assert args.func(args) == 130
    assert sorted(on_disk[0]) == [str(clips[0]), str(clips[1])]  # on disk before the interrupt came
    rows = read_rows(out)
    assert [r["status"] for r in rows.values()] == ["ok", "ok", "skipped"]
    assert float(rows[str(clips[0])]["score"]) == pytest.approx(method.predict([clips[0]])[0], abs=1e-5)
    err = capsys.readouterr().err
    assert f"interrupted after scoring 2 of 4 video(s); 3 row(s) written to {out} (2 scored, 1 skipped)" in err
    assert not (tmp_path / ".scores.csv.lock").exists()


def test_existing_out_is_refused_unless_append_or_overwrite(tmp_path, checkpoint, clips, capsys):
    ckpt, _ = checkpoint
    out = tmp_path / "scores.csv"

    def score(*videos, flags=()):
        args = parse(*map(str, videos), "--checkpoint", str(ckpt), "--out", str(out), "--no-progress",
                     "--device", "cpu", *flags)
        return args.func(args)

    assert score(clips[0], clips[1]) == 0
    first = out.read_text()
    assert score(clips[2]) == 2
    assert "already exists (2 row(s)); pass --append" in capsys.readouterr().err
    assert out.read_text() == first  # untouched
    assert score(clips[2], flags=["--append"]) == 0
    assert list(read_rows(out)) == [str(clips[0]), str(clips[1]), str(clips[2])]
    assert out.read_text().count("path,status,score") == 1
    assert score(clips[3], flags=["--overwrite"]) == 0
    assert list(read_rows(out)) == [str(clips[3])]
    with pytest.raises(SystemExit):  # one or the other
        parse(str(clips[0]), "--checkpoint", str(ckpt), "--append", "--overwrite")
    foreign = tmp_path / "other.csv"
    foreign.write_text("a,b\n1,2\n")
    args = parse(str(clips[0]), "--checkpoint", str(ckpt), "--out", str(foreign), "--append", "--no-progress")
    assert args.func(args) == 2
    assert "has other columns (a,b)" in capsys.readouterr().err and foreign.read_text() == "a,b\n1,2\n"


def test_a_second_writer_of_one_out_is_refused_naming_the_first(tmp_path, checkpoint, clips, capsys):
    from vqa_bench.locks import exclusive_lock

    ckpt, _ = checkpoint
    out = tmp_path / "scores.csv"
    with exclusive_lock(tmp_path / ".scores.csv.lock", what="x", advice="", command="vqa score"):
        args = parse(str(clips[0]), "--checkpoint", str(ckpt), "--out", str(out), "--no-progress")
        assert args.func(args) == 2
    err = capsys.readouterr().err
    assert f"--out {out} is in use by process {os.getpid()} (vqa score" in err
    assert not out.exists()


def test_a_video_and_the_checkpoint_are_each_read_once(tmp_path, checkpoint, monkeypatch):
    """`vqa score` probes its inputs and the method's dataset needs the frame count again; the
    method name is checked before the method is built: neither costs a second read."""
    import vqa_core.method as method_package
    from vqa_core.method import base
    from vqa_core.method import checkpoint as checkpoint_module
    from vqa_core.video import forget_probes, info

    ckpt, _ = checkpoint
    video = make_video(tmp_path / "x.mp4", num_frames=8, height=48, width=64)
    reads: list[Path] = []
    probes: list[Path] = []
    real_read, real_probe = checkpoint_module.read_method_checkpoint, info._probe_container

    def counting_read(path):
        reads.append(Path(path))
        return real_read(path)

    def counting_probe(path, exact):
        probes.append(Path(path))
        return real_probe(path, exact)

    for module in (method_package, base, checkpoint_module):  # every name it is imported under
        monkeypatch.setattr(module, "read_method_checkpoint", counting_read)
    monkeypatch.setattr(info, "_probe_container", counting_probe)
    forget_probes()
    out = tmp_path / "s.csv"
    args = parse(str(video), "--checkpoint", str(ckpt), "--out", str(out), "--no-progress", "--device", "cpu")
    assert args.func(args) == 0
    assert read_rows(out)[str(video)]["status"] == "ok"
    assert reads == [ckpt]
    assert probes == [video]
