"""Generalisation probe (issue #15): on content and distortion settings the demo never shows, do a
trained checkpoint's scores fall as the distortion gets stronger, family by family?

A method can score well on the demo's test scenes by recognising the demo's 13 versions. This probe
asks something the demo splits cannot: take new content, apply each distortion family at settings
the demo does not use (and two variants it has no example of), and check that the score falls
with strength. Content: the pristine clips of `demo-pretrain` (8 scenes whose sources are
disjoint from the demo's by construction, `vqa_core.demo.check_demo_sets_disjoint`). Ladders, each
starting from the pristine clip (strength 0):

| ladder | settings | the demo has |
|---|---|---|
| h264 | CRF 20, 28, 32, 38, 44 | CRF 5, 35, 50 |
| mpeg2 | qscale 4, 8, 12, 16, 24 | qscale 1, 20, 30 |
| pyramid_blur | 1, 2, 3, 4, 5 pyramid levels | 2, 3, 4 |
| gaussian_blur | sigma 0.6, 1.2, 2, 3 (a blur the demo has no example of) | none |
| fps_interp | frame rate / 2 ... / 6, motion-interpolated back | / 2, 3, 4 |
| fps_hold | frame rate / 2, 3, 4, 6, each kept frame held (no interpolation) | none |

Per ladder and scene: Spearman's rho between strength and score (-1: the score falls at every
step). Reported per ladder: the median rho over scenes, how many scenes have rho <= -0.8, and the
mean score at each strength. Writes `generalisation.json` and `scores.csv` to `--out`; the
distorted clips are cached there and reused.

    uv run --frozen python benchmarks/generalisation.py \\
        --checkpoint runs/demo-intra-small-nopretrained/dagr/split_00/model.pt --out runs/gen-dagr
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
from kornia.filters import gaussian_blur2d
from scipy import stats

from vqa_core.distort.blur import pyramid_blur_frames
from vqa_core.distort.clip_io import (
    LOSSLESS_H264,
    frames_to_rgb,
    read_yuv_frames,
    rgb_to_frames,
    write_frames,
)
from vqa_core.distort.framerate import fps_drop_frames

Frames = list[av.VideoFrame]
Writer = Callable[[Frames, Fraction, Path, float], Path]


def _h264(frames: Frames, rate: Fraction, dst: Path, crf: float) -> Path:
    return write_frames(dst, frames, rate, "libx264", {"crf": str(int(crf)), "preset": "medium"})


def _mpeg2(frames: Frames, rate: Fraction, dst: Path, qscale: float) -> Path:
    return write_frames(dst, frames, rate, "mpeg2video", {"strict": "experimental"}, qscale=int(qscale))


def _lossless(dst: Path, rgb: np.ndarray, rate: Fraction) -> Path:
    return write_frames(dst, rgb_to_frames(rgb), rate, "libx264", LOSSLESS_H264)


def _pyramid(frames: Frames, rate: Fraction, dst: Path, depth: float) -> Path:
    return _lossless(dst, pyramid_blur_frames(frames_to_rgb(frames), int(depth)), rate)


def _gaussian(frames: Frames, rate: Fraction, dst: Path, sigma: float) -> Path:
    x = torch.from_numpy(frames_to_rgb(frames)).permute(0, 3, 1, 2).float()
    k = 2 * int(np.ceil(3 * sigma)) + 1
    y = gaussian_blur2d(x, (k, k), (sigma, sigma), border_type="reflect")
    return _lossless(dst, y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy(), rate)


def _interp(frames: Frames, rate: Fraction, dst: Path, divisor: float) -> Path:
    return write_frames(dst, fps_drop_frames(frames, rate, int(divisor)), rate, "libx264", LOSSLESS_H264)


def _hold(frames: Frames, rate: Fraction, dst: Path, divisor: float) -> Path:
    d = int(divisor)
    return write_frames(dst, [frames[i - i % d] for i in range(len(frames))], rate, "libx264", LOSSLESS_H264)


LADDERS: dict[str, tuple[Writer, list[float]]] = {
    "h264": (_h264, [20, 28, 32, 38, 44]),
    "mpeg2": (_mpeg2, [4, 8, 12, 16, 24]),
    "pyramid_blur": (_pyramid, [1, 2, 3, 4, 5]),
    "gaussian_blur": (_gaussian, [0.6, 1.2, 2.0, 3.0]),
    "fps_interp": (_interp, [2, 3, 4, 5, 6]),
    "fps_hold": (_hold, [2, 3, 4, 6]),
}


def demo_pretrain_sources(root: str | None) -> list[tuple[str, Path]]:
    """(scene, path) of the pristine clip of every demo-pretrain scene, building the set if missing."""
    from vqa_core.demo import ensure_demo_pretrain

    folder = ensure_demo_pretrain(root, progress=False)
    with open(folder / "manifest.csv", newline="") as f:
        return [(r["scene"], folder / r["path"]) for r in csv.DictReader(f) if r["family"] == "pristine"]


def build_probe_set(out: Path, sources: list[tuple[str, Path]]) -> list[dict]:
    """Rows (scene, ladder, strength, path) of every clip, written under `out/videos` if missing."""
    rows = []
    for scene, path in sources:
        frames, rate = read_yuv_frames(path)
        pristine = out / "videos" / f"{scene}_pristine.mp4"
        if not pristine.is_file():
            write_frames(pristine, frames, rate, "libx264", LOSSLESS_H264)
        for ladder, (writer, settings) in LADDERS.items():
            rows.append({"scene": scene, "ladder": ladder, "strength": 0.0, "path": pristine})
            for s in settings:
                dst = out / "videos" / f"{scene}_{ladder}_{s:g}.mp4"
                if not dst.is_file():
                    writer(frames, rate, dst, s)
                rows.append({"scene": scene, "ladder": ladder, "strength": float(s), "path": dst})
        print(f"  {scene}: {sum(len(v[1]) for v in LADDERS.values()) + 1} clips", flush=True)
    return rows


def summarise(rows: list[dict]) -> dict[str, dict]:
    """Per ladder: the median over scenes of Spearman(strength, score), how many fall, mean scores."""
    out = {}
    for ladder in LADDERS:
        mine = [r for r in rows if r["ladder"] == ladder]
        rhos = []
        for scene in sorted({r["scene"] for r in mine}):
            pts = sorted((r["strength"], r["score"]) for r in mine if r["scene"] == scene)
            rho = stats.spearmanr([p[0] for p in pts], [p[1] for p in pts])[0]
            rhos.append(float(rho) if np.isfinite(rho) else 0.0)  # a constant score does not fall
        levels = sorted({r["strength"] for r in mine})
        out[ladder] = {
            "median_rho": statistics.median(rhos),
            "scenes_falling": sum(r <= -0.8 for r in rhos),
            "scenes": len(rhos),
            "mean_score": {
                f"{s:g}": float(np.mean([r["score"] for r in mine if r["strength"] == s])) for s in levels
            },
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--checkpoint", required=True, help="a trained method checkpoint (e.g. a bench split's model.pt)"
    )
    p.add_argument("--out", required=True, type=Path, help="folder for the clips (reused) and the results")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--root", default=None, help="vqa-zoo cache root holding demo-pretrain (default: the usual one)"
    )
    p.add_argument(
        "--sources",
        nargs="*",
        type=Path,
        help="pristine clips to use instead of demo-pretrain's (scene = file stem)",
    )
    p.add_argument("--no-progress", action="store_true")
    a = p.parse_args(argv)
    from vqa_bench.score import load_scoring_method

    print("building the probe clips (cached under --out)", flush=True)
    sources = [(v.stem, v) for v in a.sources] if a.sources else demo_pretrain_sources(a.root)
    rows = build_probe_set(a.out, sources)
    method = load_scoring_method(a.checkpoint, None, a.device)
    paths = sorted({str(r["path"]) for r in rows})
    report = method.score(paths, progress=not a.no_progress)
    failed = [e for e in report.errors if e is not None]
    if failed:
        print(f"{len(failed)} clip(s) failed to score, first: {failed[0]}", file=sys.stderr)
        return 1
    score = dict(zip(paths, map(float, report.scores)))
    for r in rows:
        r["score"] = score[str(r["path"])]
    result = {"checkpoint": str(a.checkpoint), "method": method.name, "ladders": summarise(rows)}
    a.out.mkdir(parents=True, exist_ok=True)
    (a.out / "generalisation.json").write_text(json.dumps(result, indent=2))
    with open(a.out / "scores.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["scene", "ladder", "strength", "path", "score"])
        w.writeheader()
        w.writerows(rows)
    print(f"{'ladder':<14} {'median rho':>10} {'falling':>8}  mean score by strength")
    for ladder, s in result["ladders"].items():
        means = " ".join(f"{k}:{v:.2f}" for k, v in s["mean_score"].items())
        print(f"{ladder:<14} {s['median_rho']:>10.2f} {s['scenes_falling']:>4}/{s['scenes']:<3}  {means}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
