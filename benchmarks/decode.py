"""Decode benchmark: how much cheaper `read_clip` is than decoding a whole clip.

Generates two H.264 clips with a keyframe every 2 s and realistic bitrate (textured, panning
content; libx264 veryfast, crf 23): a 10 s 1080p clip and a 60 s 720p clip. For 8 uniformly
sampled frames resized to 224x398 it times, per repeat and interleaved so machine load hits
all three alike:

  full   decode every frame, no conversion (the floor of any decode-everything approach)
  naive  decode every frame to RGB, keep the wanted ones, resize them in torch
  read   vqa_core.video.read_clip(path, indices, size=(224, 398))

and reports the median wall times, the ratios read/full and read/naive, and the ratio of
CPU time (all threads of the process), which machine load barely moves. Aims: read/full <= 0.75
on the 10 s clip and <= 0.2 on the 60 s clip. Run it niced on a shared machine:

    nice -n 10 uv run --frozen python benchmarks/decode.py --repeats 5

Generated clips are kept in --workdir (default: a temporary folder removed at the end), and
reused when they already exist there, so repeated runs skip the encode.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from vqa_core.video import probe, read_clip


@dataclass(frozen=True)
class ClipSpec:
    name: str
    seconds: int
    height: int
    width: int
    fps: int = 30
    keyframe_seconds: int = 2
    crf: int = 23
    preset: str = "veryfast"

    @property
    def filename(self) -> str:
        return (
            f"{self.name}_{self.width}x{self.height}_{self.seconds}s_{self.fps}fps_"
            f"g{self.keyframe_seconds}s_crf{self.crf}_{self.preset}.mp4"
        )


CLIPS = (ClipSpec("10s-1080p", 10, 1080, 1920), ClipSpec("60s-720p", 60, 720, 1280))
AIMS = {"10s-1080p": 0.75, "60s-720p": 0.2}


def _texture(height: int, width: int, seed: int) -> np.ndarray:
    """A large smooth-plus-noise RGB texture; frames are moving windows of it (a camera pan)."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(0, 256, size=(height // 8 + 2, width // 8 + 2, 3), dtype=np.uint8)
    big = np.repeat(np.repeat(coarse, 8, axis=0), 8, axis=1).astype(np.int16)
    fine = rng.integers(-24, 25, size=big.shape, dtype=np.int16)
    return np.clip(big + fine, 0, 255).astype(np.uint8)


