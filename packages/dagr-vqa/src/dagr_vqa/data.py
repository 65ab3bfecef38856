"""The clips STR/DAGR train on: RGB frames and saliency maps at the same frame indices.

The seeds took the first 8 maps while the frames were linspace-sampled (seed_audit §2.4, §6 item 9);
here both come from one list of indices, fixed per video by `clip_indices`, and decoded through
saliency-core's `read_guided_clip` (raw .yuv items with their format, as SC-VQA reads them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch.utils.data import Dataset

from dagr_vqa.cache import FeatureCache
from saliency_core.guided_clips import GuidedClipDataset, clip_indices
from saliency_core.native_crop import NativeCrop, NativeCropConfig
from vqa_core.datasets.torch_dataset import raw_format_of
from vqa_core.rhythm import window_indices
from vqa_core.transforms import ClipAugment, ClipAugmentConfig

__all__ = ["ClipDataset", "FeatureDataset", "augmentation", "clip_indices"]


def augmentation(train_crop: Sequence[int] | None = None) -> ClipAugment | NativeCrop:
    """With `train_crop` ([height, width]): a random window at native scale and a horizontal flip,
    the same for every frame and map of a clip (no resampling, no colour change: the label holds).
    Without: the seeds' recipe made clip-consistent, horizontal flip and mild colour jitter, no
    crop or rescale (resampling would change the very sharpness the model is asked to judge)."""
    if train_crop is not None:
        return NativeCrop(NativeCropConfig(size=(int(train_crop[0]), int(train_crop[1])), hflip_p=0.5))
    return ClipAugment(
        ClipAugmentConfig(
            size=None,
            crop=False,
            hflip_p=0.5,
            jitter_p=1.0,
            brightness=0.2,
            contrast=0.2,
            saturation=0.2,
            hue=0.0,
        )
    )


class ClipDataset(GuidedClipDataset):
    """`frames` float (T, 3, H, W) in [0, 1], `maps` float (T, H, W) when a map cache is given,
    `target` and `index`; with `augment`, frames and maps are augmented jointly per clip.

    Built as `ClipDataset(items, indices, size, targets, maps, augment, seed, cache_clips)` with
    `maps` a `saliency_core.SaliencyMapCache`, `augment` a `vqa_core.transforms.ClipAugment` or a
    `saliency_core.NativeCrop` (or None) and `size` None for native-size frames. `cache_clips`
    decodes each clip once into the on-disk store of decoded clips (uint8, memory-mapped, shared by
    workers, splits and runs; `GuidedClipDataset.keep_decoded_clips`) and keeps its maps (float16,
    as the map cache stores them) in memory: decoding, not the network, dominates many epochs over
    a small dataset on a CPU.
    `indices[i]` are item i's frame indices; `targets[i]` its training target (z-scored MOS).
    `window > 1` (`model.rhythm_window`) reads `window` consecutive frames from each index,
    (T*window, 3, H, W) window after window, while the maps stay at the indices themselves.
    Augmentation draws from (seed, epoch, index) only, so it does not depend on worker
    scheduling and a resumed run sees the same clips. A video that fails to decode raises
    `VideoDecodeError` naming the file: the method drops unreadable videos (with a warning)
    before training, so a failure here is a real error.
    """

    def __init__(self, *args: Any, cache_clips: bool = False, window: int = 1, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cache_clips = cache_clips
        self.window = int(window)
        self._maps: dict[int, torch.Tensor | None] = {}
        if cache_clips:
            self.keep_decoded_clips()

    def clip(self, i: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Item i's frames uint8 (T*window, H, W, 3) and maps (T, H, W), unaugmented."""
        item, idx = self.items[i], self.indices[i]
        frames = torch.from_numpy(self.read_frames(i, window_indices(idx, self.window)))
        if self.maps is None:
            return frames, None
        if i in self._maps:
            return frames, self._maps[i]
        maps = self.maps.maps(item.path, idx, self.size, raw=raw_format_of(item)).half()
        if self.cache_clips:
            self._maps[i] = maps
        return frames, maps

    def __getitem__(self, i: int) -> dict[str, Any]:
        clip, maps = self.clip(i)
        frames = clip.permute(0, 3, 1, 2).float().div_(255.0)
        maps = maps.float() if maps is not None else None
        if self.augment is not None:
            # one frame per map for the joint augmentation, each window's first map kept after it
            maps = (
                maps.repeat_interleave(self.window, dim=0) if maps is not None and self.window > 1 else maps
            )
            frames, maps = self.augment(frames, maps, seed=self.augment_seed(i))
            maps = maps[:: self.window] if maps is not None and self.window > 1 else maps
        out: dict[str, Any] = {
            "frames": frames.contiguous(),
            "target": torch.tensor(self.targets[i], dtype=torch.float32),
            "index": i,
        }
        if maps is not None:
            out["maps"] = maps.contiguous()
        return out


class FeatureDataset(Dataset):
    """Cached per-frame trunk features (T, C) and the target: the frozen-backbone fast path."""

    def __init__(self, paths: Sequence[Any], targets: Sequence[float]) -> None:
        self.paths = list(paths)
        self.targets = list(targets)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return {
            "features": FeatureCache.read(self.paths[i]),
            "target": torch.tensor(self.targets[i], dtype=torch.float32),
            "index": i,
        }
