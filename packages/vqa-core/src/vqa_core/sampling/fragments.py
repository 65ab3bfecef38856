"""Spatial fragments (FAST-VQA "grid mini-patch sampling"), vectorised and seedable.

A frame is cut into a `grid` of cells; from each cell one `patch`-sized mini-patch is taken
at its native resolution and the patches are spliced into a small mosaic (7x7 cells of 32 px
give the 224x224 input of FAST-VQA, ST-VQRL and SSL-VQA). Patch positions are shared by
`aligned` consecutive frames so motion inside a patch is preserved.

Choosing positions (`fragment_offsets`) is separate from cutting them out (`apply_fragments`)
so one draw can be applied to several clips: ST-VQRL shows the same patch positions for all
distortion versions of a scene. `spatial_fragments` does both in one call.

Layouts: torch tensors are `(..., C, T, H, W)` by default (FAST-VQA / Video Swin input;
`layout="TCHW"` accepts `(..., T, C, H, W)`), numpy arrays are `(..., T, H, W, C)` as decoded
by `vqa_core.video`. The output has the input's type, layout and dtype.

Deliberate differences from FAST-VQA's `get_spatial_fragments`:

- Randomness comes from an explicit `numpy.random.Generator`; without one ("test mode")
  every patch is centred in its cell, so the same video always gives the same fragments
  (FAST-VQA draws `torch.randint` even at test time, its issue #38).
- In-cell offsets are uniform over all `cell - patch + 1` valid positions (FAST-VQA's
  `randint(cell - patch)` never picks the last one).
- After the upsample fallback (frames smaller than the mosaic are enlarged bilinearly,
  frame by frame, until the mosaic fits) the grid is laid out on the *upsampled* frame;
  FAST-VQA keeps the pre-upsampling size and so samples only the top-left of the enlarged
  frame. Upsampling is a 4-D interpolate over frames, never 5-D bilinear (an SSL-VQA crash).
- A clip whose length is not a multiple of `aligned` gets a shorter last block instead of
  an assertion error.
- Two-view mode (SSL-VQA's `top=True/False`): when half a cell is smaller than a patch the
  seed gives both views offset 0 (identical views); here the first view takes the top-left
  and the second the bottom-right position in the cell, so they still differ when they can.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "FragmentOffsets",
    "apply_fragments",
    "fragment_offsets",
    "spatial_fragments",
    "two_view_fragments",
]

View = Literal["full", "first", "second"]
Layout = Literal["CTHW", "TCHW"]
Fallback = Literal["upsample", "none"]


def _pair(name: str, value: int | tuple[int, int]) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or any(int(v) < 1 for v in pair):
        raise ValueError(f"{name} must be a positive int or a pair of positive ints, got {value!r}")
    return int(pair[0]), int(pair[1])


@dataclass(frozen=True, eq=False)
class FragmentOffsets:
    """Where every mini-patch is cut, for one clip geometry.

    `tops`/`lefts` have shape (num_blocks, grid_h, grid_w): the top-left corner of patch
    (i, j) for frames `[b*aligned, (b+1)*aligned)`, in pixels of the working frame (the
    source frame, or its upsampled version when `frame_size != source_size`).
    """

    tops: np.ndarray
    lefts: np.ndarray
    source_size: tuple[int, int]
    frame_size: tuple[int, int]
    patch: tuple[int, int]
    aligned: int
    num_frames: int

    @property
    def grid(self) -> tuple[int, int]:
        return int(self.tops.shape[1]), int(self.tops.shape[2])

    @property
    def out_size(self) -> tuple[int, int]:
        """(height, width) of the mosaic: grid times patch size."""
        return self.grid[0] * self.patch[0], self.grid[1] * self.patch[1]


def _working_size(
    height: int, width: int, mosaic: tuple[int, int], patch: tuple[int, int], fallback: Fallback
):
    ratio = min(height / mosaic[0], width / mosaic[1])
    if fallback == "upsample":
        if ratio < 1:
            return max(mosaic[0], round(height / ratio)), max(mosaic[1], round(width / ratio))
        return height, width
    if fallback != "none":
        raise ValueError(f"fallback must be 'upsample' or 'none', got {fallback!r}")
    if height < patch[0] or width < patch[1]:
        raise ValueError(
            f"a {height}x{width} frame is smaller than one {patch[0]}x{patch[1]} patch; use fallback='upsample'"
        )
    return height, width


def _axis_offsets(
    size: int, cells: int, patch: int, shape: tuple[int, ...], view: View, rng: np.random.Generator | None
) -> np.ndarray:
    """In-cell patch offsets along one axis, shape `shape`."""
    cell = size // cells
    if view == "full":
        low, high = 0, max(cell - patch, 0)
    else:
        half = cell // 2
        room = half - patch
        if room >= 0:
            low = 0 if view == "first" else half
            high = low + room
        else:  # half a cell cannot hold a patch: take the two extreme positions of the cell
            low = high = 0 if view == "first" else max(cell - patch, 0)
    if rng is None:
        offsets = np.full(shape, (low + high) // 2, dtype=np.int64)
    else:
        offsets = rng.integers(low, high + 1, size=shape, dtype=np.int64)
    return offsets


def fragment_offsets(
    height: int,
    width: int,
    num_frames: int,
    grid: int | tuple[int, int] = 7,
    patch: int | tuple[int, int] = 32,
    aligned: int = 32,
    rng: np.random.Generator | None = None,
    view: View = "full",
    fallback: Fallback = "upsample",
) -> FragmentOffsets:
    """Draw (or, without `rng`, centre) the patch positions for a `num_frames` x `height` x `width` clip.

    `view="first"` / `"second"` restrict offsets to the first / second half of each cell
    (SSL-VQA's two non-overlapping views of the same frames).
    """
    gh, gw = _pair("grid", grid)
    ph, pw = _pair("patch", patch)
    aligned = int(aligned)
    num_frames = int(num_frames)
    if aligned < 1:
        raise ValueError(f"aligned must be a positive integer, got {aligned}")
    if num_frames < 1 or height < 1 or width < 1:
        raise ValueError(f"cannot take fragments of an empty clip ({num_frames} frames of {height}x{width})")
    if view not in ("full", "first", "second"):
        raise ValueError(f"view must be 'full', 'first' or 'second', got {view!r}")
    frame_h, frame_w = _working_size(int(height), int(width), (gh * ph, gw * pw), (ph, pw), fallback)
    num_blocks = -(-num_frames // aligned)
    shape = (num_blocks, gh, gw)
    cell_h, cell_w = frame_h // gh, frame_w // gw
    origin_h = np.minimum(cell_h * np.arange(gh), frame_h - ph)
    origin_w = np.minimum(cell_w * np.arange(gw), frame_w - pw)
    rows = _axis_offsets(frame_h, gh, ph, shape, view, rng)
    cols = _axis_offsets(frame_w, gw, pw, shape, view, rng)
    tops = np.clip(origin_h[None, :, None] + rows, 0, frame_h - ph)
    lefts = np.clip(origin_w[None, None, :] + cols, 0, frame_w - pw)
    return FragmentOffsets(
        tops=tops,
        lefts=lefts,
        source_size=(int(height), int(width)),
        frame_size=(frame_h, frame_w),
        patch=(ph, pw),
        aligned=aligned,
        num_frames=num_frames,
    )


def _to_cthw(clip: torch.Tensor | np.ndarray, layout: Layout) -> torch.Tensor:
    if isinstance(clip, np.ndarray):
        if clip.ndim < 4:
            raise ValueError(f"a numpy clip must be (..., T, H, W, C), got shape {clip.shape}")
        return torch.from_numpy(np.ascontiguousarray(clip)).movedim(-1, -4)
    if not isinstance(clip, torch.Tensor):
        raise TypeError(f"clip must be a torch.Tensor or numpy.ndarray, got {type(clip).__name__}")
    if clip.ndim < 4:
        raise ValueError(
            f"a torch clip must be (..., C, T, H, W) or (..., T, C, H, W), got shape {tuple(clip.shape)}"
        )
    if layout == "CTHW":
        return clip
    if layout == "TCHW":
        return clip.transpose(-4, -3)
    raise ValueError(f"layout must be 'CTHW' or 'TCHW', got {layout!r}")


def _from_cthw(out: torch.Tensor, like: torch.Tensor | np.ndarray, layout: Layout):
    if isinstance(like, np.ndarray):
        return out.movedim(-4, -1).numpy()
    return out if layout == "CTHW" else out.transpose(-4, -3)


def _upsample(video: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear resize of every frame of a (..., C, T, H, W) clip (4-D interpolate per frame)."""
    lead, (h, w) = video.shape[:-2], video.shape[-2:]
    frames = video.reshape(-1, 1, h, w)
    work = frames if frames.is_floating_point() else frames.float()
    resized = F.interpolate(work, size=size, mode="bilinear", align_corners=False)
    if not video.is_floating_point():
        info = torch.iinfo(video.dtype)
        resized = resized.round_().clamp_(info.min, info.max).to(video.dtype)
    return resized.reshape(*lead, *size)


def apply_fragments(
    clip: torch.Tensor | np.ndarray, offsets: FragmentOffsets, layout: Layout = "CTHW"
) -> torch.Tensor | np.ndarray:
    """Cut the patches described by `offsets` out of `clip` and splice them into the mosaic.

    All leading dimensions (channels, a batch of distortion versions, ...) share the offsets.
    A strided window view plus one advanced index does the work: no Python loop over cells
    or frames, and the index tensors are only (T, grid_h, grid_w).
    """
    video = _to_cthw(clip, layout)
    t, h, w = video.shape[-3:]
    if (h, w) != offsets.source_size or t != offsets.num_frames:
        raise ValueError(
            f"clip has {t} frames of {h}x{w} but the offsets were drawn for {offsets.num_frames} frames of "
            f"{offsets.source_size[0]}x{offsets.source_size[1]}; call fragment_offsets with this clip's shape"
        )
    if offsets.frame_size != (h, w):
        video = _upsample(video, offsets.frame_size)
    ph, pw = offsets.patch
    gh, gw = offsets.grid
    # Every patch-sized window as a strided view (no copy): (..., T, H-ph+1, W-pw+1, ph, pw);
    # one advanced index with (T, gh, gw) corner tensors then copies out all patches at once.
    windows = video.unfold(-2, ph, 1).unfold(-2, pw, 1)
    block = torch.arange(t) // offsets.aligned
    tops = torch.from_numpy(offsets.tops)[block].to(video.device)
    lefts = torch.from_numpy(offsets.lefts)[block].to(video.device)
    frames = torch.arange(t, device=video.device)[:, None, None]
    patches = windows[..., frames, tops, lefts, :, :]  # (..., T, gh, gw, ph, pw)
    out = patches.transpose(-3, -2).reshape(*patches.shape[:-5], t, gh * ph, gw * pw)
    return _from_cthw(out, clip, layout)


def _clip_geometry(clip: torch.Tensor | np.ndarray, layout: Layout) -> tuple[int, int, int]:
    video = _to_cthw(clip, layout)
    t, h, w = video.shape[-3:]
    return int(t), int(h), int(w)


def spatial_fragments(
    clip: torch.Tensor | np.ndarray,
    grid: int | tuple[int, int] = 7,
    patch: int | tuple[int, int] = 32,
    aligned: int = 32,
    rng: np.random.Generator | None = None,
    view: View = "full",
    layout: Layout = "CTHW",
    fallback: Fallback = "upsample",
) -> torch.Tensor | np.ndarray:
    """Fragments of one clip: `fragment_offsets` for its shape, then `apply_fragments`.

    Without `rng` the patches are centred in their cells (deterministic test mode); with a
    seeded Generator the same video always gives the same fragments.
    """
    t, h, w = _clip_geometry(clip, layout)
    offsets = fragment_offsets(
        h, w, t, grid=grid, patch=patch, aligned=aligned, rng=rng, view=view, fallback=fallback
    )
    return apply_fragments(clip, offsets, layout=layout)


def two_view_fragments(
    clip: torch.Tensor | np.ndarray,
    grid: int | tuple[int, int] = 7,
    patch: int | tuple[int, int] = 32,
    aligned: int = 32,
    rng: np.random.Generator | None = None,
    layout: Layout = "CTHW",
    fallback: Fallback = "upsample",
) -> tuple[torch.Tensor | np.ndarray, torch.Tensor | np.ndarray]:
    """SSL-VQA's two views of the same frames: patches from the first and second half of each cell."""
    kwargs = dict(grid=grid, patch=patch, aligned=aligned, rng=rng, layout=layout, fallback=fallback)
    return spatial_fragments(clip, view="first", **kwargs), spatial_fragments(clip, view="second", **kwargs)
