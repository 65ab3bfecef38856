"""On-disk cache of frozen-trunk features, keyed by everything that determines them.

Repeated small runs on a CPU (the demo's ten splits, an ablation sweep) would otherwise rerun the
ResNet trunk on the same frames every time. A key is a digest of the video file's identity (resolved
path, size, modification time), the frame indices, the frame size, the saliency settings (and the
saliency model's hash), the trunk's weights identity and `FEATURES_VERSION`, so a changed video,
sampler, checkpoint, weighting or feature code never reuses a stale entry. Writes are atomic (temporary file + rename): concurrent
torchrun ranks can fill the same cache. Saliency maps use saliency-core's `SaliencyMapCache`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from vqa_core.datasets import ManifestItem
from vqa_core.train.checkpoint import save_checkpoint

#: Version of the code that computes a cached feature (decoding, saliency weighting, the trunk's
#: forward): bump it when that code's output changes, so no cache serves older features.
FEATURES_VERSION = 1


def video_identity(path: str | Path) -> dict[str, Any]:
    """What makes a video file the same file: its resolved path, size and modification time."""
    p = Path(path).resolve()
    stat = p.stat()
    return {"path": str(p), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


class FeatureCache:
    """Per-frame trunk features (T, C) float32 of one clip, one `.pt` file per key."""

    def __init__(self, root: str | Path, trunk_id: str) -> None:
        self.root = Path(root) / "features" / trunk_id

    def path(self, item: ManifestItem, indices: Sequence[int], settings: Mapping[str, Any]) -> Path:
        payload = {"video": video_identity(item.path), "indices": [int(i) for i in indices], **settings}
        key = digest({**payload, "version": FEATURES_VERSION})
        return self.root / f"{_safe(item.video_id)}-{key}.pt"

    def write(self, path: Path, features: torch.Tensor) -> None:
        save_checkpoint(features.detach().to("cpu", torch.float32).contiguous(), path)

    @staticmethod
    def read(path: Path) -> torch.Tensor:
        return torch.load(path, map_location="cpu", weights_only=True)


def _safe(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))
    return keep[:60] or "video"
