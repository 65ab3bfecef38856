"""Scoring-speed benchmark (issue #18, part 1): seconds to score one video, per method and preset.

Every registered method (floor baselines included) is readied with `Method.init_for_scoring`
(random weights, untrained stand-ins: the real scoring work, meaningless scores; nothing is
trained or downloaded) and times `Method.score([clip])` on generated H.264 clips (decode.py's
`ClipSpec`: textured panning content with a moving block, libx264 veryfast crf 23, a keyframe
every 2 s): a 10 s 1080p clip and a 60 s 720p clip. Per (method, preset, clip) it reports the
wall seconds of the call and the report's split: decode, saliency (the UNet3D making a new
video's maps) and network (`model_s - saliency_s`). Two references are measured in the same run
and every row is given as a ratio to each:

  full-decode  PyAV decoding every frame of the clip, no conversion (decode.py's floor);
  FasterVQA    a FasterVQA-equivalent pass: st_vqrl's `full` trunk (Swin3D-T with FAST-VQA's
               fragment bias) on FasterVQA's input, 1 clip x 32 frames of 7x7 fragments of
               32 px, through `StVqrlMethod.score` (decoding those 32 frames + the forward).

Each map and feature cache starts empty for every timed call (a fresh cache root), so a method
with saliency makes its maps every time, as for a new video. One warm-up round, then `--repeats`
rounds (every job once per round, the order rotated); medians are kept. `vqa score` is then
timed end to end once per row, in-process (`vqa_core.cli.main`, checkpoint written by the
readied method, fresh caches), against the decode + model seconds of that same call: the cost
of everything else (checkpoint loading, model construction, probing; target <= 1.3).

    nice -n 10 uv run --frozen python benchmarks/score_speed.py --presets small --repeats 3 \\
        --out score_speed.json                      # both clips, every method; writes .json + .md
    uv run --frozen python benchmarks/score_speed.py --quick --methods sharpness,dagr

`--quick`: a 2 s 240p clip, tiny (or small) presets, one repeat: a couple of minutes. Seconds
are wall time on this machine (its CPU, cores and load average are recorded); compare rows of
one run only. Generated clips are kept in `--clip-dir` (default: `score-speed-clips` in the
vqa-zoo cache root) and reused.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import math
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decode import ClipSpec, decode_everything, generate  # the sibling benchmark's clips

CLIPS = {
    "10s-1080p": ClipSpec("10s-1080p", 10, 1080, 1920),
    "60s-720p": ClipSpec("60s-720p", 60, 720, 1280),
}
QUICK_CLIP = ClipSpec("2s-240p", 2, 240, 426)
QUICK_PRESETS = ("tiny", "small")
E2E_TARGET = 1.3  # `vqa score` wall / (decode + model) of the same call
# FasterVQA's input on st_vqrl's full trunk: 1 clip (the preset's clip is 32 x 7x7 x 32 px)
FASTERVQA_OVERRIDES = ("eval.num_clips=1", "eval.cache_features=false", "eval.pool=mean")


@dataclass
class Timing:
    """One timed call: wall seconds and the ScoreReport's split (NaN where it has none)."""

    wall_s: float
    decode_s: float = math.nan
    saliency_s: float = math.nan
    network_s: float = math.nan


@dataclass
class Row:
    """Medians over the repeats of one job on one clip, and its ratios to the references."""

    job: str
    method: str
    preset: str
    clip: str
    wall_s: float
    decode_s: float
    saliency_s: float
    network_s: float
    runs: list[float]
    x_full_decode: float = math.nan
    x_fastervqa: float = math.nan
    e2e: dict[str, float] = field(default_factory=dict)


# --------------------------------------------------------------------------- the jobs


@contextlib.contextmanager
def cache_root(root: Path) -> Iterator[None]:
    """Point VQA_ZOO_CACHE at `root` (methods read it when they are built)."""
    before = os.environ.get("VQA_ZOO_CACHE")
    os.environ["VQA_ZOO_CACHE"] = str(root)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("VQA_ZOO_CACHE", None)
        else:
            os.environ["VQA_ZOO_CACHE"] = before


def empty(folder: Path) -> None:
    """Remove every map / feature cached under `folder`, and the process's remembered probes
    (a new video for the next call)."""
    from vqa_core.video import forget_probes

    forget_probes()
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)


def ready_method(name: str, preset: str, overrides: Sequence[str] = ()) -> Any:
    """`name` at `preset` (offline: every `pretrained` off), random-init and ready to score."""
    from vqa_bench.method_config import resolve_method_config
    from vqa_core.method import get_method

    cls = get_method(name)
    method = cls(config=resolve_method_config(cls, preset, name, list(overrides), no_pretrained=True), device="cpu")
    method.init_for_scoring(seed=0)
    return method


