"""Gaussian-pyramid blur: each frame goes `levels` octaves down the pyramid and back up.

Down-then-up through the 5-tap Burt-Adelson kernel removes detail above 1/2**levels of the
Nyquist frequency, the seed's ×4/×8/×16 "resize" distortion without its resize artefacts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from kornia.geometry.transform import pyrdown, pyrup

from vqa_core.distort.clip_io import (
    LOSSLESS_H264,
    frames_to_rgb,
    read_yuv_frames,
    rgb_to_frames,
    write_frames,
)
from vqa_core.distort.versions import VERSIONS
from vqa_core.errors import ConfigError

__all__ = ["pyramid_blur", "pyramid_blur_frames"]

_LEVELS = {v.level: v.parameter for v in VERSIONS if v.family == "pyramid_blur"}
_BATCH = 16  # frames per kornia call: bounds memory on long clips


def pyramid_blur_frames(rgb: np.ndarray, depth: int) -> np.ndarray:
    """(T, H, W, 3) uint8 -> same shape, blurred by `depth` pyramid octaves down and up.

    Sizes that do not halve evenly come back one pixel off after pyrup; they are resized to
    the exact source size so every version keeps the source geometry.
    """
    if depth < 1:
        raise ConfigError(f"pyramid depth must be >= 1, got {depth}")
    height, width = rgb.shape[1:3]
    if min(height, width) >> depth < 1:
        raise ConfigError(f"a {width}x{height} frame is too small for {depth} pyramid levels")
    out = np.empty_like(rgb)
    for start in range(0, len(rgb), _BATCH):
        x = torch.from_numpy(rgb[start : start + _BATCH]).permute(0, 3, 1, 2).float()
        for _ in range(depth):
            x = pyrdown(x, border_type="reflect")
        for _ in range(depth):
            x = pyrup(x, border_type="reflect")
        if x.shape[-2:] != (height, width):
            x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        out[start : start + _BATCH] = x.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


def pyramid_blur(src: str | Path, dst: str | Path, level: int) -> Path:
    """Versions 7-9: 2 / 3 / 4 pyramid levels down then up, stored losslessly."""
    if level not in _LEVELS:
        raise ConfigError(f"pyramid_blur: level {level!r} is not one of {sorted(_LEVELS)}")
    frames, rate = read_yuv_frames(src)
    blurred = pyramid_blur_frames(frames_to_rgb(frames), _LEVELS[level])
    return write_frames(dst, rgb_to_frames(blurred), rate, "libx264", LOSSLESS_H264)
