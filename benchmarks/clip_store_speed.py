"""What the on-disk store of decoded clips saves: decoding a training clip against reading it back.

STR/DAGR-VQA and SC-VQA `small` read the same frames of every video in every epoch (8 positions of
4 consecutive frames, native size). With `data.cache_clips` those clips are decoded once into
`vqa_core.video.DecodedClipStore` and memory-mapped after, by later epochs, splits and runs. This
script times, on the same videos in one run:

- `decode`: `read_clip` of each clip (what every split's first epoch paid before the store);
- `store, first read`: decoding into an empty store (decode + one write);
- `store, read back`: a new store on the same folder reading each clip and copying it out (what
  later epochs, splits and runs pay), median of `--repeats`.

    uv run --frozen python benchmarks/clip_store_speed.py --videos 40 --out clip_store.json

Videos: an evenly spaced pick of the demo's (built on first use), or `--manifest CSV` (a
`path` column, relative paths taken from the CSV's folder). Run it on a quiet machine: it is a timing. The OS page cache is warm for the
read-back rounds, as it is during training; the first read runs on files the OS may have cached
from earlier use too.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np


def clip_frames(path: str, frames: int, window: int) -> list[int]:
    """The frames a `small` preset reads: `frames` positions as the methods pick them
    (`saliency_core.clip_indices`), `window` consecutive frames each."""
    from saliency_core.guided_clips import clip_indices
    from vqa_core.datasets import ManifestItem
    from vqa_core.rhythm import window_indices

    item = ManifestItem(Path(path).stem, Path(path), float("nan"))
    return window_indices(clip_indices(item, frames, window), window)


def pick_videos(manifest: Path | None, count: int) -> list[str]:
    if manifest is None:
        from vqa_core.demo import ensure_demo

        manifest = Path(ensure_demo(progress=False)) / "manifest.csv"
    with open(manifest, newline="") as fh:
        paths = [str(manifest.parent / row["path"]) for row in csv.DictReader(fh)]  # relative: to the CSV
    if not paths:
        raise SystemExit(f"{manifest}: no videos")
    keep = np.unique(np.linspace(0, len(paths) - 1, min(count, len(paths))).round().astype(int))
    return [paths[i] for i in keep]


def measure(paths: list[str], frames: int, window: int, repeats: int, folder: Path) -> dict[str, Any]:
    from vqa_core.video import DecodedClipStore, read_clip

    jobs = [(p, clip_frames(p, frames, window)) for p in paths]
    t0 = time.perf_counter()
    for p, idx in jobs:
        read_clip(p, idx)
    decode_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    store = DecodedClipStore(folder)
    for p, idx in jobs:
        store.read(p, idx, None)
    first_s = time.perf_counter() - t0
    again = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        store = DecodedClipStore(folder)
        for p, idx in jobs:
            np.array(store.read(p, idx, None))
        again.append(time.perf_counter() - t0)
    again_s = statistics.median(again)
    disk = sum(f.stat().st_size for f in folder.rglob("*.npy"))
    n = len(jobs)
    return {
        "videos": n,
        "frames_per_clip": len(jobs[0][1]),
        "decode_s_per_clip": decode_s / n,
        "store_first_s_per_clip": first_s / n,
        "store_read_back_s_per_clip": again_s / n,
        "read_back_speedup": decode_s / again_s if again_s > 0 else None,
        "disk_mb": disk / 2**20,
    }


def markdown(result: dict[str, Any]) -> str:
    r = result["result"]
    return "\n".join(
        [
            f"# clip store: {r['videos']} videos, {r['frames_per_clip']} frames a clip, native size",
            "",
            "| what | s per clip | x decode |",
            "|---|---|---|",
            f"| decode (`read_clip`) | {r['decode_s_per_clip']:.4f} | 1 |",
            f"| store, first read (decode + write) | {r['store_first_s_per_clip']:.4f} | "
            f"{r['store_first_s_per_clip'] / r['decode_s_per_clip']:.2f} |",
            f"| store, read back (median of {result['repeats']}) | {r['store_read_back_s_per_clip']:.4f} | "
            f"{r['store_read_back_s_per_clip'] / r['decode_s_per_clip']:.3f} |",
            "",
            f"On disk: {r['disk_mb']:.1f} MB. Machine: {result['machine']}.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=int, default=40, help="how many videos (evenly spaced over the manifest)")
    ap.add_argument("--frames", type=int, default=8, help="sampled positions per clip (the small presets: 8)")
    ap.add_argument("--window", type=int, default=4, help="consecutive frames per position (rhythm_window: 4)")
    ap.add_argument("--repeats", type=int, default=3, help="read-back rounds; the median is reported")
    ap.add_argument("--manifest", type=Path, default=None, help="CSV with a path column (default: the demo)")
    ap.add_argument("--out", type=Path, default=Path("clip_store.json"), help="JSON result (a .md table next to it)")
    args = ap.parse_args(argv)
    if min(args.videos, args.frames, args.window, args.repeats) < 1:
        ap.error("--videos, --frames, --window and --repeats must be >= 1")
    import torch

    paths = pick_videos(args.manifest, args.videos)
    with tempfile.TemporaryDirectory(prefix="clip-store-") as tmp:
        result = measure(paths, args.frames, args.window, args.repeats, Path(tmp))
    out = {
        "result": result,
        "repeats": args.repeats,
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads",
        "python": sys.version.split()[0],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    args.out.with_suffix(".md").write_text(markdown(out))
    print(markdown(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
