"""On-disk caches of saliency maps and frozen-trunk features, keyed by everything that determines them.

Repeated small runs on a CPU (the demo's ten splits, an ablation sweep) would otherwise rerun the
saliency UNet3D and the ResNet trunk on the same frames every time. A key is a digest of the video
file's identity (resolved path, size, modification time), the frame indices, the frame size and the
identity of the producing model, so a changed video, sampler or checkpoint never reuses a stale entry.
Writes are atomic (temporary file + rename): concurrent torchrun ranks can fill the same cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from saliency_core.maps_io import read_maps, write_maps
from vqa_core.datasets import ManifestItem


def default_cache_dir() -> Path:
    """`$VQA_ZOO_CACHE/dagr-vqa`, else `$XDG_CACHE_HOME/vqa-zoo/dagr-vqa`, else `~/.cache/vqa-zoo/dagr-vqa`."""
    root = os.environ.get("VQA_ZOO_CACHE")
    if root:
        return Path(root) / "dagr-vqa"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vqa-zoo" / "dagr-vqa"


def video_identity(path: str | Path) -> dict[str, Any]:
    """What makes a video file the same file: its resolved path, size and modification time."""
    p = Path(path).resolve()
    stat = p.stat()
    return {"path": str(p), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def file_identity(path: str | Path) -> str:
    """A short digest of a checkpoint file's identity (path, size, mtime)."""
    return digest(video_identity(path))


def digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


class MapCache:
    """Saliency maps of a video at given frame indices, one uint8 PNG per frame (saliency-core's layout).

    `model_id` names the saliency model (its checkpoint identity); maps are computed on the sampled
    frames as one clip, at the RGB frames' size, so the key includes indices and size.
    """

    def __init__(self, root: str | Path, model_id: str) -> None:
        self.root = Path(root) / "maps" / model_id

    def folder(self, item: ManifestItem, indices: Sequence[int], size: tuple[int, int]) -> Path:
        key = digest(
            {"video": video_identity(item.path), "indices": [int(i) for i in indices], "size": list(size)}
        )
        return self.root / f"{_safe(item.video_id)}-{key}"

    def has(self, item: ManifestItem, indices: Sequence[int], size: tuple[int, int]) -> bool:
        return (self.folder(item, indices, size) / "complete").is_file()

    def write(
        self, item: ManifestItem, indices: Sequence[int], size: tuple[int, int], maps: torch.Tensor
    ) -> None:
        """Store float maps (T, H, W) in [0, 1]; repeated indices (short videos) are stored once."""
        folder = self.folder(item, indices, size)
        first = {}
        for pos, idx in enumerate(indices):
            first.setdefault(int(idx), pos)
        unique = sorted(first)
        tmp = Path(tempfile.mkdtemp(prefix=folder.name + ".", dir=_mkdir(folder.parent)))
        write_maps(tmp, maps[[first[i] for i in unique]], unique)
        (tmp / "complete").write_text("")
        try:
            os.replace(tmp, folder)
        except OSError:  # another rank finished the same entry first
            for f in tmp.iterdir():
                f.unlink()
            tmp.rmdir()

    def read(self, item: ManifestItem, indices: Sequence[int], size: tuple[int, int]) -> np.ndarray:
        """float32 maps (T, H, W) in [0, 1], in the order of `indices` (repeats allowed)."""
        maps, _ = read_maps(self.folder(item, indices, size), [int(i) for i in indices])
        return maps


class FeatureCache:
    """Per-frame trunk features (T, C) float32 of one clip, one `.pt` file per key."""

    def __init__(self, root: str | Path, trunk_id: str) -> None:
        self.root = Path(root) / "features" / trunk_id

    def path(self, item: ManifestItem, indices: Sequence[int], settings: Mapping[str, Any]) -> Path:
        key = digest({"video": video_identity(item.path), "indices": [int(i) for i in indices], **settings})
        return self.root / f"{_safe(item.video_id)}-{key}.pt"

    def write(self, path: Path, features: torch.Tensor) -> None:
        _atomic_save(features.detach().to("cpu", torch.float32).contiguous(), path)

    @staticmethod
    def read(path: Path) -> torch.Tensor:
        return torch.load(path, map_location="cpu", weights_only=True)


def _safe(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))
    return keep[:60] or "video"


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
