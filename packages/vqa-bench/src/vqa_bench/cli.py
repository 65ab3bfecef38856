"""`bench`: compare vqa-zoo methods on identical splits, store the results, check regressions."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from vqa_core.allocator import reuse_freed_memory
from vqa_core.errors import ConfigError, VqaError

EPILOG = """\
examples:
  bench --method all --dataset demo --config tiny --splits 3
      every registered method on the embedded demo data (built on first use)
  bench --method dagr --dataset lsvq --data-root lsvq=/data/LSVQ \\
        --data-root konvid-1k=/data/KoNViD --data-root live-vqc=/data/LIVE-VQC
      LSVQ official protocol: train on train, test on test and test_1080p, zero-shot on the others
  bench --method str --dataset konvid-1k,live-vqc --data-root konvid-1k=/d/K --data-root live-vqc=/d/L
      cross-dataset matrix (each trained on one, tested on the others)
  bench --method all --dataset demo --config tiny --splits 2 --check-regression benchmarks/baselines/demo-tiny.json
      fail (exit 1) if median SRCC/PLCC moved beyond the baseline's tolerance
  bench --table
      markdown table of methods x datasets from the committed baselines

protocols (--protocol auto picks: lsvq for LSVQ, cross for several datasets, intra otherwise):
  intra  N seeded 80/20 train/test splits (a validation part carved from train, used for model
         selection; test is never looked at before the end); median and std over the splits
  lsvq   the official LSVQ train / test / test_1080p split, plus zero-shot sets
  cross  one model per dataset, tested on every other dataset in full

