"""`vqa saliency`: saliency maps for videos, one 8-bit PNG per sampled frame, plus overlays.

    vqa saliency clip.mp4 --checkpoint runs/sal/saliency.pt --out maps/
    vqa saliency a.mp4 b.mkv --checkpoint sal.pt --out maps/ --num-frames 80 --overlay

Writes `OUT/<video stem>/<frame index>.png` (sigmoid, per-frame min-max, named by the source
frame index); with `--overlay` also `OUT/<video stem>/overlay.png` (a grid of frames and heat
maps) and `OUT/<video stem>/overlay.mp4`.

The parser of `vqa saliency-train` lives here too (`add_train_command`; training is in
saliency_core.train): building either parser imports nothing heavy, so `vqa --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vqa_core.errors import VqaError

CHUNK_WINDOWS = 8  # frames are decoded and run in chunks of this many model windows


def _even(n: int) -> int:
    return max(2, (n // 2) * 2)


def map_video(
    model,
    path: str | Path,
    out_dir: str | Path,
    num_frames: int | None = None,
    size: tuple[int, int] | None = None,
    overlay: bool = False,
    progress=None,
) -> list[Path]:
    """Write the PNG maps (and overlays) of one video; return the map paths.

    `num_frames` uniform frames (default: every frame); maps are at `size` (default: the video's
    displayed size). Long videos are processed in chunks of whole model windows, which gives the
    same maps as one pass because windows never overlap.
    """
    import numpy as np

    from saliency_core.infer import predict_maps
    from saliency_core.maps_io import to_uint8, write_maps
    from saliency_core.overlay import save_grid, write_overlay_video
    from vqa_core.sampling import uniform_indices
    from vqa_core.video import probe, read_clip

    path = Path(path)
    info = probe(path)
    indices = (
        uniform_indices(info.num_frames, num_frames).tolist() if num_frames else list(range(info.num_frames))
    )
    size = size or (info.height, info.width)
    clip_len = model.config.clip_len
    chunk = clip_len * CHUNK_WINDOWS
    target = Path(out_dir) / path.stem
    written: list[Path] = []
    shown_frames, shown_maps = [], []
    view = (_even(min(size[0], 270)), _even(round(size[1] * min(size[0], 270) / size[0])))
    task = progress.add_task(path.name, total=len(indices)) if progress is not None else None
    for start in range(0, len(indices), chunk):
        part = indices[start : start + chunk]
        clip = read_clip(path, part, size=size)
        maps = predict_maps(model, clip)
        written += write_maps(target, maps, part)
        if overlay:
            from PIL import Image

            small = [np.asarray(Image.fromarray(f).resize(view[::-1], Image.Resampling.BILINEAR)) for f in clip]
            small_maps = [
                np.asarray(Image.fromarray(m).resize(view[::-1], Image.Resampling.BILINEAR), dtype=np.float32) / 255
                for m in to_uint8(maps)
            ]
            shown_frames += small
            shown_maps += small_maps
        if progress is not None:
            progress.advance(task, len(part))
    if overlay and shown_frames:
        from saliency_core.overlay import heat_overlay

        frames, maps = np.stack(shown_frames), np.stack(shown_maps)
        save_grid(target / "overlay.png", frames, maps, indices)
        fps = info.fps * len(indices) / max(info.num_frames, 1) if info.fps else 8.0
        write_overlay_video(target / "overlay.mp4", heat_overlay(frames, maps), fps=max(fps, 1.0))
    return written


def _run(args: argparse.Namespace) -> int:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from saliency_core.train import load_saliency_model

    model = load_saliency_model(args.checkpoint, device=args.device)
    size = tuple(args.size) if args.size else None
    failed = 0
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, transient=True, disable=args.quiet) as bar:
        for video in args.videos:
            try:
                paths = map_video(model, video, args.out, args.num_frames, size, args.overlay, bar)
            except VqaError as err:
                failed += 1
                print(f"{video}: error: {err}", file=sys.stderr)
                continue
            if not args.quiet:
                extra = " + overlay.png/overlay.mp4" if args.overlay else ""
                bar.console.print(f"{video}: {len(paths)} maps in {paths[0].parent}{extra}")
    return 1 if failed else 0


def add_saliency_command(subparsers: argparse._SubParsersAction) -> None:
    """`vqa saliency`: register the subcommand (entry point of group vqa_zoo.commands)."""
    p = subparsers.add_parser(
        "saliency",
        help="write saliency maps of videos as PNGs (and overlays) with a trained saliency model",
        description=(
            "Run a saliency-core checkpoint over videos. Each sampled frame gets an 8-bit grey PNG "
            "OUT/<video>/<frame index>.png (sigmoid, then min-max per frame), named by its source frame "
            "index so it pairs with the RGB frame. The model runs on windows of its clip length."
        ),
    )
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (any container FFmpeg reads)")
    p.add_argument("--checkpoint", required=True, help="saliency.pt written by `vqa saliency-train`")
    p.add_argument("--out", required=True, help="output folder (one sub-folder per video)")
    p.add_argument("--num-frames", type=int, default=None,
                   help="maps for this many uniformly sampled frames (default: every frame)")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=None,
                   help="map size (default: the video's displayed size)")
    p.add_argument("--overlay", action="store_true", help="also write overlay.png (grid) and overlay.mp4")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    p.add_argument("--quiet", action="store_true", help="no progress bar or summary lines")
    p.set_defaults(func=_run)


# ----------------------------------------------------------------------------------- vqa saliency-train

# The names of saliency_core.config.SaliencyConfig.PRESETS, for --help without importing the config module (it
# pulls in torch through vqa_core.train); tests/saliency_core/test_command_startup.py keeps them equal.
TRAIN_PRESETS = ("tiny", "small", "full", "full-str", "full-dagr", "full-sc")


def add_train_arguments(p: argparse.ArgumentParser) -> None:
    """The options of `vqa saliency-train` and `python -m saliency_core.train`."""
    p.add_argument(
        "--config", default="small",
        help=f"preset ({', '.join(TRAIN_PRESETS)}) or a YAML file (may start from `preset: small`); default: small",
    )
    p.add_argument(
        "--data", default="demo-saliency",
        help="demo-saliency (built on first use), dhf1k, diem, or a manifest CSV; default: demo-saliency",
    )
    p.add_argument("--data-root", default=None, help="folder of the dataset (for demo-saliency: where to build it)")
    p.add_argument("--out", required=True, help="run folder: saliency.pt, train/last.pt, history, config")
    p.add_argument("--device", default=None, help="auto | cpu | cuda | cuda:N | mps (default: the config's, auto)")
    p.add_argument("--resume", action="store_true", help="continue the interrupted run in --out exactly")
    p.add_argument("--registers", choices=("none", "concat", "attention"), default=None,
                   help="override model.registers of the config")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override any config field, e.g. --set trainer.epochs=5 --set loss.nss=0.1 (repeatable)")
    p.add_argument("--max-steps", type=int, default=None, help="stop after this many optimizer steps")
    p.add_argument("--no-progress", action="store_true", help="no progress bars (log lines only)")


def run_train(args: argparse.Namespace) -> int:
    """Train as the parsed options say; prints the saved checkpoint and its validation metrics."""
    import logging

    from saliency_core.config import SaliencyConfig
    from saliency_core.train import read_saliency_checkpoint, train_saliency
    from vqa_core.config import load_config
    from vqa_core.errors import ConfigError
    from vqa_core.train import dist_info

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    overrides = list(args.overrides)
    if args.registers:
        overrides.append(f"model.registers={args.registers}")
    config = load_config(SaliencyConfig, args.config, overrides or None)
    out = Path(args.out)
    if not args.resume and (out / "train" / "last.pt").is_file():
        raise ConfigError(f"{out} already holds a run; pass --resume to continue it or choose another --out")
    path = train_saliency(
        config, args.data, out, data_root=args.data_root, device=args.device, resume=args.resume,
        progress=False if args.no_progress else None, max_steps=args.max_steps,
    )
    if dist_info().is_main:
        state = read_saliency_checkpoint(path)
        metrics = ", ".join(f"{k} {v:.4f}" for k, v in state["val_metrics"].items())
        print(f"saved {path} (best epoch {state['best_epoch']}; val {metrics}; {state['train_seconds']:.0f} s)")
    return 0


def add_train_command(subparsers: argparse._SubParsersAction) -> None:
    """`vqa saliency-train`: register the subcommand (entry point of group vqa_zoo.commands)."""
    p = subparsers.add_parser(
        "saliency-train",
        help="train a saliency UNet3D (register tokens none | concat | attention)",
        description=(
            "Train the video saliency model on demo-saliency, DHF1K or DIEM with the shared trainer: "
            "validation on held-out videos (AUC-Judd, sAUC, NSS, CC, SIM, KLD), best-CC selection, exact "
            "resume with --resume, and DDP when launched with torchrun. Writes OUT/saliency.pt."
        ),
    )
    add_train_arguments(p)
    p.set_defaults(func=run_train)
