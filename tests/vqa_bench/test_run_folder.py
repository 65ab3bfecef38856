"""#16.3 and #16.7 on the bench side: one run per folder (lock, identity), no empty folder after
a config error, time of interrupted attempts counted, stale temporaries swept, umask modes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vqa_bench.cli import main
from vqa_bench.locks import LockHeldError, exclusive_lock
from vqa_bench.runner import BenchRunner, BenchSettings
from vqa_bench.task import AttemptClock


def settings(tmp_path: Path, **kw) -> BenchSettings:
    base = dict(
        methods=["toy-ridge"],
        datasets=["toy"],
        config="tiny",
        splits=2,
        out=tmp_path / "runs",
        device="cpu",
        progress=False,
    )
    base.update(kw)
    return BenchSettings(**base)


HOLDER = """
import sys, time
from vqa_bench.locks import exclusive_lock
with exclusive_lock(sys.argv[1], what="test", advice="", command="holder-under-test"):
    print("locked", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def holder():
    """Start a process that holds the lock file given to it; yields (start, stop)."""
    procs = []

    def start(path: Path) -> subprocess.Popen:
        path.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdout=subprocess.PIPE, text=True)
        procs.append(proc)
        assert proc.stdout.readline().strip() == "locked"
        return proc

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()


def test_a_second_bench_on_a_locked_run_folder_is_refused_naming_the_holder(
    tmp_path, toy_manifest, toy_method, holder
):
    s = settings(tmp_path)
    proc = holder(s.run_dir / ".lock")
    with pytest.raises(LockHeldError) as err:
        BenchRunner(s, manifests={"toy": toy_manifest}).run()
    message = str(err.value)
    assert f"run folder {s.run_dir}" in message and f"process {proc.pid}" in message
    assert "holder-under-test" in message and "--run-name" in message
    assert toy_method.fit_calls == 0 and not (s.run_dir / "run.json").exists()
    proc.send_signal(signal.SIGKILL)  # a holder that dies outright releases the lock
    proc.wait()
    BenchRunner(s, manifests={"toy": toy_manifest}).run()
    assert toy_method.fit_calls == 2
    assert not (s.run_dir / ".lock").exists()  # removed when the run ends


def test_lock_is_exclusive_between_processes_and_reentrant_after_release(tmp_path, holder):
    lock = tmp_path / "x.lock"
    proc = holder(lock)
    with (
        pytest.raises(LockHeldError, match=rf"process {proc.pid} .*holds the lock {lock}\. do this"),
        exclusive_lock(lock, what="thing", advice="do this"),
    ):
        pass
    proc.terminate()
    proc.wait()
    with exclusive_lock(lock, what="thing", advice="") as path:
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_a_config_error_leaves_no_run_folder(tmp_path, toy_manifest, toy_method, capsys):
    csv_path = tmp_path / "data" / "toy.csv"
    toy_manifest.to_csv(csv_path)
    cfg = tmp_path / "typo.yaml"
    cfg.write_text("frames: 3\nframez: 4\n")
    code = main(
        [
            "--method",
            "toy-ridge",
            "--dataset",
            str(csv_path),
            "--config",
            str(cfg),
            "--splits",
            "2",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "runs"),
            "--no-progress",
        ]
    )
    assert code == 1
    err = capsys.readouterr().err
    assert str(cfg) in err and "framez" in err
    assert not (tmp_path / "runs").exists()


def test_a_folder_without_task_results_takes_the_new_identity(tmp_path, toy_manifest, toy_method):
    import shutil

    BenchRunner(settings(tmp_path, run_name="r"), manifests={"toy": toy_manifest}).run()
    shutil.rmtree(tmp_path / "runs" / "r" / "toy-ridge")  # e.g. a run that failed before its first task
    metrics = BenchRunner(settings(tmp_path, run_name="r", seed=7), manifests={"toy": toy_manifest}).run()
    assert metrics["run"]["seed"] == 7
    assert json.loads((tmp_path / "runs" / "r" / "identity.json").read_text())["run"]["seed"] == 7


