"""GPU check (issue #18, part 4): a few training steps and one scoring pass of every method.

For each registered method at one preset (default `full`; `--preset tiny` for a CPU) it runs the
method's own training entry point, `Method.fit`, for `--steps` optimizer steps, then
`Method.score` on two clips it has not seen (no cached maps or tokens), and reports per method:

  steps_per_s      optimizer steps per second of training (the Trainer's epoch seconds:
                   forward, backward, step; map making and data setup before it excluded)
  peak_memory_mb   CUDA: torch.cuda.max_memory_allocated over fit + score (reset per method);
                   CPU: the process's max RSS so far (resource.getrusage; it only grows, so a
                   method's figure includes the methods before it)
  loss_first / loss_last / loss_went_down
                   the training loss of the first and last step
  fit_s / score_s  wall seconds of `fit` and of the scoring pass

How a few steps are made without a private training loop: the method is first readied with
`init_for_scoring` (random networks, a random saliency UNet3D / ST-VQRL backbone, so `fit` builds
no pretraining stage and nothing is downloaded: `pretrained: false` everywhere), then its preset is
changed only where the run's length is decided: every TrainConfig gets `--precision`, and the
method's `trainer` gets `epochs = --steps`, `val_every = --steps` (one validation, at the end) and
no `max_steps`; ssl/qasa's `semi.labelled` becomes one batch of labels. The training part holds
`batch_size x grad_accum` clips (ssl/qasa: as many unlabelled ones on top), one optimizer step per
epoch, so the history's per-epoch `train_loss` is each step's loss (the same batch again and
again: a model that learns at all brings that loss down). A method whose fit partitions its
training part (ssl/qasa: labelled and unlabelled) may take another number of steps per epoch;
`steps` and `steps_per_epoch` say what ran. stvqrl has no supervised training (its `fit` is
token extraction and a Gaussian fit; ST-VQRL training is its pretraining stage): steps n/a.
The floors fit in closed form: steps n/a.

Clips are score_speed.py's generated H.264 content (decode.py's `generate`), 4 s at 240x426, a
different texture per clip and a CRF from 18 up, MOS falling with the CRF; the first is marked
as the pristine version (ssl's NIQE-like reference). Caches start empty (a temporary root).

    uv run --frozen python benchmarks/gpu_check.py --out gpu_check.json                # CUDA, full, bf16
    uv run --frozen python benchmarks/gpu_check.py --preset tiny --device cpu --out x.json
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import resource
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from rich.progress import Progress

sys.path.insert(0, str(Path(__file__).resolve().parent))
from score_speed import ClipSpec, cache_root, generate, machine, report  # clips, record, output

CLIP_SECONDS, CLIP_HEIGHT, CLIP_WIDTH = 4, 240, 426
VAL_CLIPS = 2  # validate the fit
SCORE_CLIPS = 2  # scored afterwards: clips the fit never saw, so no map or token is cached


def clip_specs(n: int) -> list[ClipSpec]:
    """`n` distinct clips: the texture's seed is the height, so each clip gets its own (8 px
    apart), and a CRF rising with the index (18, 20, ...) gives each its own quality."""
    return [
        ClipSpec(f"gpucheck{i:02d}", CLIP_SECONDS, CLIP_HEIGHT + 8 * i, CLIP_WIDTH, crf=18 + 2 * (i % 16))
        for i in range(n)
    ]


def manifest(paths: Sequence[Path], specs: Sequence[ClipSpec]) -> list[Any]:
    from vqa_core.datasets import ManifestItem

    return [
        ManifestItem(
            video_id=spec.name,
            path=path,
            mos=100.0 - 1.5 * spec.crf,
            split="train",
            extra={"version": str(i)},  # version 0: ssl's pristine reference
        )
        for i, (path, spec) in enumerate(zip(paths, specs))
    ]


def check_config(name: str, preset: str, precision: str, steps: int) -> Any:
    """`name`'s `preset` (offline) with every TrainConfig at `precision` and its `trainer` set to
    `steps` epochs with one validation at the end; nothing else of the preset changes."""
    from vqa_bench.method_config import resolve_method_config
    from vqa_core.method import get_method
    from vqa_core.train import TrainConfig, with_precision

    cls = get_method(name)
    config = with_precision(resolve_method_config(cls, preset, name, [], no_pretrained=True), precision)
    trainer = getattr(config, "trainer", None)
    if isinstance(trainer, TrainConfig):
        trainer = dataclasses.replace(trainer, epochs=steps, val_every=steps, max_steps=None, progress=False)
        config = dataclasses.replace(config, trainer=trainer)
        semi = getattr(config, "semi", None)
        if semi is not None:  # ssl/qasa: one labelled batch per step, whatever the preset's label budget
            config = dataclasses.replace(
                config, semi=dataclasses.replace(semi, labelled=trainer.batch_size * trainer.grad_accum)
            )
    return config


def train_size(config: Any) -> int:
    """Clips in the training part: one optimizer step per epoch (with ssl/qasa's unlabelled
    draws on top of the labelled batch); 4 for a method without a trainer (its fit needs 3)."""
    trainer = getattr(config, "trainer", None)
    if trainer is None:
        return 4
    semi = getattr(config, "semi", None)
    extra = semi.unlabelled_per_labelled if semi is not None else 0
    return max(2, trainer.batch_size * trainer.grad_accum * (1 + extra))


def peak_memory_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def check_method(
    name: str, config: Any, items: Sequence[Any], device: torch.device, work: Path
) -> dict[str, Any]:
    """Fit `name` for the configured steps on `items` (the training part, then VAL_CLIPS that
    validate, then SCORE_CLIPS that are scored); the figures of the module docstring."""
    from vqa_core.method import get_method

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    method = get_method(name)(config=config, device=device)
    method.init_for_scoring(seed=0)  # random networks: fit builds no pretraining stage
    n = train_size(config)
    train, val, fresh = list(items[:n]), list(items[n : n + VAL_CLIPS]), list(items[n + VAL_CLIPS :])
    t0 = time.perf_counter()
    summary = method.fit(train, val, work / name, resume=False, progress=False)
    fit_s = time.perf_counter() - t0
    history = [r for r in summary.get("history", []) if "train_loss" in r]
    t0 = time.perf_counter()
    report = method.score([it.path for it in fresh])
    score_s = time.perf_counter() - t0
    failed = [e for e in report.errors if e is not None]
    if failed:
        raise RuntimeError(f"{name}: scoring failed: {failed[0]}")
    result: dict[str, Any] = {
        "status": "ok",
        "train_videos": n,
        "fit_s": round(fit_s, 3),
        "score_s": round(score_s, 3),
        "score_videos": len(fresh),
        "scores_finite": bool(all(math.isfinite(s) for s in report.scores)),
        "steps": None,
        "steps_per_epoch": None,
        "steps_per_s": None,
        "train_s": None,
        "loss_first": None,
        "loss_last": None,
        "loss_went_down": None,
    }
    if history:
        steps = int(history[-1]["step"])
        train_s = sum(float(r["seconds"]) for r in history)
        first, last = float(history[0]["train_loss"]), float(history[-1]["train_loss"])
        result.update(
            steps=steps,
            steps_per_epoch=int(history[0]["step"]),
            train_s=round(train_s, 3),
            steps_per_s=round(steps / train_s, 4) if train_s > 0 else None,
            loss_first=first,
            loss_last=last,
            loss_went_down=bool(last < first),
        )
    result["peak_memory_mb"] = round(peak_memory_mb(device), 1)
    return result


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"{result['device_name']}, preset {result['preset']}, {result['precision']}, {result['steps']} steps; "
        f"{result['total_s']:.0f} s in all. Peak memory: {result['memory_kind']}.",
        "",
        "| method | status | steps | steps/s | loss first | loss last | down | fit s | score s | peak MB |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def f(x: Any, spec: str = ".4g") -> str:
        return "n/a" if x is None else format(x, spec) if isinstance(x, float) else str(x)

    for name, r in result["methods"].items():
        if r["status"] != "ok":
            lines.append(f"| {name} | failed: {r['error'][:80]} | | | | | | | | |")
            continue
        lines.append(
            f"| {name} | ok | {f(r['steps'])} | {f(r['steps_per_s'])} | {f(r['loss_first'])} | {f(r['loss_last'])} | "
            f"{f(r['loss_went_down'])} | {r['fit_s']:.1f} | {r['score_s']:.2f} | {r['peak_memory_mb']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument(
        "--methods", nargs="+", default=["all"], help="registered methods (space or comma separated)"
    )
    p.add_argument("--preset", default="full", help="preset of every method (default full; tiny on a CPU)")
    p.add_argument("--precision", choices=("fp32", "bf16"), help="default: bf16 on CUDA, fp32 on a CPU")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    p.add_argument("--steps", type=int, default=5, help="optimizer steps per method (default 5)")
    p.add_argument("--clip-dir", type=Path, help="generated clips (default: a temporary folder)")
    p.add_argument(
        "--out", type=Path, help="write the result JSON here and the markdown table next to it (.md)"
    )
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be >= 1")
    args.methods = [m for item in args.methods for m in item.split(",") if m]
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    from vqa_core.allocator import allocator_setting
    from vqa_core.device import resolve_device

    allocator = allocator_setting()  # as `vqa` and `bench` run (vqa_core.allocator)
    from vqa_core.method import list_methods

    device = resolve_device(args.device)
    precision = args.precision or ("bf16" if device.type == "cuda" else "fp32")
    names = list_methods() if args.methods == ["all"] else args.methods
    started, load_before = time.perf_counter(), os.getloadavg()

    def log(message: str) -> None:
        print(f"[{time.perf_counter() - started:7.1f} s] {message}", file=sys.stderr, flush=True)

    configs = {name: check_config(name, args.preset, precision, args.steps) for name in names}
    n_clips = max(train_size(c) for c in configs.values()) + VAL_CLIPS + SCORE_CLIPS
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp, cache_root(Path(tmp) / "cache"):
        clip_dir = args.clip_dir or Path(tmp) / "clips"
        clip_dir.mkdir(parents=True, exist_ok=True)
        specs = clip_specs(n_clips)
        with Progress(transient=True) as progress:
            paths = [generate(spec, clip_dir, progress) for spec in specs]
        items = manifest(paths, specs)
        log(f"{n_clips} clips ready")
        for name, config in configs.items():
            train = train_size(config)
            try:
                results[name] = check_method(
                    name, config, items[:train] + items[-VAL_CLIPS - SCORE_CLIPS :], device, Path(tmp)
                )
            except Exception as err:  # one broken method must not hide the others' figures
                results[name] = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                                 "traceback": traceback.format_exc()[-4000:]}  # fmt: skip
            log(f"{name}: {results[name]['status']}")
    result = {
        "command": " ".join(sys.argv),
        "device": str(device),
        "machine": machine(load_before),
        "memory_kind": "torch.cuda.max_memory_allocated"
        if device.type == "cuda"
        else "process max RSS (cumulative)",
        "preset": args.preset,
        "precision": precision,
        "allocator": allocator,
        "steps": args.steps,
        "torch": torch.__version__,
        "total_s": round(time.perf_counter() - started, 1),
        "methods": results,
    }
    result["device_name"] = (
        torch.cuda.get_device_name(device) if device.type == "cuda" else result["machine"]["cpu"]
    )
    report(markdown(result), result, args.out)
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
