"""Outputs through the real entry points: a bad `--out` fails at once, Ctrl-C keeps the rows,
a second writer is refused naming the first, a SIGKILLed bench resumes to the same numbers
(#16.2, #16.3, and what held before: resume after SIGKILL)."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import time
from pathlib import Path

import pytest

from vqa_core.testing import make_video

FAST_SECONDS = 10.0  # checks that happen before torch is imported
RUN_SECONDS = 60.0  # a subprocess that imports torch (4-5 s on two busy cores) and fits a toy model


class Gate:
    """A folder the gated toy method waits on before its `on` ("fit" or "score") call number
    free + 1: `hold` present = wait; it writes `waiting` when it gets there."""

    def __init__(self, folder: Path, on: str, free: int = 0) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "hold").write_text("")
        self.env = {"VQA_TOY_GATE": str(folder), "VQA_TOY_GATE_ON": on, "VQA_TOY_GATE_FREE": str(free)}

    def wait_until_reached(self, proc: subprocess.Popen, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not (self.folder / "waiting").exists():
            if proc.poll() is not None:
                raise AssertionError(f"the process ended before reaching the gate:\n{proc.stderr.read()}")
            if time.monotonic() > deadline:
                raise AssertionError("the gate was not reached")
            time.sleep(0.05)

    def release(self) -> None:
        (self.folder / "hold").unlink()


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> list[Path]:
    d = tmp_path_factory.mktemp("clips")
    return [make_video(d / f"c{k}.mp4", num_frames=8, height=48, width=64, seed=k) for k in range(4)]


@pytest.mark.parametrize("case", ["a folder", "a missing parent", "an unwritable place"])
def test_a_bad_out_fails_in_one_line_before_any_work(cli, checkpoint, clips, tmp_path, case):
    if case == "an unwritable place":
        ro = tmp_path / "read-only"
        ro.mkdir()
        ro.chmod(0o500)
        out = next((f / "scores.csv" for f in (ro, Path("/sys")) if not _writable(f)), None)
        if out is None:
            pytest.skip("no folder here refuses writes")
    else:
        out = {"a folder": tmp_path, "a missing parent": tmp_path / "nope" / "scores.csv"}[case]
    run = cli(
        f"--out is {case}: vqa score",
        "vqa",
        "score",
        *clips,
        "--checkpoint",
        checkpoint,
        "--out",
        out,
        "--device",
        "cpu",
        "--no-progress",
    )
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"vqa score: error: --out {out}"), run.stderr
    cause = {
        "a folder": "is a folder",
        "a missing parent": "does not exist",
        "an unwritable place": "cannot write",
    }
    assert cause[case] in lines[0]
    assert run.seconds < FAST_SECONDS


def _writable(folder: Path) -> bool:
    try:
        (folder / ".probe").touch()
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


def test_ctrl_c_keeps_the_rows_scored_and_says_how_many(cli, checkpoint, clips, tmp_path):
    gate = Gate(tmp_path / "gate", "score", free=2)  # two videos pass, the third waits
    out = tmp_path / "scores.csv"
    proc = cli.start(
        "vqa",
        "score",
        *clips,
        "--checkpoint",
        checkpoint,
        "--out",
        out,
        "--device",
        "cpu",
        "--no-progress",
        env=gate.env,
    )
    gate.wait_until_reached(proc)
    proc.send_signal(signal.SIGINT)
    run = cli.finish("SIGINT after 2 of 4 videos: vqa score", proc)
    assert run.returncode == 130
    rows = read_rows(out)
    assert [r["path"] for r in rows] == [str(clips[0]), str(clips[1])] and {r["status"] for r in rows} == {
        "ok"
    }
    assert f"interrupted after scoring 2 of 4 video(s); 2 row(s) written to {out}" in run.stderr


def test_two_vqa_score_runs_on_one_out_never_lose_rows(cli, checkpoint, clips, tmp_path):
    gate = Gate(tmp_path / "gate", "score")
    out = tmp_path / "scores.csv"
    first = cli.start(
        "vqa",
        "score",
        clips[0],
        "--checkpoint",
        checkpoint,
        "--out",
        out,
        "--device",
        "cpu",
        "--no-progress",
        env=gate.env,
    )
    gate.wait_until_reached(first)  # the first run holds --out and is scoring
    second = cli(
        "a second writer of one --out while the first runs: vqa score",
        "vqa",
        "score",
        clips[1],
        "--checkpoint",
        checkpoint,
        "--out",
        out,
        "--device",
        "cpu",
        "--no-progress",
    )
    assert second.returncode == 2
    assert f"--out {out} is in use by process {first.pid}" in second.stderr, second.stderr
    gate.release()
    assert first.wait(timeout=60) == 0
    assert [r["path"] for r in read_rows(out)] == [str(clips[0])]
    again = cli(
        "a second writer of one --out after the first: vqa score",
        "vqa",
        "score",
        clips[1],
        "--checkpoint",
        checkpoint,
        "--out",
        out,
        "--device",
        "cpu",
        "--no-progress",
    )
    assert again.returncode == 2 and "already exists (1 row(s)); pass --append" in again.stderr
    appended = cli(
        "--append to an existing --out: vqa score",
        "vqa",
        "score",
        clips[1],
        "--checkpoint",
        checkpoint,
        "--out",
        out,
        "--append",
        "--device",
        "cpu",
        "--no-progress",
    )
    assert appended.returncode == 0
    assert [r["path"] for r in read_rows(out)] == [str(clips[0]), str(clips[1])]
    assert again.seconds < RUN_SECONDS and second.seconds < RUN_SECONDS


def _bench_args(toy_csv: Path, out: Path, method: str = "toy-gated", splits: int = 2) -> list:
    return [
        "--method",
        method,
        "--dataset",
        toy_csv,
        "--group-by",
        "scene",
        "--config",
        "tiny",
        "--splits",
        str(splits),
        "--device",
        "cpu",
        "--out",
        out,
        "--no-progress",
    ]


def test_a_second_bench_on_one_run_folder_is_refused_naming_the_first(cli, toy_csv, tmp_path):
    gate = Gate(tmp_path / "gate", "fit")
    out = tmp_path / "runs"
    first = cli.start("bench", *_bench_args(toy_csv, out), env=gate.env)
    gate.wait_until_reached(first)
    second = cli("a second bench on one run folder while the first runs", "bench", *_bench_args(toy_csv, out))
    assert second.returncode == 1
    assert f"run folder {out / 'toy-intra-tiny'} is in use by process {first.pid}" in second.stderr, (
        second.stderr
    )
    assert "--run-name" in second.stderr
    gate.release()
    assert first.wait(timeout=120) == 0
    assert second.seconds < RUN_SECONDS


def test_a_rerun_with_another_seed_is_refused_not_mixed(cli, toy_csv, tmp_path):
    out = tmp_path / "runs"
    assert cli("a clean bench run", "bench", *_bench_args(toy_csv, out, "toy-ridge")).returncode == 0
    metrics = (out / "toy-intra-tiny" / "metrics.json").read_text()
    run = cli(
        "a rerun with another --seed into the same folder: bench",
        "bench",
        *_bench_args(toy_csv, out, "toy-ridge"),
        "--seed",
        "7",
    )
    assert run.returncode == 1
    assert "seed: 123 there, 7 now" in run.stderr and "--run-name" in run.stderr, run.stderr
    assert (out / "toy-intra-tiny" / "metrics.json").read_text() == metrics
    assert run.seconds < RUN_SECONDS


def _numbers(run_dir: Path) -> dict:
    out = {}
    for result in sorted(run_dir.glob("toy-gated/split_*/result.json")):
        data = json.loads(result.read_text())
        out[result.parent.name] = (data["metrics"], (result.parent / "predictions.csv").read_text())
    return out


def test_a_bench_killed_with_sigkill_resumes_to_the_same_numbers(cli, toy_csv, tmp_path):
    gate = Gate(tmp_path / "gate", "fit", free=1)  # split_00 trains, split_01 waits
    out = tmp_path / "runs"
    run_dir = out / "toy-intra-tiny"
    proc = cli.start("bench", *_bench_args(toy_csv, out, splits=3), env=gate.env)
    gate.wait_until_reached(proc)
    proc.send_signal(signal.SIGKILL)
    assert cli.finish("SIGKILL of a bench run while it trains split_01", proc).returncode == -signal.SIGKILL
    assert (run_dir / "toy-gated" / "split_00" / "result.json").is_file()
    assert not (run_dir / "toy-gated" / "split_01" / "result.json").exists()
    resumed = cli("resume after SIGKILL of a bench run", "bench", *_bench_args(toy_csv, out, splits=3))
    assert resumed.returncode == 0, resumed.stderr
    assert "toy-gated/split_00: finished earlier, kept" in resumed.stderr
    assert not list(run_dir.rglob("*.tmp")) and not (run_dir / ".lock").exists()
    fresh = cli(
        "the same bench uninterrupted", "bench", *_bench_args(toy_csv, out, splits=3), "--run-name", "fresh"
    )
    assert fresh.returncode == 0
    assert _numbers(run_dir) == _numbers(out / "fresh") and len(_numbers(run_dir)) == 3
    assert resumed.seconds < RUN_SECONDS
