"""bf16 against fp32 scoring of one trained checkpoint (issue #18, part 2): what the score moves.

Scores the same videos with the checkpoint as trained (fp32) and with `trainer.precision=bf16`
(`vqa_core.train.with_precision`, what `vqa score --precision bf16` does), and reports the largest
absolute score difference, the SRCC between the two score vectors, each one's SRCC against the MOS
where the videos come from a `predictions.csv` (a bench run's test part), and the speed ratio of
the networks' seconds (`model_s`) and of the wall time. One warm-up call of each precision first
(it also fills the saliency map cache, which both precisions share: saliency maps are made in
fp32), then `--repeats` alternating rounds; medians are kept.

    uv run --frozen bench --method dagr --dataset demo --config tiny --splits 1 --out runs/dagr-tiny
    uv run --frozen python benchmarks/bf16_scores.py \\
        --predictions runs/dagr-tiny/demo-intra-tiny/dagr/split_00/predictions.csv \\
        --checkpoint runs/dagr-tiny/demo-intra-tiny/dagr/split_00/model.pt --videos 20
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats


def timed_scores(method: Any, videos: Sequence[Path]) -> tuple[np.ndarray, float, float]:
    """Scores, summed model seconds and wall seconds of one `score` call."""
    t0 = time.perf_counter()
    report = method.score(list(videos))
    wall = time.perf_counter() - t0
    failed = [e for e in report.errors if e is not None]
    if failed:
        raise RuntimeError(f"scoring failed: {failed[0]}")
    return report.scores, float(np.nansum(report.model_s)), wall


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--checkpoint", type=Path, required=True, help="a method checkpoint (bench's model.pt)")
    p.add_argument("--predictions", type=Path, required=True, help="a bench predictions.csv: its videos and MOS")
    p.add_argument("--videos", type=int, default=20, help="the first N videos of the predictions (default 20)")
    p.add_argument("--repeats", type=int, default=3, help="alternating timed rounds after the warm-up")
    p.add_argument("--device", default="cpu")
    p.add_argument("--out", type=Path, help="write the result JSON here")
    args = p.parse_args(argv)
    from vqa_core.method import Method
    from vqa_core.train import with_precision

    rows = list(csv.DictReader(args.predictions.open()))[: args.videos]
    videos, mos = [Path(r["path"]) for r in rows], np.array([float(r["mos"]) for r in rows])
    fp32 = Method.load(args.checkpoint, device=args.device)
    bf16 = Method.load(args.checkpoint, device=args.device)
    bf16.config = with_precision(bf16.config, "bf16")
    runs: dict[str, list[tuple[np.ndarray, float, float]]] = {"fp32": [], "bf16": []}
    methods = {"fp32": fp32, "bf16": bf16}
    for r in range(-1, args.repeats):  # round -1: warm-up (fills the shared map cache), not kept
        for name in ("fp32", "bf16") if r % 2 else ("bf16", "fp32"):
            result = timed_scores(methods[name], videos)
            if r >= 0:
                runs[name].append(result)
    a, b = runs["fp32"][0][0], runs["bf16"][0][0]
    assert all(np.array_equal(a, x[0]) for x in runs["fp32"]), "fp32 scores are not deterministic"
    med = {k: (statistics.median(x[1] for x in v), statistics.median(x[2] for x in v)) for k, v in runs.items()}
    result = {
        "checkpoint": str(args.checkpoint),
        "method": fp32.name,
        "videos": len(videos),
        "cpu_bf16": sorted(
            {f for f in Path("/proc/cpuinfo").read_text().split() if f in ("avx512_bf16", "amx_bf16", "amx_tile")}
        )
        if Path("/proc/cpuinfo").exists()
        else [],
        "torch_threads": torch.get_num_threads(),
        "max_abs_diff": float(np.max(np.abs(a - b))),
        "mos_range": [float(mos.min()), float(mos.max())],
        "score_range_fp32": [float(a.min()), float(a.max())],
        "srcc_fp32_vs_bf16": float(stats.spearmanr(a, b)[0]),
        "srcc_mos_fp32": float(stats.spearmanr(a, mos)[0]),
        "srcc_mos_bf16": float(stats.spearmanr(b, mos)[0]),
        "model_s_fp32": med["fp32"][0],
        "model_s_bf16": med["bf16"][0],
        "wall_s_fp32": med["fp32"][1],
        "wall_s_bf16": med["bf16"][1],
        "speedup_model": med["fp32"][0] / med["bf16"][0],
        "speedup_wall": med["fp32"][1] / med["bf16"][1],
        "repeats": args.repeats,
    }
    print(json.dumps(result, indent=1))
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
