"""`vqa ssl`: train SSL-VQA / QASA-VQA with a labelled budget, and score videos with a trained model.

    vqa ssl fit --method ssl --dataset demo --labelled 0.25 --config small --out runs/ssl
    vqa ssl fit --method qasa --dataset konvid-1k --data-root /data/KoNViD --labelled 500 --config full
    vqa ssl score --model runs/ssl/model.pt clip1.mp4 clip2.mp4
    vqa ssl score --release sslvqa_30.pth --method ssl --references /data/pristine clip.mp4

Registered through the entry-point group `vqa_zoo.commands` (`add`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from vqa_core.errors import ConfigError

__all__ = ["add", "parse_labelled"]


def parse_labelled(text: str) -> int | float:
    """`--labelled`: a count ("500") or a fraction of the training split ("0.25")."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--labelled must be a count or a fraction, got {text!r}") from None
    if value.is_integer() and "." not in text:
        return int(value)
    return value


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ssl",
        help="semi-supervised SSL-VQA / QASA-VQA: train with a labelled budget, score videos",
        description=(
            "SSL-VQA (NIQE-like Swin3D auxiliary) and QASA-VQA (CLIP auxiliary): a primary Swin3D + VQAHead "
            "trained on a labelled part of the training split and, through a second model, on the rest "
            "without labels."
        ),
    )
    actions = p.add_subparsers(dest="ssl_command", metavar="ACTION")
    fit = actions.add_parser(
        "fit",
        help="train on one split of a dataset with --labelled videos labelled, report test metrics",
        description="Train on split --split of --dataset (the protocol's splits), select on its validation "
        "part, save <out>/model.pt and print SRCC/PLCC on its test part.",
    )
    fit.add_argument("--method", choices=("ssl", "qasa"), default="ssl", help="ssl (SSL-VQA) or qasa (QASA-VQA)")
    fit.add_argument("--dataset", default="demo", help="dataset name from data_manifests/ (default: demo)")
    fit.add_argument("--data-root", type=Path, default=None, help="the dataset's folder (not needed for demo)")
    fit.add_argument("--split", type=int, default=0, help="which of the protocol's splits (default: 0)")
    fit.add_argument("--config", default="small", help="preset tiny | small | full, or a YAML file (default: small)")
    fit.add_argument(
        "--labelled", type=parse_labelled, default=None,
        help="labelled training videos: a count (500) or a fraction (0.25); the rest are unlabelled "
        "(default: the config's semi.labelled)",
    )
    fit.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE",
                     help="override a config field, e.g. --set semi.transfer=sample (repeatable)")
    fit.add_argument("--no-pretrained", action="store_true",
                     help="random init instead of downloaded weights (Kinetics / CLIP), for offline machines")
    fit.add_argument("--out", type=Path, default=Path("runs/ssl"), help="work folder (resumable; default runs/ssl)")
    fit.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    fit.add_argument("--no-progress", action="store_true", help="no progress bars")
    fit.set_defaults(func=run_fit)

    score = actions.add_parser(
        "score",
        help="score videos with a trained model (or the authors' released weights)",
        description="Print one MOS-scale score per video (raw scores for released weights, which carry no "
        "calibration).",
    )
    score.add_argument("videos", nargs="+", type=Path, metavar="VIDEO")
    score.add_argument("--model", type=Path, default=None, help="a checkpoint written by `vqa ssl fit`")
    score.add_argument("--release", type=Path, default=None, help="the authors' {primary, auxillary} file")
    score.add_argument("--method", choices=("ssl", "qasa"), default="ssl", help="method of --release")
    score.add_argument("--config", default="full", help="config of --release (default: full)")
    score.add_argument("--references", type=Path, default=None,
                       help="folder of pristine videos (SSL-VQA releases need its reference Gaussian)")
    score.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    score.add_argument("--json", action="store_true", help="one JSON object per video")
    score.set_defaults(func=run_score)
    p.set_defaults(func=lambda args: p.print_help() or 0)


def _method_class(name: str):
    from ssl_vqa.method import QasaMethod, SslMethod

    return {"ssl": SslMethod, "qasa": QasaMethod}[name]


def run_fit(args: argparse.Namespace) -> int:
    import numpy as np

    from vqa_core.config import load_config
    from vqa_core.datasets import build_manifest, make_splits
    from vqa_core.metrics import quality_metrics

    cls = _method_class(args.method)
    overrides = list(args.overrides)
    if args.labelled is not None:
        overrides.append(f"semi.labelled={args.labelled}")
    if args.no_pretrained:
        overrides.append("stvqrl.backbone.pretrained=false")
        if args.method == "qasa":
            overrides.append("clip.pretrained=null")
    cfg = load_config(cls.config_class, args.config, overrides)
    if args.dataset == "demo" and args.data_root is None:
        from vqa_core.demo import ensure_demo

        root = ensure_demo(progress=not args.no_progress)
    elif args.data_root is None:
        raise ConfigError(f"--data-root is needed for dataset {args.dataset!r}")
    else:
        root = args.data_root
    manifest = build_manifest(args.dataset, root)
    splits = make_splits(manifest)
    if not 0 <= args.split < len(splits):
        raise ConfigError(f"--split {args.split} is out of range: {args.dataset} has {len(splits)} split(s)")
    split = splits[args.split]
    by_id = {it.video_id: it for it in manifest.items}
    train, val, test = ([by_id[i] for i in part] for part in (split.train, split.val, split.test))
    method = cls(cfg, device=args.device)
    history = method.fit(train, val, args.out, progress=not args.no_progress)
    path = method.save(args.out / "model.pt")
    report = {"method": args.method, "dataset": args.dataset, "split": args.split,
              "labelled": history["labelled"], "unlabelled": history["unlabelled"], "checkpoint": str(path)}
    if test:
        pred = method.predict(test, progress=not args.no_progress)
        metrics = quality_metrics(pred, np.array([it.mos for it in test]))
        report.update({k: float(v) for k, v in metrics.items() if isinstance(v, int | float)})
    print(json.dumps(report, indent=1))
    return 0


def run_score(args: argparse.Namespace) -> int:
    from vqa_core.method import Method, read_method_checkpoint

    model_path = args.model
    if (model_path is None) == (args.release is None):
        raise ConfigError("give either --model (a `vqa ssl fit` checkpoint) or --release (the authors' file)")
    if args.release is not None:
        method = _method_class(args.method).from_release(args.release, args.config, device=args.device)
        if args.method == "ssl":
            if args.references is None:
                raise ConfigError("an SSL-VQA release needs --references, a folder of pristine videos")
            method.fit_references(_videos_in(args.references))
    else:
        stored = read_method_checkpoint(model_path)["method"]
        cls = _method_class(stored) if stored in ("ssl", "qasa") else Method
        method = cls.load(model_path, device=args.device)
    scores = method.predict([str(v) for v in args.videos])
    for video, value in zip(args.videos, scores):
        print(json.dumps({"video": str(video), "score": float(value)}) if args.json else f"{video}: {value:.4f}")
    return 0


def _videos_in(folder: Path) -> list[str]:
    from ssl_vqa.method import VIDEO_SUFFIXES

    files = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise ConfigError(f"--references {folder} holds no videos ({', '.join(VIDEO_SUFFIXES)})")
    return files