def score_timing(method: Any, clip: Path, caches: Path) -> Timing:
    """Wall seconds of `method.score([clip])` from empty caches, and its report's split."""
    empty(caches)
    t0 = time.perf_counter()
    report = method.score([clip])
    wall = time.perf_counter() - t0
    if report.errors[0] is not None:
        raise RuntimeError(f"{method.name}: scoring {clip} failed: {report.errors[0]}")
    saliency = float(report.parts["saliency_s"][0]) if "saliency_s" in report.parts else 0.0
    return Timing(wall, float(report.decode_s[0]), saliency, float(report.model_s[0]) - saliency)


def full_decode_timing(clip: Path) -> Timing:
    t0 = time.perf_counter()
    decode_everything(clip)
    wall = time.perf_counter() - t0
    return Timing(wall, decode_s=wall, saliency_s=0.0, network_s=0.0)


def e2e_timing(method: Any, clip: Path, caches: Path, work: Path) -> dict[str, float]:
    """`vqa score CLIP --checkpoint CKPT` in-process from a fresh cache root: its wall seconds,
    the decode + model seconds it reported for the clip, and their ratio."""
    from vqa_core.cli import main as vqa_main

    ckpt = method.save(work / f"{method.name}.pt")
    out = work / "scores.csv"
    empty(caches)
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        rc = vqa_main(["score", str(clip), "--checkpoint", str(ckpt), "--device", "cpu", "--no-progress",
                       "--out", str(out), "--overwrite"])  # fmt: skip
    wall = time.perf_counter() - t0
    rows = list(csv.DictReader(out.open()))
    ckpt.unlink()
    if rc != 0 or not rows or rows[0]["status"] != "ok":
        raise RuntimeError(f"vqa score --checkpoint ({method.name}) on {clip} failed: rc {rc}, rows {rows}")
    inside = float(rows[0]["decode_s"]) + float(rows[0]["model_s"])
    return {"wall_s": wall, "decode_plus_model_s": inside, "ratio": wall / inside, "target": E2E_TARGET}


# --------------------------------------------------------------------------- the run


def run_clip(
    clip_name: str, clip: Path, jobs: dict[str, tuple[str, str, Any]], repeats: int, caches: Path,
    e2e: bool, log: Callable[[str], None],
) -> list[Row]:  # fmt: skip
    """Warm-up, then `repeats` rotated rounds of every job on `clip`; medians and ratios."""
    calls: dict[str, Callable[[], Timing]] = {
        "full-decode": lambda: full_decode_timing(clip),
        **{key: (lambda m=m: score_timing(m, clip, caches)) for key, (_, _, m) in jobs.items()},
    }
    order = list(calls)
    times: dict[str, list[Timing]] = {k: [] for k in order}
    for r in range(-1, repeats):  # round -1: the warm-up, not kept
        shift = max(r, 0) % len(order)
        for key in order[shift:] + order[:shift]:
            t = calls[key]()
            if r >= 0:
                times[key].append(t)
        log(f"{clip_name}: {'warm-up' if r < 0 else f'round {r + 1}/{repeats}'} done")
    rows = []
    for key in order:
        method, preset = jobs[key][:2] if key in jobs else ("full-decode", "")
        ts = times[key]
        med = {f: statistics.median(getattr(t, f) for t in ts) for f in ("wall_s", "decode_s", "saliency_s", "network_s")}
        rows.append(Row(key, method, preset, clip_name, runs=[t.wall_s for t in ts], **med))
    ref = {r.job: r.wall_s for r in rows}
    for row in rows:
        row.x_full_decode = row.wall_s / ref["full-decode"]
        row.x_fastervqa = row.wall_s / ref["fastervqa"]
    if e2e:
        for row in rows:
            if row.job in jobs and row.job != "fastervqa":
                with tempfile.TemporaryDirectory() as work:
                    row.e2e = e2e_timing(jobs[row.job][2], clip, caches, Path(work))
                log(f"{clip_name}: vqa score {row.job}: x{row.e2e['ratio']:.2f} of decode + model")
    return rows


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    """CPU model, the cores this process may use, load averages, torch and package versions."""
    from vqa_bench.settings import cpu_model, package_versions
    from vqa_core.train.inference import available_cpus

    cpu, _ = cpu_model()

    return {
        "cpu": cpu,
        "cores": available_cpus(),
        "torch_threads": torch.get_num_threads(),
        "load_before": list(load_before),
        "load_after": list(os.getloadavg()),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "packages": package_versions(),  # the versions a bench run records
    }