@pytest.fixture
def slow_then_interrupted(toy_method):
    """A toy method whose first fit spends 0.6 s and is then interrupted (Ctrl-C)."""
    from vqa_core.method import METHODS

    class SlowToy(toy_method):
        name = "toy-slow"
        interrupted_once = False

        def fit(self, train, val, work_dir, **kw):
            if not SlowToy.interrupted_once:
                SlowToy.interrupted_once = True
                time.sleep(0.6)
                raise KeyboardInterrupt
            return super().fit(train, val, work_dir, **kw)

    METHODS.register("toy-slow", SlowToy)
    yield SlowToy
    METHODS.unregister("toy-slow")


def test_a_resumed_run_counts_the_time_spent_before_the_interrupt(
    tmp_path, toy_manifest, slow_then_interrupted
):
    s = settings(tmp_path, methods=["toy-slow"], splits=1)
    with pytest.raises(KeyboardInterrupt):
        BenchRunner(s, manifests={"toy": toy_manifest}).run()
    task_dir = s.run_dir / "toy-slow" / "split_00"
    assert json.loads((task_dir / "attempt.json").read_text())["interrupted_seconds"] >= 0.6
    metrics = BenchRunner(s, manifests={"toy": toy_manifest}).run()
    result = json.loads((task_dir / "result.json").read_text())
    assert result["interrupted_seconds"] >= 0.6
    spent = result["interrupted_seconds"] + result["fit_seconds"] + sum(result["predict_seconds"].values())
    entry = metrics["methods"]["toy-slow"]
    pretrain = sum(p["seconds"] for p in entry["pretrain"].values())
    assert entry["wall_seconds"] == pytest.approx(spent + pretrain, abs=1e-3)
    assert not (task_dir / "attempt.json").exists()


def test_an_attempt_killed_outright_counts_up_to_its_last_write(tmp_path):
    task_dir = tmp_path / "split_00"
    (task_dir / "work").mkdir(parents=True)
    now = time.time()
    (task_dir / "attempt.json").write_text(
        json.dumps({"interrupted_seconds": 2.0, "running_since": now - 100})
    )
    ckpt = task_dir / "work" / "last.pt"
    ckpt.write_bytes(b"x")
    os.utime(ckpt, (now - 40, now - 40))
    os.utime(task_dir / "attempt.json", (now - 100, now - 100))
    assert AttemptClock(task_dir / "attempt.json").start() == pytest.approx(2.0 + 60.0, abs=0.5)


def test_stale_temporaries_are_swept_and_files_follow_the_umask(tmp_path, toy_manifest, toy_method):
    s = settings(tmp_path)
    stale = s.run_dir / "toy-ridge" / "split_00" / "model.pt.otherhost-1.abc.tmp"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half a checkpoint")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    previous = os.umask(0o022)
    try:
        BenchRunner(s, manifests={"toy": toy_manifest}).run()
    finally:
        os.umask(previous)
    assert not stale.exists()
    for name in ("result.json", "predictions.csv", "model.pt"):
        assert (s.run_dir / "toy-ridge" / "split_00" / name).stat().st_mode & 0o777 == 0o644, name
    assert (s.run_dir / "metrics.json").stat().st_mode & 0o777 == 0o644


def test_a_folder_from_before_identity_json_is_compared_on_its_run_json(tmp_path, toy_manifest, toy_method):
    from vqa_bench.identity import RunIdentityError

    BenchRunner(settings(tmp_path, run_name="old"), manifests={"toy": toy_manifest}).run()
    (tmp_path / "runs" / "old" / "identity.json").unlink()  # as written by an earlier vqa-bench
    with pytest.raises(RunIdentityError, match=r"seed: 123 there, 7 now"):
        BenchRunner(settings(tmp_path, run_name="old", seed=7), manifests={"toy": toy_manifest}).run()
    toy_method.fit_calls = 0
    BenchRunner(
        settings(tmp_path, run_name="old"), manifests={"toy": toy_manifest}
    ).run()  # same run: resumes
    assert toy_method.fit_calls == 0 and (tmp_path / "runs" / "old" / "identity.json").is_file()
