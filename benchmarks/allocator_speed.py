"""What `vqa_core.allocator.reuse_freed_memory` changes: training steps per second, side by side.

Runs `gpu_check.py` (a few `Method.fit` steps and a scoring pass per method, on generated clips,
fresh caches) in alternating subprocesses, `VQA_ZOO_MALLOC=system` (glibc's defaults) then
`reuse` (what `vqa` and `bench` set), `--repeats` times each, and reports per method the median
steps per second of each and their ratio, plus the max RSS. Run it on a quiet machine: it is a
timing.

    uv run --frozen python benchmarks/allocator_speed.py --methods sc dagr --preset small --out alloc.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_speed import report  # the sibling benchmarks' output files

GPU_CHECK = Path(__file__).resolve().parent / "gpu_check.py"
SETTINGS = ("system", "reuse")


def run_once(setting: str, args: argparse.Namespace, tmp: Path, k: int) -> dict[str, Any]:
    """One gpu_check run with `VQA_ZOO_MALLOC=setting`; its result JSON."""
    out = tmp / f"{setting}-{k}.json"
    cmd = [sys.executable, str(GPU_CHECK), "--preset", args.preset, "--device", "cpu", "--precision", "fp32",
           "--steps", str(args.steps), "--methods", *args.methods, "--out", str(out)]  # fmt: skip
    env = dict(os.environ, VQA_ZOO_MALLOC=setting)
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if proc.returncode != 0 or not out.is_file():
        raise SystemExit(f"gpu_check failed with VQA_ZOO_MALLOC={setting}:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    result = json.loads(out.read_text())
    if result["allocator"] != setting and setting == "reuse":
        raise SystemExit("this C library is not glibc: reuse_freed_memory does nothing here, nothing to compare")
    return result


def summarise(runs: dict[str, list[dict[str, Any]]], methods: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per method: median steps/s and fit seconds under each setting, their ratio, the max RSS."""
    rows: dict[str, dict[str, Any]] = {}
    for name in methods:
        row: dict[str, Any] = {}
        for setting in SETTINGS:
            per_run = [r["methods"][name] for r in runs[setting]]
            rates = [m["steps_per_s"] for m in per_run if m.get("steps_per_s")]
            row[f"{setting}_steps_per_s"] = statistics.median(rates) if rates else None
            row[f"{setting}_fit_s"] = statistics.median(m["fit_s"] for m in per_run)
            row[f"{setting}_peak_memory_mb"] = max(m["peak_memory_mb"] for m in per_run)
        system, reuse = row["system_steps_per_s"], row["reuse_steps_per_s"]
        row["speedup"] = reuse / system if system and reuse else None
        rows[name] = row
    return rows


def markdown(rows: dict[str, dict[str, Any]]) -> str:
    def num(x: float | None, fmt: str) -> str:
        return "n/a" if x is None else format(x, fmt)

    lines = [
        "| method | steps/s, glibc defaults | steps/s, freed memory reused | speedup | max RSS MB (defaults / reused) |",
        "|---|---|---|---|---|",
    ]
    for name, r in rows.items():
        lines.append(
            f"| {name} | {num(r['system_steps_per_s'], '.3f')} | {num(r['reuse_steps_per_s'], '.3f')} | "
            f"{num(r['speedup'], '.2f')}x | {r['system_peak_memory_mb']:.0f} / {r['reuse_peak_memory_mb']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", nargs="+", default=["sc", "dagr"], help="registered methods (default: sc dagr)")
    p.add_argument("--preset", default="small", help="preset of every method (default small)")
    p.add_argument("--steps", type=int, default=4, help="optimizer steps per method and run (default 4)")
    p.add_argument("--repeats", type=int, default=1, help="runs per setting, alternating (default 1)")
    p.add_argument("--out", type=Path, help="write the JSON here and the markdown table next to it (.md)")
    args = p.parse_args(argv)
    if args.steps < 1 or args.repeats < 1:
        p.error("--steps and --repeats must be >= 1")
    args.methods = [m for item in args.methods for m in item.split(",") if m]
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in SETTINGS}
    with tempfile.TemporaryDirectory(prefix="alloc-speed-") as tmp:
        for k in range(args.repeats):
            for setting in SETTINGS:
                print(f"run {k + 1}/{args.repeats}: VQA_ZOO_MALLOC={setting}", file=sys.stderr, flush=True)
                runs[setting].append(run_once(setting, args, Path(tmp), k))
    rows = summarise(runs, args.methods)
    record = {"command": " ".join(sys.argv), "machine": runs["reuse"][0]["machine"], "preset": args.preset,
              "steps": args.steps, "repeats": args.repeats, "methods": rows}  # fmt: skip
    report(markdown(rows), record, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
