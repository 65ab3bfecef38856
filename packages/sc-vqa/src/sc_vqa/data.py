"""The clips SC-VQA trains on: RGB frames and saliency maps at the same frame indices, in two views.

The seed took the first 8 of 40 maps while the frames were linspace-sampled, and augmented every
frame and every map independently (seed_audit §3.2, §6 items 8-9). Here one list of indices per
video fixes both frames and maps, and each view draws one crop / flip / jitter for the whole clip,
applied to the frames and (geometry only) to the maps. The two views of an item use different
draws, derived from (seed, epoch, index, view), so they differ from each other yet a resumed run
sees the same pairs.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn

from saliency_core.guided_clips import GuidedClipDataset, clip_indices, frame_size, read_guided_clip
from saliency_core.native_crop import NativeCrop
from vqa_core.datasets import ManifestItem
from vqa_core.datasets.torch_dataset import raw_format_of
from vqa_core.errors import DatasetError
from vqa_core.rhythm import window_indices
from vqa_core.transforms import ClipAugment, resize_frames

__all__ = ["CachedModelMaps", "FolderMaps", "MapSource", "OnTheFlyMaps", "ScClipDataset", "clip_indices"]


class MapSource(Protocol):
    """Saliency maps (T, H, W) float in [0, 1] of `item` at frame `indices`, aligned with `clip`."""

    def __call__(self, item: ManifestItem, indices: Sequence[int], clip: np.ndarray) -> torch.Tensor: ...


class CachedModelMaps:
    """Maps from saliency-core's on-disk `SaliencyMapCache` (computed once per video, indices, size, model)."""

    def __init__(self, cache: Any, size: tuple[int, int] | None) -> None:
        self.cache = cache
        self.size = frame_size(size)  # None: the videos' own size

    def __call__(self, item: ManifestItem, indices: Sequence[int], clip: np.ndarray) -> torch.Tensor:
        return self.cache.maps(item.path, list(indices), self.size, raw=raw_format_of(item))


class OnTheFlyMaps:
    """Maps computed by a saliency model, nothing stored (`saliency.cache=false`): from the decoded
    clip (`windows="fast"`), or from each sampled frame's window of frames `stride` apart, decoded
    here at the clip's size (`"faithful"`, see `saliency_core.infer`)."""

    def __init__(self, model: nn.Module, windows: str = "fast", stride: int = 1) -> None:
        self.model, self.windows, self.stride = model, windows, int(stride)

    def __call__(self, item: ManifestItem, indices: Sequence[int], clip: np.ndarray) -> torch.Tensor:
        from saliency_core import predict_maps, predict_window_maps, window_indices

        if self.windows == "fast":
            return predict_maps(self.model, clip)
        clip_len = int(self.model.config.clip_len)
        frames = read_guided_clip(item, window_indices(list(indices), clip_len, self.stride), tuple(clip.shape[1:3]))
        return predict_window_maps(self.model, frames, clip_len)


class FolderMaps:
    """Precomputed maps `<root>/<video_id>/<frame index>.png`, resized to the clip's size."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise DatasetError(f"saliency.maps_dir {self.root} is not a folder")

    def __call__(self, item: ManifestItem, indices: Sequence[int], clip: np.ndarray) -> torch.Tensor:
        from saliency_core import read_maps

        folder = self.root / str(item.video_id)
        if not folder.is_dir():
            raise DatasetError(
                f"no saliency maps for {item.video_id} ({item.path}): expected the folder {folder} "
                "holding <frame index>.png maps"
            )
        maps, _ = read_maps(folder, [int(i) for i in indices])
        return resize_frames(torch.from_numpy(maps), tuple(clip.shape[1:3])).clamp_(0.0, 1.0)


class ScClipDataset(GuidedClipDataset):
    """Items as `frames` float (T, 3, H, W) in [0, 1], `maps` (T, H, W) when a map source is given,
    `target` and `index`; with `augment`, `frames` (2, T, 3, H, W) and `maps` (2, T, H, W): two views.

    `view_size` resizes unaugmented items (validation, scoring) to the training views' size.
    `cache_clips` decodes each clip once into the on-disk store of decoded clips (memory-mapped,
    shared by workers, splits and runs; `GuidedClipDataset.keep_decoded_clips`) and keeps its maps
    in memory, which pays off when many epochs run over a small dataset. A video that fails to decode
    raises `VideoDecodeError` naming the file (the method drops unreadable videos before training).

    `window > 1` (`model.rhythm_window`) reads `window` consecutive frames from each index,
    (T*window, 3, H, W) window after window, while the maps stay at the indices themselves; the
    two views crop and flip each window with its first frame's map.
    """

    def __init__(
        self,
        items: Sequence[ManifestItem],
        indices: Sequence[Sequence[int]],
        size: tuple[int, int] | None,
        targets: Sequence[float] | None = None,
        maps: MapSource | None = None,
        augment: ClipAugment | NativeCrop | None = None,
        seed: int = 0,
        cache_clips: bool = False,
        view_size: tuple[int, int] | None = None,
        window: int = 1,
    ) -> None:
        super().__init__(items, indices, size, targets, maps, augment, seed)
        self.cache_clips = cache_clips
        self.window = int(window)
        # unaugmented items (validation, scoring) resized to the views' size, as the network saw them
        self.view_size = (int(view_size[0]), int(view_size[1])) if view_size is not None else None
        self._maps: dict[int, torch.Tensor | None] = {}
        if cache_clips:
            self.keep_decoded_clips()

    def view_seed(self, index: int, view: int) -> int:
        """The augmentation seed of one view of one item in the current epoch."""
        return self.augment_seed(index, view)

    def clip(self, i: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Unaugmented frames (T*window, 3, H, W) float in [0, 1] and maps (T, H, W) of item i."""
        item, idx = self.items[i], self.indices[i]
        clip = self.read_frames(i, window_indices(idx, self.window))
        frames_u8 = torch.from_numpy(np.ascontiguousarray(clip))
        if i in self._maps:
            maps = self._maps[i]
        else:
            # maps at the indices (each window's first frame), half as the map cache stores them
            maps = self.maps(item, idx, clip[:: self.window]).half() if self.maps is not None else None
            if self.cache_clips:
                self._maps[i] = maps
        frames = frames_u8.permute(0, 3, 1, 2).float().div_(255.0)
        return frames, (maps.float() if maps is not None else None)

    def __getitem__(self, i: int) -> dict[str, Any]:
        frames, maps = self.clip(i)
        out: dict[str, Any] = {"target": torch.tensor(self.targets[i], dtype=torch.float32), "index": i}
        if self.augment is not None:
            w = self.window
            # one map per frame for the joint augmentation, each window's first kept after it
            joint = maps.repeat_interleave(w, dim=0) if maps is not None and w > 1 else maps
            views = [self.augment(frames, joint, seed=self.view_seed(i, v)) for v in (0, 1)]
            out["frames"] = torch.stack([f for f, _ in views]).contiguous()
            if maps is not None:
                out["maps"] = torch.stack([m[::w] for _, m in views]).contiguous()
        else:
            if self.view_size is not None:
                frames = resize_frames(frames, self.view_size).clamp_(0.0, 1.0)
                maps = resize_frames(maps, self.view_size).clamp_(0.0, 1.0) if maps is not None else None
            out["frames"] = frames.contiguous()
            if maps is not None:
                out["maps"] = maps.contiguous()
        return out