output: OUT/<run>/ holds run.json (settings, versions, seeds, command), metrics.json, results.md,
and per method config.yaml, cost.json (params, FLOPs), scatter.png, and per task predictions.csv.
An interrupted run resumes: rerun the same command and finished splits are kept.
Every video is probed first; those that cannot be decoded are left out and listed in results.md.
One run folder holds one run: a second bench on it while it runs is refused, and so is a rerun
whose results would differ (seed, splits, data, config): give it --run-name NAME or another --out.
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench",
        description=(
            "Benchmark vqa-zoo methods on identical splits: build the dataset manifest and splits, "
            "run each method's pretraining stages (cached by config hash), train per split with "
            "validation-based model selection, score the test part, and report SRCC, KRCC, PLCC "
            "(logistic and raw) and RMSE per split with their median and std, plus wall time, "
            "parameters and FLOPs."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--method",
        "-m",
        action="append",
        metavar="NAME",
        help="method to run (repeat or comma-separate); 'all' = every registered method",
    )
    p.add_argument(
        "--dataset",
        "-d",
        default="demo",
        help="dataset name(s), comma-separated, or a manifest CSV (video_id,path,mos[,split]) of your own "
        "data (default: demo, the embedded data built on first use)",
    )
    p.add_argument(
        "--group-by",
        metavar="COLUMN",
        help="for a manifest CSV given as --dataset: keep items with equal COLUMN in one split part",
    )
    p.add_argument(
        "--data-root",
        action="append",
        default=[],
        metavar="[NAME=]DIR",
        help="folder of a dataset's videos and official label file (NAME=DIR when several)",
    )
    p.add_argument(
        "--zero-shot",
        action="append",
        default=[],
        metavar="NAME=DIR",
        help="extra dataset tested zero-shot in full (lsvq protocol), e.g. konvid-1k=/data/KoNViD",
    )
    p.add_argument(
        "--protocol",
        default="auto",
        choices=["auto", "intra", "lsvq", "cross"],
        help="evaluation protocol (default: auto)",
    )
    p.add_argument(
        "--config",
        "-c",
        default="small",
        help="tiny | small | full | FILE.yaml (a YAML may hold one section per method) (default: small)",
    )
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="KEY=VALUE",
        help="override a config field of every method run, e.g. --set trainer.epochs=5, or of one method "
        "with METHOD:KEY=VALUE, e.g. --set dagr:saliency.enabled=false (repeatable)",
    )
    p.add_argument(
        "--no-pretrained",
        action="store_true",
        help="offline: no downloaded initialisation (ImageNet, Kinetics-400, CLIP weights); every "
        "config's `pretrained` field is switched off. Without it, a preset whose weights cannot be "
        "fetched fails with the weight's name and how to provide a local file",
    )
    p.add_argument(
        "--splits", type=int, default=10, help="number of seeded 80/20 splits, intra protocol (default: 10)"
    )
    p.add_argument(
        "--seed",
        type=int,
        default=123,
        help="base seed of the splits (as vqa_core.datasets) and of training; split k trains with seed+k "
        "(default: 123)",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    p.add_argument("--out", "-o", type=Path, default=Path("runs"), help="folder of runs (default: runs/)")
    p.add_argument(
        "--run-name", help="name of the run folder under --out (default: <dataset>-<protocol>-<config>)"
    )
    p.add_argument(
        "--cache",
        type=Path,
        help="folder of cached pretraining stages keyed by config hash and producer version "
        "(default: stages/ in the vqa-zoo cache root, shared with a plain Method.fit)",
    )
    p.add_argument(
        "--no-checkpoints",
        action="store_true",
        help="do not keep each task's trained model (<method>/<task>/model.pt, usable by `vqa score`)",
    )
    p.add_argument(
        "--keep-work",
        action="store_true",
        help="keep each finished task's training work dir (checkpoints with optimizer state; large)",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars (logs only)")
    p.add_argument(
        "--check-regression",
        type=Path,
        metavar="BASELINE",
        help="after the run, compare with this baseline JSON; exit 1 with a diff if outside tolerance",
    )
    p.add_argument(
        "--write-baseline",
        type=Path,
        metavar="PATH",
        help="after the run, write its metrics as a baseline JSON (with the tolerance) to PATH",
    )
    p.add_argument(
        "--tolerance",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="tolerance on a metric's median for --check/--write (default: srcc=0.02, plcc=0.02)",
    )
    p.add_argument(
        "--one-sided",
        action="store_true",
        help="with --write-baseline: check only drops (fresh >= baseline - tolerance), so a method that "
        "gets better never fails",
    )
    p.add_argument(
        "--minimum",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="with --write-baseline: every method's fresh median must also reach VALUE (e.g. srcc=0.4)",
    )
    p.add_argument(
        "--tolerance-note",
        metavar="TEXT",
        help="with --write-baseline: where the tolerance comes from (the measured spread), stored in the file",
    )
    p.add_argument(
        "--spread-from",
        type=Path,
        action="append",
        default=[],
        metavar="METRICS",
        help="with --write-baseline: the metrics.json (or run folder) of the same run on another floating-point "
        "path or machine (e.g. OMP_NUM_THREADS=1, a fresh clone); repeatable. Each method's tolerance becomes "
        "max(--tolerance, --spread-factor x its largest median difference), and the note states the differences",
    )
    p.add_argument(
        "--spread-factor",
        type=float,
        default=2.0,
        metavar="X",
        help="with --spread-from: the multiple of the measured difference a method may move (default 2)",
    )
    p.add_argument(
        "--table",
        nargs="?",
        const="benchmarks/baselines",
        metavar="DIR",
        help="print the markdown table of methods x datasets from the baselines in DIR and exit",
    )
    p.add_argument("--list", action="store_true", help="list registered methods and known datasets and exit")
    return p


def _methods(values: list[str] | None) -> list[str]:
    from vqa_core.method import list_methods

    names = [n.strip() for v in (values or []) for n in v.split(",") if n.strip()]
    if not names:
        raise ConfigError("no method given: use --method NAME (or --method all); `bench --list` shows them")
    if "all" in names:
        known = list_methods()
        if not known:
            raise ConfigError("--method all: no methods are registered (entry-point group vqa_zoo.methods)")
        return known
    return list(dict.fromkeys(names))


def _roots(values: list[str], datasets: list[str], flag: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for v in values:
        if "=" in v:
            name, _, path = v.partition("=")
            out[name.strip()] = Path(path).expanduser()
        elif flag == "--data-root" and len(datasets) == 1:
            out[datasets[0]] = Path(v).expanduser()
        else:
            raise ConfigError(f"{flag} {v!r}: write NAME=DIR (which dataset is this folder for?)")
    return out


def resolve_roots(
    data_root: list[str], zero_shot: list[str], datasets: list[str], protocol: str
) -> tuple[dict[str, Path], dict[str, Path]]:
    """(--data-root per dataset, zero-shot roots). Under the LSVQ protocol the data roots of
    other datasets (KoNViD-1k, LIVE-VQC) are its zero-shot test sets."""
    roots = _roots(data_root, datasets, "--data-root")
    zs = _roots(zero_shot, datasets, "--zero-shot")
    lsvq = protocol == "lsvq" or (protocol == "auto" and [d.lower() for d in datasets] == ["lsvq"])
    for name in [n for n in roots if n not in datasets]:
        if not lsvq:
            raise ConfigError(
                f"--data-root {name}=... is for a dataset not in --dataset {','.join(datasets)}"
            )
        zs[name] = roots.pop(name)
    return roots, zs


def _tolerance(values: list[str], flag: str = "--tolerance") -> dict[str, float] | None:
    if not values:
        return None
    out = {}
    for v in values:
        name, sep, num = v.partition("=")
        try:
            out[name.strip()] = float(num)
        except ValueError:
            sep = ""
        if not sep:
            raise ConfigError(f"{flag} {v!r} must look like srcc=0.02")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        reuse_freed_memory()  # a CPU training step 3x faster (vqa_core.allocator)
        return _main(args, argv)
    except VqaError as err:
        print(f"bench: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(
            "bench: interrupted; rerun the same command to resume (finished splits are kept)", file=sys.stderr
        )
        return 130


def _main(args: argparse.Namespace, argv: list[str] | None) -> int:
    from rich.console import Console

    from vqa_bench.regression import (
        compare,
        load_baseline,
        load_run_metrics,
        make_baseline,
        measured_tolerance,
    )
    from vqa_bench.report import rich_table
    from vqa_bench.runner import BenchRunner, BenchSettings, command_line
    from vqa_bench.store import write_json_atomic

    if args.table is not None:
        from vqa_bench.table import baselines_table

        sys.stdout.write(baselines_table(args.table))
        return 0
    if args.list:
        from vqa_core.datasets import list_datasets
        from vqa_core.method import list_methods

        print("methods:  " + (", ".join(list_methods()) or "(none registered)"))
        print("datasets: " + ", ".join(list_datasets()))
        return 0
    datasets = [d.strip() for d in args.dataset.split(",") if d.strip()]
    tolerance = _tolerance(args.tolerance)
    baseline = load_baseline(args.check_regression) if args.check_regression else None  # fail early
    if args.spread_from and not args.write_baseline:
        raise ConfigError("--spread-from sets the tolerances of a baseline: use it with --write-baseline")
    spread_runs = [load_run_metrics(path) for path in args.spread_from]
    roots, zero_shot = resolve_roots(args.data_root, args.zero_shot, datasets, args.protocol)
    settings = BenchSettings(
        methods=_methods(args.method),
        datasets=datasets,
        data_roots=roots,
        zero_shot=zero_shot,
        config=args.config,
        overrides=args.overrides,
        no_pretrained=args.no_pretrained,
        splits=args.splits,
        protocol=args.protocol,
        seed=args.seed,
        device=args.device,
        out=args.out,
        run_name=args.run_name,
        cache_dir=args.cache,
        group_by=args.group_by,
        save_checkpoints=not args.no_checkpoints,
        keep_work=args.keep_work,
        progress=not args.no_progress,
        command=command_line(argv),
    )
    console = Console(stderr=True)
    t0 = time.perf_counter()
    metrics = BenchRunner(settings, console=console).run()
    out = Console()
    if not out.is_terminal:  # piped or logged: do not squeeze the table into 80 columns
        out = Console(width=200)
    out.print(rich_table(metrics))
    print(f"bench: wall time {time.perf_counter() - t0:.1f} s; results in {settings.run_dir}")
    _report_videos(metrics)
    status = 0
    for name, error in metrics.get("failed", {}).items():
        print(f"bench: method {name} failed: {error}", file=sys.stderr)
        status = 1
    if args.write_baseline:
        per_method, note = None, args.tolerance_note
        if spread_runs:
            per_method, measured = measured_tolerance(metrics, spread_runs, tolerance, args.spread_factor)
            note = f"{note} {measured}" if note else measured
        baseline = make_baseline(
            metrics,
            tolerance,
            one_sided=args.one_sided,
            minimum=_tolerance(args.minimum, "--minimum"),
            note=note,
            method_tolerance=per_method,
        )
        write_json_atomic(args.write_baseline, baseline)
        print(f"bench: baseline written to {args.write_baseline}")
    if args.check_regression and baseline is not None:
        report = compare(metrics, baseline, str(args.check_regression), tolerance)
        text = report.to_markdown()
        (settings.run_dir / "regression.md").write_text(text, encoding="utf-8")
        print(text)
        if not report.ok:
            print(f"bench: REGRESSION against {args.check_regression} (details above)", file=sys.stderr)
            status = 1
    return status


def _report_videos(metrics: dict, shown: int = 5) -> None:
    """The videos a run could not use, on stderr (all of them are in results.md and metrics.json)."""
    check = metrics.get("videos_left_out") or {}
    left_out = check.get("videos", [])
    if left_out:
        print(
            f"bench: {len(left_out)} of {check.get('checked')} videos left out (they cannot be decoded):",
            file=sys.stderr,
        )
        for row in left_out[:shown]:
            print(f"  {row['dataset']}: {row['path']}: {row['reason']}", file=sys.stderr)
        if len(left_out) > shown:
            print(f"  ... and {len(left_out) - shown} more, listed in results.md", file=sys.stderr)
    for name, m in metrics.get("methods", {}).items():
        for task, by_set in (m.get("failed_videos") or {}).items():
            n = sum(len(v) for v in by_set.values())
            print(
                f"bench: {name}/{task}: {n} test video(s) could not be scored (see its result.json)",
                file=sys.stderr,
            )


if __name__ == "__main__":
    sys.exit(main())
