"""`benchmarks/clip_store_speed.py`: decode against the store of decoded clips, on generated videos."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vqa_core.testing import make_video

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "clip_store_speed.py"


def test_decode_and_store_are_timed_on_the_same_clips(tmp_path: Path) -> None:
    manifest = tmp_path / "videos.csv"
    paths = [make_video(tmp_path / f"v{k}.mp4", num_frames=20, height=48, width=64, seed=k) for k in range(3)]
    manifest.write_text(f"path\n{paths[0]}\n{paths[1].name}\n{paths[2]}\n")  # absolute or relative to the CSV
    out = tmp_path / "store.json"
    cmd = [sys.executable, str(SCRIPT), "--manifest", str(manifest), "--frames", "4", "--window", "2",
           "--repeats", "2", "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    r = json.loads(out.read_text())["result"]
    assert r["videos"] == 3 and r["frames_per_clip"] == 8
    assert r["decode_s_per_clip"] > 0 and r["store_read_back_s_per_clip"] > 0
    assert r["read_back_speedup"] == pytest.approx(r["decode_s_per_clip"] / r["store_read_back_s_per_clip"])
    assert r["disk_mb"] == pytest.approx(3 * 8 * 48 * 64 * 3 / 2**20, rel=0.01)  # uint8 frames + .npy headers
    assert "| store, read back" in out.with_suffix(".md").read_text()


def test_refuses_no_videos() -> None:
    proc = subprocess.run([sys.executable, str(SCRIPT), "--videos", "0"], capture_output=True, text=True)
    assert proc.returncode == 2 and "must be >= 1" in proc.stderr
