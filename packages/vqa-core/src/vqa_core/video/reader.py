"""`read_clip`: decode only the frames a sampler asked for, resized inside FFmpeg.

The decoding itself (seek planning, skipping non-reference pictures, timestamps to frame
indices, AVI's counted frames) is `vqa_core.video.decoder.ClipDecoder`, whose docstring says
why it is built the way it is. This module is the public entry point: it checks the indices,
reads headerless .yuv by byte offsets, and re-reads in the rare cases the first pass cannot be
trusted (timestamps that are not presentation times, a skipped picture that might have been
the nearest frame). Each call opens its own container and shares nothing, so it is safe in
DataLoader workers.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

import numpy as np

from vqa_core.video.container import check_file, open_video, stream_timing
from vqa_core.video.decoder import ClipDecoder
from vqa_core.video.raw import RawFormat, read_raw_clip
from vqa_core.video.resize import Resize

__all__ = ["frame_rate", "read_clip"]


def read_clip(
    path: str | Path,
    indices: Sequence[int] | np.ndarray,
    size: tuple[int, int] | None = None,
    *,
    short_side: int | None = None,
    interpolation: str = "bilinear",
    raw: RawFormat | None = None,
) -> np.ndarray:
    """Frames `indices` of a video as uint8 RGB `(T, H, W, 3)`, in the order given (repeats allowed).

    - `size=(H, W)` squashes every frame to H x W (the seed methods' behaviour);
      `short_side=S` scales the shorter displayed side to S and keeps the aspect ratio;
      neither keeps the displayed size. `interpolation` is the swscale filter
      (bilinear, bicubic, area, lanczos, point, fast_bilinear).
    - Display rotation (the display-matrix side data phones write) is applied, so H x W is the
      size a viewer sees; `size` is given in that orientation too.
    - An index past the end returns the last decodable frame; an undecodable or missing frame
      is replaced by the nearest decodable one. When the container declares frames past the
      last decodable one (a truncated file), a `ShortVideoWarning` says so; `probe` reports the
      frames that really decode (`VideoInfo.num_frames`, `.note`). Negative indices raise `ValueError`; empty
      `indices` return an array of shape `(0, H, W, 3)` (the file is still opened and checked).
    - `raw=RawFormat(width, height, pix_fmt, fps)` reads a headerless .yuv file by byte offsets.

    Raises `VideoDecodeError` (naming the file and the cause) when the file cannot be opened,
    holds no decodable video frame, is a still image, or is smaller than `MIN_SIDE` pixels.
    """
    resize = Resize(size=size, short_side=short_side, interpolation=interpolation)
    wanted = _as_indices(path, indices)
    if raw is not None:
        return read_raw_clip(path, wanted, raw, resize)
    targets = np.unique(wanted)
    clip = ClipDecoder(check_file(path), resize, skip_nonref=True)
    frames = clip.run(targets)
    if clip.pts_went_backwards:
        # Timestamps are not presentation times: read again, counting frames from the top.
        clip = ClipDecoder(Path(path), resize, skip_nonref=False, count_frames=True)
        frames = clip.run(targets)
    if clip.skip_may_have_changed_result:
        clip = ClipDecoder(Path(path), resize, skip_nonref=False, count_frames=clip.count_frames)
        frames = clip.run(targets)
    h, w = clip.output_hw
    out = np.empty((len(wanted), h, w, 3), dtype=np.uint8)
    for k, t in enumerate(wanted.tolist()):
        out[k] = frames[t]
    return out


def _as_indices(path: str | Path, indices: Sequence[int] | np.ndarray) -> np.ndarray:
    arr = np.asarray(indices)
    if arr.ndim == 0:
        raise ValueError(f"{path}: indices must be a sequence of frame indices, got a scalar {arr.item()!r}")
    arr = arr.reshape(-1)
    if arr.size == 0:
        return arr.astype(np.int64)
    if arr.dtype.kind == "b" or arr.dtype.kind not in "iuf":
        raise ValueError(f"{path}: frame indices must be integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "f":
        if not np.all(np.isfinite(arr)) or not np.all(arr == np.round(arr)):
            raise ValueError(f"{path}: frame indices must be whole numbers, got {arr[:8].tolist()}...")
        arr = arr.astype(np.int64)
    if (arr < 0).any():
        bad = arr[arr < 0][:5].tolist()
        raise ValueError(f"{path}: negative frame indices {bad} (indices count from 0; use num_frames - k)")
    return arr.astype(np.int64)



def frame_rate(path: str | Path) -> Fraction:
    """The average frame rate `read_clip` uses to turn timestamps into indices."""
    with open_video(path) as (_, stream):
        return stream_timing(Path(path), stream).fps
