"""Decoded clips kept on disk and memory-mapped: decode a video's sampled frames once per machine.

Methods that read the same frames of every video epoch after epoch (STR/DAGR-VQA, SC-VQA at fixed
frame indices) used to keep decoded clips in a per-process dict: each DataLoader worker held its
own copy, a 10-split benchmark decoded every video again for every split, and SC-VQA `small`
peaked at 10.7 GB resident on the demo. `DecodedClipStore` writes each clip once as a uint8 `.npy`
and reads it back with `np.load(mmap_mode="r")`: the pages live in the OS page cache, shared by
workers, splits and runs, and reclaimable under memory pressure.

An entry's key is a digest of the video file (resolved path, size, modification time), the frame
indices, the output size, the raw format of a headerless .yuv file and `CLIP_STORE_VERSION`, so a
changed video, sampler or decoder never serves a stale clip. Entries are written atomically
(temporary file + rename), so torchrun ranks can fill one store concurrently; a torn or corrupt
entry is decoded again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from vqa_core.atomic import atomic_path
from vqa_core.errors import VideoDecodeError
from vqa_core.video.raw import RawFormat

__all__ = ["CLIP_STORE_VERSION", "DecodedClipStore", "video_key"]

#: Version of the decoding path behind an entry (`read_clip` and its resize): bump it when that
#: path's output changes, so no store serves clips of the older code.
CLIP_STORE_VERSION = 1


def video_key(path: str | Path) -> dict[str, object]:
    """The identity of a video file in a cache key: resolved path, size and modification time, so
    an entry made from a file that was replaced since is never served (shared with saliency-core's
    map cache)."""
    p = Path(path).resolve()
    try:
        stat = p.stat()
    except OSError as err:
        raise VideoDecodeError(f"{path}: cannot read the video ({err})") from err
    return {"path": str(p), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


class DecodedClipStore:
    """`read(path, indices, size)` -> uint8 `(T, H, W, 3)`, decoded on the first call, memory-mapped after.

    `folder` holds the entries (e.g. `vqa_core.cache.cache_dir("clips")`). `decode` replaces
    `vqa_core.video.read_clip` (tests count its calls); it gets `(path, indices, size, raw)`.
    """

    def __init__(
        self,
        folder: str | Path,
        decode: Callable[[str | Path, list[int], tuple[int, int] | None, RawFormat | None], np.ndarray] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self._decode = decode or _read_clip

    def key(
        self, path: str | Path, indices: Sequence[int], size: tuple[int, int] | None, raw: RawFormat | None = None
    ) -> str:
        payload = {
            "video": video_key(path),
            "indices": [int(i) for i in indices],
            "size": [int(size[0]), int(size[1])] if size is not None else "native",
            "raw": repr(raw) if raw is not None else None,
            "version": CLIP_STORE_VERSION,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def entry(
        self, path: str | Path, indices: Sequence[int], size: tuple[int, int] | None, raw: RawFormat | None = None
    ) -> Path:
        key = self.key(path, indices, size, raw)
        return self.folder / key[:2] / f"{key}.npy"

    def read(
        self, path: str | Path, indices: Sequence[int], size: tuple[int, int] | None, raw: RawFormat | None = None
    ) -> np.ndarray:
        """The clip, read-only: copy it (`np.array`, `torch.tensor`) before changing it in place."""
        file = self.entry(path, indices, size, raw)
        if file.is_file():
            try:
                return np.load(file, mmap_mode="r")
            except (OSError, ValueError):
                file.unlink(missing_ok=True)  # a torn or corrupt entry: decode it again
        clip = np.ascontiguousarray(self._decode(path, [int(i) for i in indices], size, raw), dtype=np.uint8)
        with atomic_path(file) as tmp, open(tmp, "wb") as fh:
            np.save(fh, clip)
        return np.load(file, mmap_mode="r")


def _read_clip(
    path: str | Path, indices: list[int], size: tuple[int, int] | None, raw: RawFormat | None
) -> np.ndarray:
    from vqa_core.video.reader import read_clip

    return read_clip(path, indices, size=size, raw=raw)
