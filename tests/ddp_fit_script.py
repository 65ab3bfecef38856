"""Run under `torchrun --nproc_per_node 2`: fit any registered method's tiny preset on CPU (gloo).

    python -m torch.distributed.run --standalone --nproc_per_node 2 tests/ddp_fit_script.py SPEC.json OUT/

SPEC.json: {"method", "overrides" (dotted key -> value), "train" / "val" / "test": [items]}.
Each rank writes OUT/rank<r>.json: how many videos it scored, whether all are finite, its scores,
a checksum of the method's state (equal on both ranks when DDP kept the replicas in sync), the
number of validated items and of optimiser steps when the fit history reports them. Used by
tests/test_method_contract.py (not collected by pytest itself).
"""

from __future__ import annotations

import faulthandler
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.method import get_method
from vqa_core.train import cleanup_distributed, dist_info, seed_everything


def state_sum(state: Any) -> float:
    """Sum of every floating tensor in a (nested) method state, in float64."""
    if isinstance(state, torch.Tensor):
        return float(state.double().sum()) if state.is_floating_point() else 0.0
    if isinstance(state, Mapping):
        return sum(state_sum(v) for v in state.values())
    return 0.0


def main() -> None:
    faulthandler.dump_traceback_later(float(os.environ.get("DDP_SCRIPT_TIMEOUT", "840")), exit=True)
    spec = json.loads(Path(sys.argv[1]).read_text())
    out = Path(sys.argv[2])
    parts = {k: [ManifestItem(d["video_id"], Path(d["path"]), d["mos"], d["split"], d["extra"]) for d in spec[k]]
             for k in ("train", "val", "test")}  # fmt: skip
    cls = get_method(spec["method"])
    seed_everything(0)
    method = cls(load_config(cls.config_class, "tiny", spec["overrides"]), device="cpu")
    history = method.fit(parts["train"], parts["val"], out / "work", progress=False)
    scores = method.predict(parts["train"] + parts["val"] + parts["test"])
    info = dist_info()
    val = history.get("val_metrics") or {}
    steps = history["history"][-1].get("step") if history.get("history") else None
    out.mkdir(parents=True, exist_ok=True)
    (out / f"rank{info.rank}.json").write_text(json.dumps({
        "pred_n": len(scores),
        "finite": bool(torch.isfinite(torch.as_tensor(scores)).all()),
        "scores": [float(s) for s in scores],
        "state_sum": state_sum(method.state_dict()),
        "val_n": int(val["n"]) if "n" in val else None,
        "steps": steps,
    }))  # fmt: skip
    cleanup_distributed()


if __name__ == "__main__":
    main()
