"""`benchmarks/gpu_check.py` on a CPU: a few training steps and one scoring pass per method, at
the tiny presets, with every reported field present and sane."""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu_check.py"
FIELDS = {"status", "train_videos", "fit_s", "score_s", "score_videos", "scores_finite", "steps", "steps_per_epoch",
          "steps_per_s", "train_s", "loss_first", "loss_last", "loss_went_down", "peak_memory_mb"}  # fmt: skip


def run_check(tmp_path: Path, *args: str) -> dict:
    out = tmp_path / "gpu_check.json"
    cmd = [sys.executable, str(SCRIPT), "--preset", "tiny", "--device", "cpu", "--out", str(out), *args]
    env = dict(os.environ, VQA_ZOO_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert out.with_suffix(".md").read_text().count("| ok |") >= 1
    return json.loads(out.read_text())


def check_learned(name: str, r: dict, steps: int) -> None:
    assert set(r) == FIELDS and r["status"] == "ok", (name, r)
    assert r["steps"] == steps and r["steps_per_epoch"] == 1, (name, r)  # one batch per epoch: per-step losses
    assert r["steps_per_s"] > 0 and r["train_s"] > 0 and r["fit_s"] >= r["train_s"]
    assert math.isfinite(r["loss_first"]) and math.isfinite(r["loss_last"])
    assert r["loss_went_down"] == (r["loss_last"] < r["loss_first"])
    assert r["score_s"] > 0 and r["score_videos"] == 2 and r["scores_finite"]
    assert r["peak_memory_mb"] > 100  # a process with torch loaded holds more than this


def test_one_floor_and_one_learned_method(tmp_path: Path) -> None:
    result = run_check(tmp_path, "--methods", "sharpness", "str", "--steps", "2")
    assert (result["device"], result["preset"], result["precision"], result["steps"]) == ("cpu", "tiny", "fp32", 2)
    assert result["memory_kind"].startswith("process max RSS") and result["machine"]["cpu"]
    glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert result["allocator"] == ("reuse" if glibc else "system")  # as `vqa` and `bench` run
    assert set(result["methods"]) == {"sharpness", "str"}
    check_learned("str", result["methods"]["str"], 2)
    floor = result["methods"]["sharpness"]
    assert floor["status"] == "ok" and floor["steps"] is None and floor["loss_first"] is None  # closed-form fit
    assert floor["score_s"] > 0 and floor["scores_finite"]


@pytest.mark.slow
def test_every_method_at_tiny_in_bf16(tmp_path: Path) -> None:
    from vqa_core.method import list_methods

    result = run_check(tmp_path, "--steps", "2", "--precision", "bf16")
    assert set(result["methods"]) == set(list_methods())
    for name, r in result["methods"].items():
        assert r["status"] == "ok", (name, r.get("error"))
        if r["steps"] is not None:
            check_learned(name, r, 2)
