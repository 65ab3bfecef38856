"""`vqa st-vqrl`: make ST-VQRL pretraining data, pretrain, load the authors' release.

Registered through the `vqa_zoo.commands` entry point as `add_command`. Building the parser
imports nothing heavy (torch, PyAV, the distortion bank), so `vqa --help` stays fast; each
action imports what it runs.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

__all__ = ["add_command"]


def _versions(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            lo, hi = part.split("-", 1)
            out.extend(range(int(lo), int(hi) + 1))
        elif part:
            out.append(int(part))
    return out


def add_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "st-vqrl",
        help="ST-VQRL: synthetic distortion data and self-supervised Swin3D pretraining",
        description=(
            "ST-VQRL learns a video quality representation without labels: a Video Swin-T on "
            "fragments is trained so that the same distortion seen in two clips of a scene is closer "
            "(in a Gaussian-fit distance over tokens) than the scene's other distortions."
        ),
    )
    actions = p.add_subparsers(dest="stvqrl_command", metavar="ACTION")

    syn = actions.add_parser(
        "make-synthetic",
        help="write the 13 distortion-bank versions of every video in a folder",
        description=(
            "For each video under --src, write OUT/<id>_vNN.mp4 for the requested versions: 00 pristine "
            "(lossless copy), 01-03 MPEG-2 (qscale 1/20/30), 04-06 H.264 (CRF 5/35/50), 07-09 Gaussian "
            "pyramid blur (2/3/4 levels), 10-12 frame-rate drop (/2, /3, /4) with motion-compensated "
            "interpolation back. Resumable: complete outputs are kept, so rerunning after an interrupt "
            "continues where it stopped. The output folder is what `vqa st-vqrl pretrain --dataset` reads."
        ),
    )
    syn.add_argument("--src", type=Path, required=True, metavar="DIR", help="folder of pristine videos (recursive)")
    syn.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    syn.add_argument(
        "--versions",
        type=_versions,
        default=None,
        metavar="LIST",
        help="versions to write, e.g. '0-12' or '0,4,5,6' (default: all 13; 0 is always written)",
    )
    syn.add_argument("--no-progress", action="store_true", help="no progress bar")
    syn.set_defaults(func=_run_make_synthetic)

    pre = actions.add_parser(
        "pretrain",
        help="self-supervised ST-VQRL pretraining (resumable; torchrun for several GPUs)",
        description=(
            "Trains the backbone and projection head with ST-VQRL's contrastive objective and writes "
            "OUT/stvqrl.pt. An interrupted run resumes from OUT/train/last.pt. Run under "
            "`torchrun --nproc_per_node N` for DDP. Presets: tiny (seconds), small (minutes on CPU), "
            "full (the paper: Swin3D-T, 32x2 clips, 7x7x32 fragments)."
        ),
    )
    pre.add_argument(
        "--config", default="small",
        help="preset (tiny|small|full) or a YAML file (may start from `preset: small`); default: small",
    )
    pre.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    pre.add_argument(
        "--dataset",
        default=None,
        help="'demo-pretrain' (8 scenes x 13 versions the demo never shows, built on first use), 'demo' (the "
        "demo's own train scenes: leaks content into re-split demo benchmarks) or a make-synthetic folder "
        "(default: from the config, demo-pretrain in every preset)",
    )
    pre.add_argument(
        "--init-from",
        type=Path,
        default=None,
        metavar="PTH",
        help="start from the authors' released ST-VQRL checkpoint (FAST-VQA state dict under 'model')",
    )
    pre.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override a config value, e.g. --set pretrain.k=5 (repeatable)")
    pre.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N | mps (default: the config's)")
    pre.add_argument("--no-resume", action="store_true", help="start over instead of resuming OUT/train/last.pt")
    pre.add_argument("--no-progress", action="store_true", help="no progress bars")
    pre.set_defaults(func=_run_pretrain)
    p.set_defaults(func=lambda args: (p.print_help(), 0)[1])


def _run_make_synthetic(args: argparse.Namespace) -> int:
    from st_vqrl.synthetic import make_synthetic

    start = time.perf_counter()
    versions = {} if args.versions is None else {"versions": args.versions}  # default: all of the bank
    counts = make_synthetic(args.src, args.out, progress=not args.no_progress, **versions)
    print(
        f"make-synthetic: {counts['videos']} source video(s), {counts['written']} file(s) written, "
        f"{counts['skipped']} already complete, {counts['failed']} failed, in {time.perf_counter() - start:.1f} s "
        f"-> {args.out}"
    )
    return 1 if counts["failed"] else 0


def _run_pretrain(args: argparse.Namespace) -> int:
    from st_vqrl.config import StVqrlConfig
    from st_vqrl.pretrain import pretrain_stvqrl
    from vqa_core.config import load_config

    overrides = list(args.set)
    if args.dataset:
        overrides.append(f"pretrain.dataset={args.dataset}")
    if args.init_from:
        overrides.append(f"init_from={args.init_from}")
    cfg = load_config(StVqrlConfig, args.config, overrides)
    path = pretrain_stvqrl(
        cfg, args.out, device=args.device, resume=not args.no_resume, progress=not args.no_progress
    )
    print(f"st-vqrl: pretrained backbone and projection written to {path}")
    return 0
