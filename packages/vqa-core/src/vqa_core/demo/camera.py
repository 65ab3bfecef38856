"""Virtual camera motion over a still photo (pan, zoom, hand-held shake), and framing of real clips.

A still filmed by a moving camera gives a real-content clip with known, smooth global
motion: enough for the frame-rate-drop distortion to matter, and for saliency targets to
move over a real background. Frames are bilinear crops of a photo first shrunk (with an
antialiasing filter) to about 1.6x the output size, so no crop is ever a strong downscale.
"""

from __future__ import annotations

import numpy as np
import torch
from kornia.geometry.transform import crop_and_resize
from PIL import Image
from scipy.ndimage import gaussian_filter1d

from vqa_core.errors import ConfigError

__all__ = ["FULL", "MOTIONS", "camera_boxes", "cover_resize", "crop_region", "frame_clip", "render_camera"]

MOTIONS = ("pan", "zoom_in", "zoom_out", "shake", "pan_shake", "zoom_shake")
_COVER = 1.6  # the shrunk photo covers this multiple of the output size
_BATCH = 16
FULL = (0.0, 0.0, 1.0, 1.0)  # a region covering the whole picture


def crop_region(image: np.ndarray, region: tuple[float, float, float, float]) -> np.ndarray:
    """The part (left, top, right, bottom as fractions of width and height) of `image`; FULL returns it as is."""
    left, top, right, bottom = region
    if not (0.0 <= left < right <= 1.0 and 0.0 <= top < bottom <= 1.0):
        raise ConfigError(
            f"region {region} must be (left, top, right, bottom) fractions with left < right, top < bottom"
        )
    if tuple(region) == FULL:
        return image
    h, w = image.shape[:2]
    return np.ascontiguousarray(image[round(top * h) : round(bottom * h), round(left * w) : round(right * w)])


def cover_resize(image: np.ndarray, height: int, width: int, cover: float = _COVER) -> np.ndarray:
    """Antialiased resize so the image covers `cover` x (height, width), aspect kept."""
    h, w = image.shape[:2]
    scale = max(cover * height / h, cover * width / w)
    size = (max(round(w * scale), width), max(round(h * scale), height))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))


def _smoothstep(t: np.ndarray) -> np.ndarray:
    return t * t * (3 - 2 * t)


def camera_boxes(
    motion: str, num_frames: int, image_hw: tuple[int, int], out_hw: tuple[int, int], seed: int
) -> np.ndarray:
    """(T, 4) crop boxes `x0, y0, w, h` (pixels of the image) tracing `motion`."""
    if motion not in MOTIONS:
        raise ConfigError(f"unknown camera motion {motion!r}; choose one of {', '.join(MOTIONS)}")
    rng = np.random.default_rng(seed)
    img_h, img_w = image_hw
    out_h, out_w = out_hw
    t = np.linspace(0.0, 1.0, num_frames)
    scale = np.full(num_frames, 1.2)
    if motion.startswith("zoom_in") or motion == "zoom_shake":
        scale = 1.5 - 0.5 * _smoothstep(t)
    elif motion == "zoom_out":
        scale = 1.0 + 0.5 * _smoothstep(t)
    box_w, box_h = out_w * scale, out_h * scale
    # Free travel of the box centre along each axis at the largest box.
    free_x = max(img_w - box_w.max(), 0.0) / 2
    free_y = max(img_h - box_h.max(), 0.0) / 2
    cx = np.full(num_frames, img_w / 2 + rng.uniform(-0.3, 0.3) * free_x)
    cy = np.full(num_frames, img_h / 2 + rng.uniform(-0.3, 0.3) * free_y)
    if motion.startswith("pan"):
        angle = rng.uniform(0, 2 * np.pi)
        travel = np.linspace(-0.8, 0.8, num_frames)
        cx = img_w / 2 + np.cos(angle) * travel * free_x
        cy = img_h / 2 + np.sin(angle) * travel * free_y
    # Every camera is hand-held: a smoothed random walk, strong for "shake" motions, slight
    # otherwise. Perfectly linear pans and zooms would be interpolated almost exactly by
    # motion-compensated frame-rate conversion, leaving the fps-drop levels indistinguishable.
    amplitude = (0.04 if motion.endswith("shake") else 0.012) * out_w
    walk = gaussian_filter1d(rng.normal(size=(2, num_frames)), sigma=1.5, axis=1)
    walk /= np.abs(walk).max() + 1e-9
    cx = cx + amplitude * walk[0]
    cy = cy + amplitude * walk[1]
    cx = np.clip(cx, box_w / 2, img_w - box_w / 2)
    cy = np.clip(cy, box_h / 2, img_h - box_h / 2)
    return np.stack([cx - box_w / 2, cy - box_h / 2, box_w, box_h], axis=1)


def render_camera(image: np.ndarray, boxes: np.ndarray, out_hw: tuple[int, int]) -> np.ndarray:
    """(T, H, W, C) uint8 frames: each box of `image` resampled to `out_hw`."""
    chw = torch.from_numpy(np.array(image, dtype=np.float32)).permute(2, 0, 1).unsqueeze(0)
    out = []
    for start in range(0, len(boxes), _BATCH):
        b = torch.from_numpy(boxes[start : start + _BATCH]).float()
        x0, y0 = b[:, 0], b[:, 1]
        x1, y1 = x0 + b[:, 2] - 1, y0 + b[:, 3] - 1
        corners = torch.stack(
            [
                torch.stack([x0, y0], 1),
                torch.stack([x1, y0], 1),
                torch.stack([x1, y1], 1),
                torch.stack([x0, y1], 1),
            ],
            dim=1,
        )
        crops = crop_and_resize(chw.expand(len(b), -1, -1, -1), corners, out_hw, mode="bilinear")
        out.append(crops.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy())
    return np.concatenate(out)


def frame_clip(
    frames: np.ndarray, height: int, width: int, x_position: float = 0.5, zoom: float = 1.0
) -> np.ndarray:
    """Crop real-clip frames to the output aspect and resize.

    The crop is `zoom` (0 < zoom <= 1) times the largest one of the output aspect, placed at
    `x_position` across the spare width and centred vertically; zoom < 1 films a part of the
    frame (two crops at x_position 0 and 1 are disjoint when zoom * crop width <= half the frame).
    """
    if not 0.0 < zoom <= 1.0:
        raise ConfigError(f"clip zoom must be in (0, 1], got {zoom}")
    h, w = frames.shape[1:3]
    target = width / height
    if w / h > target:
        crop_w, crop_h = round(h * target), h
    else:
        crop_w, crop_h = w, round(w / target)
    if zoom < 1.0:
        crop_w, crop_h = round(crop_w * zoom), round(crop_h * zoom)
    x0 = round((w - crop_w) * min(max(x_position, 0.0), 1.0))
    y0 = (h - crop_h) // 2
    return np.stack(
        [
            np.asarray(
                Image.fromarray(f[y0 : y0 + crop_h, x0 : x0 + crop_w]).resize(
                    (width, height), Image.Resampling.LANCZOS
                )
            )
            for f in frames
        ]
    )
