"""Tensor layout conversions between frame-major clips and Conv3d's channel-major layout.

The seed code turned `(B, T, C, H, W)` into `(B, C, T, H, W)` with `reshape`, which keeps the
memory order and so scrambles time and colour channels (seed_audit §6 item 1). A layout change
is a transpose of axes, i.e. a `permute`.
"""

from __future__ import annotations

import torch


def frames_to_channels_first(x: torch.Tensor) -> torch.Tensor:
    """`(B, T, C, H, W)` -> `(B, C, T, H, W)` by swapping the axes (not by reshaping memory)."""
    if x.dim() != 5:
        raise ValueError(f"expected a 5-D (B, T, C, H, W) tensor, got shape {tuple(x.shape)}")
    return x.permute(0, 2, 1, 3, 4)


def channels_first_to_frames(x: torch.Tensor) -> torch.Tensor:
    """`(B, C, T, H, W)` -> `(B, T, C, H, W)`; the inverse of `frames_to_channels_first`."""
    if x.dim() != 5:
        raise ValueError(f"expected a 5-D (B, C, T, H, W) tensor, got shape {tuple(x.shape)}")
    return x.permute(0, 2, 1, 3, 4)


def clip_to_tensor(clip: torch.Tensor) -> torch.Tensor:
    """A uint8 clip `(T, H, W, 3)` -> float `(1, 3, T, H, W)` in [0, 1], the model's input layout."""
    if clip.dim() != 4 or clip.shape[-1] != 3:
        raise ValueError(f"expected a (T, H, W, 3) clip, got shape {tuple(clip.shape)}")
    x = clip.float() / 255.0 if clip.dtype == torch.uint8 else clip.float()
    return x.permute(3, 0, 1, 2).unsqueeze(0)
