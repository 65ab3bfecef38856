"""SC-VQA under torchrun: two CPU ranks (gloo) train one model; validation covers each item once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from vqa_core.testing import make_video


@pytest.mark.slow
def test_ddp_fit_keeps_replicas_in_sync_and_validates_every_item_once(tmp_path: Path) -> None:
    paths = [
        str(make_video(tmp_path / f"v{i}.mp4", num_frames=12, height=48, width=64, seed=i)) for i in range(8)
    ]
    out = tmp_path / "ddp"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(Path(__file__).with_name("ddp_fit_script.py")), str(out), *paths,
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = dict(kv.split("=") for kv in (out / "result.txt").read_text().split())
    assert result["val_n"] == "4"
    assert result["pred_n"] == "8"
    rank1 = dict(kv.split("=") for kv in (out / "rank1.txt").read_text().split())
    assert rank1["rank1_sum"] == result["rank0_sum"]
