"""Small synthetic videos for tests, examples and benchmarks, written with PyAV.

Tests across the workspace need real encoded files (not arrays) to exercise decoding, but
nothing may be downloaded. Every frame carries its own index: the frame's top band has a
uniform grey level `index_level(i, n)`, so a test can tell which frame a decoder returned
even after lossy compression and resizing.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vqa_core.distort.clip_io import portable_encoder_options


def index_level(i: int, num_frames: int) -> int:
    """Grey level (0-255) of the top band of frame `i` in a clip of `num_frames` frames."""
    return round(20 + 215 * i / max(num_frames - 1, 1))


def synthetic_frame(i: int, num_frames: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """RGB uint8 frame `i`: an index band on top, a textured scene with a moving square below."""
    yy, xx = np.mgrid[0:height, 0:width]
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0, 2 * np.pi, size=3)
    frame = np.empty((height, width, 3), dtype=np.float64)
    for c in range(3):
        frame[..., c] = 128 + 60 * np.sin(xx / (7.0 + 3 * c) + phase[c] + 0.15 * i) * np.cos(yy / 9.0)
    side = max(4, min(height, width) // 4)
    x0 = int((i * 3 + seed * 5) % max(width - side, 1))
    y0 = int((height // 2 + i * 2) % max(height - side, 1))
    frame[y0 : y0 + side, x0 : x0 + side] = (230, 40, 40)
    band = max(2, height // 8)
    frame[:band] = index_level(i, num_frames)
    return np.clip(frame, 0, 255).astype(np.uint8)


def make_video(
    path: str | Path,
    num_frames: int = 16,
    height: int = 64,
    width: int = 96,
    fps: float = 25.0,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    gop: int | None = None,
    options: dict[str, str] | None = None,
    seed: int = 0,
    frames: np.ndarray | None = None,
    *,
    timestamps: Sequence[float] | None = None,
    rotation: int = 0,
) -> Path:
    """Encode a clip with PyAV and return its path.

    `frames` (T, H, W, 3) uint8 overrides the synthetic content. `options` go to the encoder
    (e.g. {"crf": "18"}); x264 defaults to a near-lossless CRF so the index band survives.
    `timestamps` (seconds, increasing, one per frame) gives variable frame rate or a first
    frame that does not start at 0; `rotation` writes a display matrix (counter-clockwise
    degrees, as `VideoFrame.rotation` reads it back), as phones do for portrait video.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if frames is not None:
        num_frames, height, width = frames.shape[:3]
    rate = Fraction(fps).limit_denominator(1001)
    # golden outputs are computed from these clips: the same bytes on every CPU, one encoder thread
    opts = portable_encoder_options(codec, options)
    if codec in ("libx264", "libx265") and "crf" not in opts:
        opts["crf"] = "10"
    if timestamps is not None and len(timestamps) != num_frames:
        raise ValueError(f"timestamps has {len(timestamps)} entries for {num_frames} frames")
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        stream.codec_context.thread_count = 1
        if gop is not None:
            stream.codec_context.gop_size = gop
        if opts:
            stream.options = opts
        if rotation:
            stream.set_display_rotation(rotation)
        clock = Fraction(1, 1000)
        if timestamps is not None:
            stream.codec_context.time_base = clock
        for i in range(num_frames):
            rgb = frames[i] if frames is not None else synthetic_frame(i, num_frames, height, width, seed)
            # single-threaded swscale: FFmpeg's threaded conversion is not deterministic (see
            # vqa_core.video.resize.SWSCALE_THREADS)
            rgb_frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            frame = rgb_frame.reformat(format=pix_fmt, threads=1)
            if timestamps is not None:
                frame.pts, frame.time_base = round(timestamps[i] / clock), clock
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_audio(path: str | Path, seconds: float = 0.5, rate: int = 16000) -> Path:
    """An audio-only AAC file (a sine tone): the "file with no video stream" case for error tests."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        t = np.arange(int(seconds * rate)) / rate
        samples = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None, :]
        chunk = 1024
        for start in range(0, samples.shape[1], chunk):
            piece = np.ascontiguousarray(samples[:, start : start + chunk])
            frame = av.AudioFrame.from_ndarray(piece, format="fltp", layout="mono")
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def modules_imported_by(code: str, modules: Sequence[str]) -> list[str]:
    """Which of `modules` a fresh interpreter has imported after running `code`: the start-up
    tests' check that importing a package or building a command parser stays torch-free."""
    import subprocess
    import sys

    probe = f"{code}\nimport sys\nprint(','.join(m for m in {list(modules)!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"start-up probe failed:\n{done.stderr}")
    return [m for m in done.stdout.strip().split(",") if m]
