"""`benchmarks/allocator_speed.py`: both allocator settings run through gpu_check and are compared
per method (tiny preset, CPU)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "allocator_speed.py"


@pytest.mark.slow
@pytest.mark.skipif(
    not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"), reason="compares glibc settings"
)
def test_both_settings_are_measured_and_compared(tmp_path: Path) -> None:
    out = tmp_path / "alloc.json"
    cmd = [sys.executable, str(SCRIPT), "--methods", "str", "--preset", "tiny", "--steps", "2", "--out", str(out)]
    env = dict(os.environ, VQA_ZOO_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    row = json.loads(out.read_text())["methods"]["str"]
    assert row["system_steps_per_s"] > 0 and row["reuse_steps_per_s"] > 0
    assert row["speedup"] == pytest.approx(row["reuse_steps_per_s"] / row["system_steps_per_s"])
    assert row["system_peak_memory_mb"] > 100 and row["reuse_peak_memory_mb"] > 100
    assert "| str |" in out.with_suffix(".md").read_text()


def test_refuses_no_runs() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--repeats", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and "--steps and --repeats must be >= 1" in proc.stderr
