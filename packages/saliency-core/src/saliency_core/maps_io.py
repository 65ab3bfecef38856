"""Saliency maps on disk: one 8-bit grey PNG per frame, named by its source frame index.

The name carries the frame index (`000123.png`), not a running count, so a reader can always
pair a map with the RGB frame it belongs to (seed_audit §6 item 9, §8.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vqa_core.errors import DatasetError

INDEX_DIGITS = 6


def map_filename(index: int) -> str:
    return f"{int(index):0{INDEX_DIGITS}d}.png"


def to_uint8(maps: torch.Tensor | np.ndarray) -> np.ndarray:
    """[0, 1] floats -> uint8 0-255 (rounded, clipped)."""
    arr = maps.detach().cpu().numpy() if isinstance(maps, torch.Tensor) else np.asarray(maps)
    return np.clip(np.rint(arr.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


def write_maps(out_dir: str | Path, maps: torch.Tensor | np.ndarray, indices: Sequence[int]) -> list[Path]:
    """Write `(T, H, W)` maps in [0, 1] as `out_dir/<frame index>.png`; return the paths."""
    out_dir = Path(out_dir)
    if len(maps) != len(indices):
        raise ValueError(f"{len(maps)} maps but {len(indices)} frame indices for {out_dir}")
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for frame, index in zip(to_uint8(maps), indices):
        path = out_dir / map_filename(index)
        Image.fromarray(frame, mode="L").save(path)
        paths.append(path)
    return paths


def index_of(path: Path) -> int:
    """The frame index a map or frame file is named by (`12.png`, `0012.png`, `000012.png`)."""
    try:
        return int(path.stem)
    except ValueError as err:
        raise DatasetError(f"{path}: file name is not a frame index (expected e.g. 000012.png)") from err


def list_indexed_pngs(folder: str | Path) -> dict[int, Path]:
    """Frame index -> PNG path for every `<index>.png` in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: folder of per-frame PNGs not found")
    return {index_of(p): p for p in sorted(folder.glob("*.png"))}


def read_maps(folder: str | Path, indices: Sequence[int] | None = None) -> tuple[np.ndarray, list[int]]:
    """Read maps `(T, H, W)` float32 in [0, 1] at `indices` (default: all) and the indices read."""
    files = list_indexed_pngs(folder)
    if indices is None:
        indices = sorted(files)
    missing = [i for i in indices if i not in files]
    if missing:
        raise DatasetError(f"{folder}: no map for frame index(es) {missing[:5]}{'...' if len(missing) > 5 else ''}")
    arrays = [np.asarray(Image.open(files[i]).convert("L"), dtype=np.float32) / 255.0 for i in indices]
    if not arrays:
        raise DatasetError(f"{folder}: no maps to read")
    return np.stack(arrays), list(indices)
