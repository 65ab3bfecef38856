"""Saliency maps for a clip of any length: the one canonical post-processing.

Seed inference ran the 3D net one frame at a time, skipped the sigmoid and wrapped bytes
(seed_audit §1.3, §6 item 4). Here: windows of the model's clip length (the last one padded
by repeating its final frame), sigmoid, then min-max per frame, so every map spans [0, 1].

The VQA methods sample few frames about a second apart, while the UNet3D learnt from consecutive
frames at its training stride. Two ways to make the maps of such sampled frames (`WINDOW_MODES`):
`fast` feeds the sampled frames themselves as the model's clip (one pass per `clip_len` sampled
frames); `faithful` predicts each sampled frame's map from its own window of `clip_len` frames at
the training stride centred on it (`window_indices`) and keeps the centre map
(`predict_window_maps`): `clip_len` times the frames to decode and run, the input the model knows.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def minmax_per_frame(maps: torch.Tensor) -> torch.Tensor:
    """Rescale each `(H, W)` map of `(T, H, W)` to [0, 1]; a constant map becomes all zeros."""
    flat = maps.reshape(maps.shape[0], -1)
    lo = flat.min(1, keepdim=True).values
    hi = flat.max(1, keepdim=True).values
    span = (hi - lo).clamp(min=torch.finfo(flat.dtype).eps)
    return ((flat - lo) / span).reshape(maps.shape)


def _model_geometry(model: nn.Module) -> tuple[int, tuple[int, int] | None]:
    config = getattr(model, "config", None)
    if config is None:
        return 8, None
    return config.clip_len, (config.height, config.width)


WINDOW_MODES = ("fast", "faithful")


def window_indices(indices: list[int] | tuple[int, ...], clip_len: int, stride: int) -> list[int]:
    """Frames to decode for `faithful` maps: per sampled index i, the `clip_len` frames
    i + stride * (k - clip_len // 2), k = 0..clip_len-1 (i at the centre), clamped to the sampled
    range [min(indices), max(indices)] so no window reads past the frames the sampler saw.
    Window by window, `len(indices) * clip_len` indices."""
    if clip_len < 1 or stride < 1:
        raise ValueError(f"clip_len and stride must be >= 1, got {clip_len}, {stride}")
    idx = [int(i) for i in indices]
    if not idx:
        return []
    lo, hi, centre = min(idx), max(idx), clip_len // 2
    return [min(max(i + stride * (k - centre), lo), hi) for i in idx for k in range(clip_len)]


def window_starts(num_frames: int, clip_len: int) -> list[int]:
    """Starts of the non-overlapping windows covering `num_frames` frames."""
    return list(range(0, num_frames, clip_len))


@torch.inference_mode()
def predict_maps(
    model: nn.Module,
    clip: torch.Tensor | np.ndarray,
    clip_len: int | None = None,
    size: tuple[int, int] | None = None,
    batch_windows: int = 4,
) -> torch.Tensor:
    """Saliency `(T, H, W)` float in [0, 1] on the CPU for a clip `(T, H, W, 3)`.

    The clip is uint8 (0-255) or float already in [0, 1] (as the VQA methods' decoded clips are).

    The clip is resized to the model's input size (`size`, default: the size in the model's
    config) and the maps are resized back to the clip's H x W, so maps align pixel for pixel
    with the frames they were given. `clip_len` defaults to the model's config.
    """
    default_len, default_size = _model_geometry(model)
    clip_len = clip_len or default_len
    size = size or default_size
    clip_t = torch.as_tensor(np.asarray(clip)) if not isinstance(clip, torch.Tensor) else clip
    if clip_t.dim() != 4 or clip_t.shape[-1] != 3:
        raise ValueError(f"expected a (T, H, W, 3) uint8 clip, got shape {tuple(clip_t.shape)}")
    num_frames, height, width = clip_t.shape[:3]
    if num_frames == 0:
        raise ValueError("the clip has no frames")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    frames = clip_t.to(device).permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    if clip_t.dtype == torch.uint8:
        frames = frames / 255.0
    if size is not None and tuple(size) != (height, width):
        frames = F.interpolate(frames, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
    pad = (-num_frames) % clip_len
    if pad:
        frames = torch.cat([frames, frames[-1:].expand(pad, -1, -1, -1)], dim=0)
    windows = frames.reshape(-1, clip_len, *frames.shape[1:]).permute(0, 2, 1, 3, 4)  # (W, 3, L, h, w)
    outputs = []
    for i in range(0, windows.shape[0], batch_windows):
        logits = model(windows[i : i + batch_windows])  # (b, 1, L, h, w)
        outputs.append(torch.sigmoid(logits.float())[:, 0].reshape(-1, *logits.shape[-2:]))
    maps = torch.cat(outputs, dim=0)[:num_frames]
    if maps.shape[-2:] != (height, width):
        maps = F.interpolate(maps[:, None], size=(height, width), mode="bilinear", align_corners=False)[:, 0]
    if was_training:
        model.train()
    return minmax_per_frame(maps).clamp_(0.0, 1.0).cpu()


def predict_window_maps(
    model: nn.Module,
    clip: torch.Tensor | np.ndarray,
    clip_len: int | None = None,
    size: tuple[int, int] | None = None,
    batch_windows: int = 4,
) -> torch.Tensor:
    """Centre maps `(T, H, W)` of T windows decoded back to back, `clip` `(T * clip_len, H, W, 3)`
    as `window_indices` lists them: each window is one model input (batched `batch_windows` at a
    time) and only its centre frame's map is kept."""
    clip_len = clip_len or _model_geometry(model)[0]
    frames = int(clip.shape[0])
    if frames % clip_len:
        raise ValueError(f"{frames} frames are not whole windows of {clip_len}")
    maps = predict_maps(model, clip, clip_len=clip_len, size=size, batch_windows=batch_windows)
    return maps[clip_len // 2 :: clip_len].contiguous()
