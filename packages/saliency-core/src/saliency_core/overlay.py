"""Pictures of saliency a person can look at: heat-map overlays, a PNG grid and an MP4."""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from matplotlib import colormaps
from PIL import Image, ImageDraw


def heat_overlay(frames: np.ndarray, maps: np.ndarray, alpha: float = 0.5) -> np.ndarray:
    """uint8 `(T, H, W, 3)` frames blended with the `jet` colours of maps `(T, H, W)` in [0, 1].

    The blend weight grows with saliency (alpha * map), so unsalient regions keep the frame.
    """
    colours = colormaps["jet"](np.clip(maps, 0.0, 1.0))[..., :3]  # (T, H, W, 3) in [0, 1]
    weight = alpha * np.clip(maps, 0.0, 1.0)[..., None]
    out = (1.0 - weight) * (frames.astype(np.float32) / 255.0) + weight * colours
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def save_grid(
    path: str | Path,
    frames: np.ndarray,
    maps: np.ndarray,
    indices: Sequence[int],
    max_tiles: int = 8,
    columns: int = 4,
) -> Path:
    """A PNG with, for up to `max_tiles` evenly spread frames, the frame above its overlay."""
    path = Path(path)
    picks = np.unique(np.linspace(0, len(frames) - 1, min(max_tiles, len(frames))).round().astype(int))
    over = heat_overlay(frames[picks], maps[picks])
    h, w = frames.shape[1:3]
    label = 14
    cols = min(columns, len(picks))
    rows = -(-len(picks) // cols)
    canvas = Image.new("RGB", (cols * w, rows * (2 * h + label)), "white")
    draw = ImageDraw.Draw(canvas)
    for k, p in enumerate(picks):
        x, y = (k % cols) * w, (k // cols) * (2 * h + label)
        draw.text((x + 2, y + 1), f"frame {int(indices[p])}", fill="black")
        canvas.paste(Image.fromarray(frames[p]), (x, y + label))
        canvas.paste(Image.fromarray(over[k]), (x, y + label + h))
    path.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(path)
    return path


def write_overlay_video(path: str | Path, frames: np.ndarray, fps: float = 8.0) -> Path:
    """Encode uint8 `(T, H, W, 3)` frames as H.264 MP4 (sizes rounded down to even for yuv420p)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = (frames.shape[1] // 2) * 2, (frames.shape[2] // 2) * 2
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "20"}
        for frame in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:h, :w]), format="rgb24")
            for packet in stream.encode(vf.reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
