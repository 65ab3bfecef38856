"""Saliency maps for the frames a VQA method samples, cached on disk.

The VQA methods (dagr-vqa, sc-vqa) need maps at exactly their RGB frame indices, for every
video, every split, every run; running the UNet3D again each time would dominate a CPU run.
An entry's key is a digest of the video file (resolved path, size, mtime), the frame indices,
the map size, the window mode (and its stride), a hash of the model's weights and config and `MAPS_VERSION`, so a changed video,
sampler, checkpoint or map-making code never reuses a stale entry. Entries are `.npy` float16
arrays written atomically (temporary file + rename), so torchrun ranks can fill one cache
concurrently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from saliency_core.infer import WINDOW_MODES, predict_maps, predict_window_maps, window_indices
from vqa_core.atomic import atomic_path
from vqa_core.video.clip_store import video_key

#: Version of the code that makes a cached map (decoding, `predict_maps`, float16 storage):
#: bump it when that code's output changes, so no cache serves maps of the older code.
MAPS_VERSION = 1


def model_hash(model: nn.Module) -> str:
    """A digest of the model's weights (and config when it has one): equal models, equal hash."""
    h = hashlib.sha256()
    config = getattr(model, "config", None)
    if config is not None:
        h.update(repr(config).encode())
    for name, tensor in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


class SaliencyMapCache:
    """`maps(path, indices, size)` -> `(T, H, W)` float32 in [0, 1], computed once per key.

    `size` is the (H, W) of the maps (the VQA method's frame size), or None for the video's own
    size; frames are decoded at that size and the model runs at its own input size (see
    `predict_maps`).
    """

    def __init__(
        self,
        model: nn.Module,
        cache_dir: str | Path,
        model_id: str | None = None,
        windows: str = "fast",
        stride: int = 1,
    ) -> None:
        if windows not in WINDOW_MODES:
            raise ValueError(f"windows={windows!r}; choose one of {', '.join(WINDOW_MODES)}")
        self.model = model
        self.cache_dir = Path(cache_dir)
        self.model_id = model_id or model_hash(model)
        self.windows = windows  # fast | faithful (see saliency_core.infer)
        self.stride = int(stride)  # faithful: the frame step inside a window (the model's training stride)

    @property
    def clip_len(self) -> int:
        config = getattr(self.model, "config", None)
        return int(config.clip_len) if config is not None else 8

    def frames_to_read(self, indices: Sequence[int]) -> list[int]:
        """The frames to decode for the maps of `indices`: themselves (fast) or their windows (faithful)."""
        if self.windows == "fast":
            return [int(i) for i in indices]
        return window_indices(list(indices), self.clip_len, self.stride)

    def predict(self, clip: Any) -> torch.Tensor:
        """Maps `(T, H, W)` of the sampled frames from the frames `frames_to_read` decoded."""
        if self.windows == "fast":
            return predict_maps(self.model, clip)
        return predict_window_maps(self.model, clip, self.clip_len)

    def key(self, path: str | Path, indices: Sequence[int], size: tuple[int, int] | None) -> str:
        from saliency_core.guided_clips import frame_size

        size = frame_size(size)  # (None, None) means native size too
        payload = {
            "video": video_key(path),
            "indices": [int(i) for i in indices],
            "size": [int(size[0]), int(size[1])] if size is not None else "native",
            "model": self.model_id,
            "windows": self.windows if self.windows == "fast" else f"{self.windows}/{self.stride}",
            "version": MAPS_VERSION,
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def entry(self, path: str | Path, indices: Sequence[int], size: tuple[int, int] | None) -> Path:
        key = self.key(path, indices, size)
        return self.cache_dir / self.model_id / key[:2] / f"{key}.npy"

    def has(self, path: str | Path, indices: Sequence[int], size: tuple[int, int] | None) -> bool:
        return self.entry(path, indices, size).is_file()

    def maps(
        self, path: str | Path, indices: Sequence[int], size: tuple[int, int] | None, raw: Any = None
    ) -> torch.Tensor:
        """Maps of frames `indices` of video `path` at `size`, from the cache or computed.

        `raw` is the `vqa_core.video.RawFormat` of a headerless .yuv file (None otherwise).
        """
        file = self.entry(path, indices, size)
        if file.is_file():
            try:
                return torch.from_numpy(np.load(file).astype(np.float32))
            except (OSError, ValueError):
                file.unlink(missing_ok=True)  # a torn or corrupt entry: recompute it
        from vqa_core.video import read_clip

        frames = self.frames_to_read(indices)
        clip = read_clip(path, frames, size=tuple(size) if size is not None else None, raw=raw)
        return self.store(path, indices, size, self.predict(clip))

    def store(
        self, path: str | Path, indices: Sequence[int], size: tuple[int, int] | None, maps: torch.Tensor
    ) -> torch.Tensor:
        """Write `maps` (from `predict_maps` of this model) as the entry of (path, indices, size);
        returns them as a cache hit will (float16 precision, float32 type)."""
        maps = maps.detach().cpu().half().float()
        with atomic_path(self.entry(path, indices, size)) as tmp, open(tmp, "wb") as fh:
            np.save(fh, maps.numpy().astype(np.float16))
        return maps