def generate(spec: ClipSpec, folder: Path, progress: Progress) -> Path:
    path = folder / spec.filename
    if path.exists() and path.stat().st_size > 0:
        return path
    tmp = path.with_suffix(".part.mp4")
    n = spec.seconds * spec.fps
    pad = 4 * n + 16
    tex = _texture(spec.height + pad, spec.width + pad, seed=spec.height)
    task = progress.add_task(f"encoding {spec.filename}", total=n)
    with av.open(str(tmp), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(spec.fps))
        stream.width, stream.height, stream.pix_fmt = spec.width, spec.height, "yuv420p"
        stream.codec_context.gop_size = spec.keyframe_seconds * spec.fps
        stream.options = {"crf": str(spec.crf), "preset": spec.preset, "sc_threshold": "0"}
        side = spec.height // 5
        for i in range(n):
            y, x = (2 * i) % pad, (3 * i) % pad
            rgb = tex[y : y + spec.height, x : x + spec.width].copy()
            bx = (7 * i) % (spec.width - side)
            rgb[spec.height // 3 : spec.height // 3 + side, bx : bx + side] = (220, 40, 40)
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
            progress.advance(task)
        for packet in stream.encode():
            container.mux(packet)
    tmp.rename(path)
    progress.remove_task(task)
    return path


def decode_everything(path: Path) -> int:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_type = "AUTO"
        return sum(1 for _ in c.decode(s))


def naive(path: Path, indices: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    wanted = set(indices.tolist())
    kept: dict[int, np.ndarray] = {}
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.codec_context.thread_type = "AUTO"
        for i, frame in enumerate(c.decode(s)):
            rgb = frame.to_ndarray(format="rgb24")  # every frame, full resolution
            if i in wanted:
                kept[i] = rgb
    last = max(kept)
    clip = torch.from_numpy(np.stack([kept.get(i, kept[last]) for i in indices.tolist()]))
    clip = clip.permute(0, 3, 1, 2).float()
    out = F.interpolate(clip, size=size, mode="bilinear", antialias=True, align_corners=False)
    return out.round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()


@dataclass
class Result:
    clip: str
    frames_in_clip: int
    indices: list[int]
    full_s: float
    naive_s: float
    read_s: float
    read_over_full: float
    read_over_full_range: tuple[float, float]  # min and max of the per-repeat ratios
    read_over_naive: float
    cpu_full_s: float
    cpu_read_s: float
    cpu_read_over_full: float
    aim_read_over_full: float
    met: bool


def bench(path: Path, spec: ClipSpec, num: int, size: tuple[int, int], repeats: int, progress: Progress) -> Result:
    n = probe(path).num_frames
    indices = ((np.arange(num) + 0.5) * n / num).astype(np.int64)  # centres of num equal segments
    runs: dict[str, list[float]] = {"full": [], "naive": [], "read": []}
    cpu: dict[str, list[float]] = {"full": [], "naive": [], "read": []}
    calls = {
        "full": lambda: decode_everything(path),
        "naive": lambda: naive(path, indices, size),
        "read": lambda: read_clip(path, indices, size=size),
    }
    order = list(calls)
    task = progress.add_task(f"timing {spec.name}", total=repeats)
    for r in range(repeats):
        for name in order[r % 3 :] + order[: r % 3]:  # rotate the order so no method always goes first
            t0, c0 = time.perf_counter(), time.process_time()
            calls[name]()
            runs[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)  # all threads of this process: load-independent
        progress.advance(task)
    progress.remove_task(task)
    med = {k: statistics.median(v) for k, v in runs.items()}
    per_repeat = [r / f for r, f in zip(runs["read"], runs["full"])]
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    aim = AIMS.get(spec.name, float("nan"))
    return Result(
        clip=spec.name,
        frames_in_clip=n,
        indices=indices.tolist(),
        full_s=med["full"],
        naive_s=med["naive"],
        read_s=med["read"],
        read_over_full=med["read"] / med["full"],
        read_over_full_range=(min(per_repeat), max(per_repeat)),
        read_over_naive=med["read"] / med["naive"],
        cpu_full_s=cpu_med["full"],
        cpu_read_s=cpu_med["read"],
        cpu_read_over_full=cpu_med["read"] / cpu_med["full"],
        aim_read_over_full=aim,
        met=med["read"] / med["full"] <= aim,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0]
        + " Generates test clips, times read_clip against full decoding, prints a table.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split("\n\n", 1)[1],
    )
    p.add_argument("--workdir", type=Path, default=None, help="keep generated clips here (reused if present)")
    p.add_argument("--repeats", type=int, default=5, help="timed repeats per clip; the median is reported (default 5)")
    p.add_argument("--frames", type=int, default=8, help="uniformly sampled frames per clip (default 8)")
    p.add_argument("--size", default="224x398", help="output HxW (default 224x398)")
    p.add_argument("--clips", nargs="+", choices=[c.name for c in CLIPS], default=[c.name for c in CLIPS])
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    args = p.parse_args(argv)
    try:
        h, w = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        p.error(f"--size must look like 224x398, got {args.size!r}")
    args.size_hw = (h, w)
    if args.repeats < 1 or args.frames < 1:
        p.error("--repeats and --frames must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    console = Console(width=max(120, Console().width))
    with tempfile.TemporaryDirectory(prefix="vqa-decode-bench-") as tmp:
        folder = args.workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        results = []
        with Progress(console=console, transient=True) as progress:
            for spec in (c for c in CLIPS if c.name in args.clips):
                path = generate(spec, folder, progress)
                results.append(bench(path, spec, args.frames, args.size_hw, args.repeats, progress))
    load = os.getloadavg()
    table = Table(
        title=f"{args.frames} uniform frames at {args.size}, median of {args.repeats} (interleaved); "
        f"{os.cpu_count()} CPUs, load average at the end {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
    )
    for col in (
        "clip", "frames", "full decode s", "naive RGB s", "read_clip s", "read/full", "per-repeat range", "aim",
        "read/naive", "CPU read/full",
    ):
        table.add_column(col, justify="right")
    for r in results:
        table.add_row(
            r.clip,
            str(r.frames_in_clip),
            f"{r.full_s:.3f}",
            f"{r.naive_s:.3f}",
            f"{r.read_s:.3f}",
            f"[{'green' if r.met else 'red'}]{r.read_over_full:.3f}[/]",
            f"{r.read_over_full_range[0]:.3f}-{r.read_over_full_range[1]:.3f}",
            f"<= {r.aim_read_over_full:g}",
            f"{r.read_over_naive:.3f}",
            f"{r.cpu_read_over_full:.3f}",
        )
    console.print(table)
    if args.json:
        doc = {"cpus": os.cpu_count(), "load_average_at_end": load, "results": [asdict(r) for r in results]}
        args.json.write_text(json.dumps(doc, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
