"""Run under `torchrun --nproc_per_node 2`: a tiny SSL-VQA / QASA-VQA fit on CPU (gloo).

Used by test_method.py::test_ddp_fit (not collected by pytest itself). Rank 0 writes what it saw.
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
from pathlib import Path

import torch

from ssl_vqa.method import QasaMethod, SslMethod
from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.train import cleanup_distributed, dist_info


def main() -> None:
    faulthandler.dump_traceback_later(float(os.environ.get("DDP_SCRIPT_TIMEOUT", "480")), exit=True)
    name, out = sys.argv[1], Path(sys.argv[2])
    paths = [Path(p) for p in sys.argv[3:]]
    items = [ManifestItem(p.stem, p, float(100 - 7 * i), "train", {"version": 0 if i < 2 else 1})
             for i, p in enumerate(paths)]
    cls = {"ssl": SslMethod, "qasa": QasaMethod}[name]
    torch.manual_seed(0)
    method = cls(load_config(cls.config_class, "tiny", ["semi.labelled=4"]), device="cpu")
    history = method.fit(items[:6], items[6:], out / "work", progress=False)
    scores = method.predict(items)
    if dist_info().is_main:
        (out / "result.json").write_text(json.dumps({
            "steps": history["history"][-1]["step"], "pred_n": len(scores),
            "finite": bool(torch.isfinite(torch.as_tensor(scores)).all()),
        }))
    cleanup_distributed()


if __name__ == "__main__":
    main()
