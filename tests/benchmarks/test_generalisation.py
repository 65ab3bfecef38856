"""`benchmarks/generalisation.py` end to end on two generated scenes with the sharpness floor:
every ladder is written at its strengths, scored, and summarised; blur makes sharpness fall."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vqa_core.distort.clip_io import LOSSLESS_H264
from vqa_core.testing import make_video

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "generalisation.py"


def _scene(path: Path, seed: int) -> Path:
    """A textured pan: noise blurred a little, shifted 2 px per frame (interpolation has motion to do)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, size=(64, 140, 3)).astype(np.float32)
    base = (base + np.roll(base, 1, 0) + np.roll(base, 1, 1)) / 3
    frames = np.stack([base[:, 2 * t : 2 * t + 96] for t in range(12)]).astype(np.uint8)
    return make_video(path, frames=frames, options=dict(LOSSLESS_H264))


def test_probe_scores_every_ladder_and_blur_lowers_the_sharpness_floor(tmp_path: Path) -> None:
    from vqa_floors.method import SharpnessMethod

    sources = [_scene(tmp_path / "src" / f"scene{i}.mp4", i) for i in range(2)]
    floor = SharpnessMethod("tiny", device="cpu")
    floor.init_for_scoring()
    checkpoint = floor.save(tmp_path / "sharpness.pt")
    out = tmp_path / "probe"
    cmd = [sys.executable, str(SCRIPT), "--checkpoint", str(checkpoint), "--out", str(out), "--no-progress"]
    env = dict(os.environ, VQA_ZOO_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(
        [*cmd, "--sources", *map(str, sources)], env=env, capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads((out / "generalisation.json").read_text())
    ladders = result["ladders"]
    assert result["method"] == "sharpness"
    assert set(ladders) == {"h264", "mpeg2", "pyramid_blur", "gaussian_blur", "fps_interp", "fps_hold"}
    assert ladders["fps_hold"]["mean_score"].keys() == {"0", "2", "3", "4", "6"}
    for name in ("pyramid_blur", "gaussian_blur"):  # stronger blur, lower Laplacian variance, every scene
        assert ladders[name]["median_rho"] == pytest.approx(-1.0) and ladders[name]["scenes_falling"] == 2, ladders[name]
    rows = (out / "scores.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * (6 + 6 + 6 + 5 + 6 + 5)  # header, 2 scenes x (pristine + settings) per ladder
    # the clips are kept and reused by a second run
    clips = sorted((out / "videos").iterdir())
    before = [c.stat().st_mtime_ns for c in clips]
    assert (
        subprocess.run(
            [*cmd, "--sources", *map(str, sources)], env=env, capture_output=True, timeout=600
        ).returncode
        == 0
    )
    assert [c.stat().st_mtime_ns for c in sorted((out / "videos").iterdir())] == before
