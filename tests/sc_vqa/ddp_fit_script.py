"""Run under `torchrun --nproc_per_node 2`: a tiny SC-VQA fit on CPU (gloo); rank 0 writes what it saw.

Used by test_ddp.py (not collected by pytest itself).
"""

from __future__ import annotations

import faulthandler
import os
import sys
from pathlib import Path

import torch

from saliency_core import model as saliency_model_module
from sc_vqa.method import ScMethod
from vqa_core.datasets import ManifestItem
from vqa_core.train import cleanup_distributed, dist_info


def main() -> None:
    faulthandler.dump_traceback_later(float(os.environ.get("DDP_SCRIPT_TIMEOUT", "480")), exit=True)
    out = Path(sys.argv[1])
    paths = [Path(p) for p in sys.argv[2:]]
    items = [
        ManifestItem(video_id=p.stem, path=p, mos=float(100 - 6 * i), split="train", extra={})
        for i, p in enumerate(paths)
    ]
    method = ScMethod("tiny", device="cpu", cache_dir=out / "cache")
    torch.manual_seed(0)
    method.use_saliency_model(saliency_model_module.build_model("tiny"))
    history = method.fit(items[:4], items[4:], out / "work", progress=False)
    scores = method.predict(items)
    # every rank must hold the same weights after training (DDP kept the replicas in sync)
    total = torch.stack([p.detach().double().sum() for p in method.model.parameters()]).sum()
    if dist_info().is_main:
        (out / "result.txt").write_text(
            f"val_n={int(history['val_metrics']['n'])} pred_n={len(scores)} rank0_sum={float(total):.10e}\n"
        )
    else:
        (out / "rank1.txt").write_text(f"rank1_sum={float(total):.10e}\n")
    cleanup_distributed()


if __name__ == "__main__":
    main()