def markdown(result: dict[str, Any]) -> str:
    """The results as a markdown table (seconds are medians; x = ratio of wall seconds)."""
    m = result["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['torch_threads']} torch threads; load average "
        f"{' '.join(f'{x:.2f}' for x in m['load_before'])} before, {' '.join(f'{x:.2f}' for x in m['load_after'])} "
        f"after; torch {m['torch']}; allocator {result.get('allocator', 'system')}. Median of {result['repeats']} "
        "after one warm-up.",
        "",
        "| clip | method | preset | wall s | decode s | saliency s | network s | x full decode | x FasterVQA "
        "| `vqa score` / (decode+model) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        e2e = f"{r['e2e']['ratio']:.2f}" if r["e2e"] else ""
        lines.append(
            f"| {r['clip']} | {r['method']} | {r['preset']} | {r['wall_s']:.3f} | {r['decode_s']:.3f} | "
            f"{r['saliency_s']:.3f} | {r['network_s']:.3f} | {r['x_full_decode']:.3g} | {r['x_fastervqa']:.3g} | {e2e} |"
        )
    return "\n".join(lines) + "\n"


def report(table: str, record: dict[str, Any], out: Path | None) -> None:
    """Print the markdown table; with `out`, write the record as JSON there and the table next to it (.md)."""
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(record, indent=1) + "\n")
        out.with_suffix(".md").write_text(table)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--methods", default="all", help="comma-separated registered methods (default: all)")
    p.add_argument("--presets", default=None, help="comma-separated presets (default small,full; --quick: tiny)")
    p.add_argument("--clips", default=",".join(CLIPS), help=f"comma-separated clips of {', '.join(CLIPS)}")
    p.add_argument("--repeats", type=int, default=None, help="timed rounds after the warm-up (default 3; --quick 1)")
    p.add_argument("--quick", action="store_true", help="a 2 s 240p clip, tiny/small presets only, 1 repeat")
    p.add_argument("--no-e2e", action="store_true", help="skip the `vqa score` end-to-end timing")
    p.add_argument("--clip-dir", type=Path, default=None, help="generated clips (default: cache root/score-speed-clips)")
    p.add_argument("--out", type=Path, help="write the result JSON here and the markdown table next to it (.md)")
    args = p.parse_args(argv)
    args.presets = (args.presets or ("tiny" if args.quick else "small,full")).split(",")
    args.repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if args.repeats < 1:
        p.error("--repeats must be >= 1")
    if args.quick and not set(args.presets) <= set(QUICK_PRESETS):
        p.error(f"--quick runs the {' and '.join(QUICK_PRESETS)} presets only")
    unknown = [c for c in args.clips.split(",") if c not in CLIPS]
    if unknown and not args.quick:
        p.error(f"unknown clip(s) {unknown}; choose among {', '.join(CLIPS)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from vqa_core.allocator import allocator_setting
    from vqa_core.cache import cache_dir
    from vqa_core.method import list_methods

    allocator = allocator_setting()  # as `vqa` and `bench` run (vqa_core.allocator)
    load_before = os.getloadavg()
    names = list_methods() if args.methods == "all" else args.methods.split(",")
    specs = [QUICK_CLIP] if args.quick else [CLIPS[c] for c in args.clips.split(",")]
    clip_dir = args.clip_dir or cache_dir("score-speed-clips")
    clip_dir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    phases: dict[str, float] = {}

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    with Progress(transient=True) as progress:
        clips = {spec.name: generate(spec, clip_dir, progress) for spec in specs}
    phases["clips_s"] = time.perf_counter() - started
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="score-speed-") as tmp, cache_root(Path(tmp) / "cache"):
        caches = Path(tmp) / "cache"
        t0 = time.perf_counter()
        jobs = {"fastervqa": ("fastervqa-equivalent", "full", ready_method("stvqrl", "full", FASTERVQA_OVERRIDES))}
        for name in names:
            for preset in args.presets:
                jobs[f"{name}/{preset}"] = (name, preset, ready_method(name, preset))
        phases["build_s"] = time.perf_counter() - t0
        log(f"{len(jobs)} jobs built")
        for clip_name, clip in clips.items():
            t0 = time.perf_counter()
            rows += run_clip(clip_name, clip, jobs, args.repeats, caches, not args.no_e2e, log)
            phases[f"{clip_name}_s"] = time.perf_counter() - t0
    result = {
        "command": " ".join(sys.argv),
        "repeats": args.repeats,
        "clips": {name: asdict(spec) | {"path": str(clips[name])} for name, spec in zip(clips, specs)},
        "machine": machine(load_before),
        "allocator": allocator,
        "phases": phases,
        "rows": [asdict(r) for r in rows],
    }
    report(markdown(result), result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
