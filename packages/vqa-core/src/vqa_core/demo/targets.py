"""Salient targets for `demo-saliency`: sprites cut from real photos or drawn as bold shapes, and their paths.

A target is an RGBA sprite plus a trajectory; the fixation model treats its centre as the
attended point, so the clip's ground truth is known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw

from vqa_core.demo.sources import load_still

__all__ = ["SPRITES", "Target", "make_sprite", "paste_sprite", "trajectory"]

# (photo, crop box (left, top, right, bottom) of the object, or None for the whole photo with its own
# alpha / mask); "disc", "ring", "star", "square" are drawn shapes. No photo the `demo` films (its
# scenes' faces, cups and coins were sprites once): `vqa_core.demo.content`.
SPRITES: dict[str, tuple[str, tuple[int, int, int, int] | None] | None] = {
    "colorwheel": ("colorwheel", None),
    "logo": ("logo", None),
    "horse": ("horse", None),
    "phantom": ("shepp_logan_phantom", (20, 20, 380, 380)),
    "disc": None,
    "ring": None,
    "star": None,
    "square": None,
}
_SHAPE_COLOURS = ((255, 40, 40), (40, 220, 60), (255, 210, 0), (0, 170, 255), (255, 60, 220))


@dataclass
class Target:
    """A sprite (size x size RGBA) and its centre per frame (T, 2) as (x, y)."""

    name: str
    sprite: np.ndarray
    centres: np.ndarray

    @property
    def radius(self) -> float:
        return self.sprite.shape[0] / 2


def _ellipse_alpha(size: int, feather: float = 0.12) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    r = np.hypot((xx + 0.5) / size - 0.5, (yy + 0.5) / size - 0.5) * 2
    return np.clip((1 - r) / feather, 0, 1)


def make_sprite(name: str, size: int, rng: np.random.Generator) -> np.ndarray:
    """(size, size, 4) uint8 RGBA sprite, outlined in a contrasting colour so it pops from any background."""
    if name not in SPRITES:
        raise KeyError(f"unknown sprite {name!r}; known: {', '.join(SPRITES)}")
    source = SPRITES[name]
    if source is None:
        canvas = Image.new("RGBA", (size * 4, size * 4), (0, 0, 0, 0))
        draw = ImageDraw.Draw(canvas)
        colour = tuple(int(c) for c in _SHAPE_COLOURS[rng.integers(len(_SHAPE_COLOURS))])
        edge = (20, 20, 20, 255)
        box = (size // 4, size // 4, size * 4 - size // 4, size * 4 - size // 4)
        if name == "disc":
            draw.ellipse(box, fill=(*colour, 255), outline=edge, width=size // 3)
        elif name == "ring":
            draw.ellipse(box, fill=(255, 255, 255, 255), outline=(*colour, 255), width=size // 1)
        elif name == "square":
            draw.rectangle(box, fill=(*colour, 255), outline=edge, width=size // 3)
        else:
            c = size * 2
            points = []
            for k in range(10):
                radius = (c - size // 4) * (1.0 if k % 2 == 0 else 0.45)
                angle = np.pi / 2 + k * np.pi / 5
                points.append((c + radius * np.cos(angle), c - radius * np.sin(angle)))
            draw.polygon(points, fill=(*colour, 255), outline=edge, width=size // 3)
        return np.asarray(canvas.resize((size, size), Image.Resampling.LANCZOS))
    photo_name, crop = source
    photo = load_still(photo_name)
    if crop is not None:
        left, top, right, bottom = crop
        photo = photo[top:bottom, left:right]
    rgb = np.asarray(Image.fromarray(photo[..., :3]).resize((size, size), Image.Resampling.LANCZOS))
    if photo.shape[-1] == 4:
        alpha = (
            np.asarray(Image.fromarray(photo[..., 3]).resize((size, size), Image.Resampling.LANCZOS)) / 255.0
        )
    elif (
        photo_name == "horse"
    ):  # a black silhouette on white: the horse is the dark part, painted a bold colour
        alpha = 1.0 - rgb[..., 0] / 255.0
        colour = np.array(_SHAPE_COLOURS[rng.integers(len(_SHAPE_COLOURS))], dtype=np.float64)
        rgb = np.broadcast_to(colour, rgb.shape).astype(np.uint8)
    else:
        alpha = _ellipse_alpha(size)
    return np.dstack([rgb, np.round(alpha * 255).astype(np.uint8)])


def trajectory(
    num_frames: int, height: int, width: int, radius: float, rng: np.random.Generator
) -> np.ndarray:
    """(T, 2) centres of a target gliding at constant speed with a gentle wobble, bouncing off the borders."""
    lo = np.array([radius, radius])
    hi = np.array([width - radius, height - radius])
    position = rng.uniform(lo, hi)
    speed = rng.uniform(0.012, 0.03) * width
    angle = rng.uniform(0, 2 * np.pi)
    velocity = speed * np.array([np.cos(angle), np.sin(angle)])
    wobble_phase, wobble_rate = rng.uniform(0, 2 * np.pi), rng.uniform(0.1, 0.3)
    centres = np.empty((num_frames, 2))
    for t in range(num_frames):
        turn = 0.05 * np.sin(wobble_rate * t + wobble_phase)
        c, s = np.cos(turn), np.sin(turn)
        velocity = np.array([c * velocity[0] - s * velocity[1], s * velocity[0] + c * velocity[1]])
        position = position + velocity
        for axis in range(2):
            if position[axis] < lo[axis] or position[axis] > hi[axis]:
                velocity[axis] = -velocity[axis]
                position[axis] = np.clip(position[axis], lo[axis], hi[axis])
        centres[t] = position
    return centres


def paste_sprite(frame: np.ndarray, sprite: np.ndarray, centre: np.ndarray) -> None:
    """Alpha-blend `sprite` into `frame` (in place) centred at (x, y), clipped at the borders."""
    size = sprite.shape[0]
    x0, y0 = round(centre[0] - size / 2), round(centre[1] - size / 2)
    fx0, fy0 = max(x0, 0), max(y0, 0)
    fx1, fy1 = min(x0 + size, frame.shape[1]), min(y0 + size, frame.shape[0])
    if fx0 >= fx1 or fy0 >= fy1:
        return
    patch = sprite[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0].astype(np.float64)
    alpha = patch[..., 3:4] / 255.0
    region = frame[fy0:fy1, fx0:fx1].astype(np.float64)
    frame[fy0:fy1, fx0:fx1] = np.round(alpha * patch[..., :3] + (1 - alpha) * region).astype(np.uint8)
