"""What the training clips of a saliency-guided VQA method (STR/DAGR-VQA, SC-VQA) have in common.

Each item is read at one fixed list of frame indices (frames and saliency maps share them), has a
training target, and is augmented with a seed drawn from (seed, epoch, index[, view]) only, so the
draw does not depend on DataLoader worker scheduling and a resumed run sees the same clips.
The methods' datasets subclass `GuidedClipDataset` and add how they augment a clip.

Every saliency-guided method finds a video's frame indices with `clip_indices` and decodes them
with `read_guided_clip`, the one path for raw video: a headerless .yuv item (LIVE-Qualcomm,
with `raw_*` manifest fields) is read with its raw format everywhere, frames and maps alike.
(DAGR/STR-VQA once decoded without it, so they dropped those videos while SC-VQA scored them.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from torch.utils.data import Dataset

from vqa_core.errors import VideoDecodeError

if TYPE_CHECKING:
    from vqa_core.datasets import ManifestItem
    from vqa_core.video import DecodedClipStore

__all__ = ["GuidedClipDataset", "clip_indices", "frame_size", "read_guided_clip"]


def clip_indices(item: ManifestItem, num_frames: int, window: int = 1) -> list[int]:
    """The `num_frames` uniform (linspace) frame indices of a video, as in the papers.

    Frames and saliency maps are both taken at these indices (the seeds took the first T maps
    while sampling frames with linspace). A frame count stored in the manifest's `num_frames`
    field saves opening the video; a headerless .yuv item is probed with its raw format.
    `window > 1`: the first frames of `window`-frame runs, spread so the last run ends on the
    last frame (a video shorter than one run is an error naming it).
    """
    from vqa_core.datasets.torch_dataset import raw_format_of
    from vqa_core.sampling import uniform_indices
    from vqa_core.video import probe

    known = item.extra.get("num_frames") if item.extra else None
    if isinstance(known, int | float) and known > 0:
        total = int(known)
    else:
        total = int(probe(item.path, raw=raw_format_of(item)).num_frames)
    if total <= 0:
        raise VideoDecodeError(f"{item.path}: the video reports no frames")
    if total < window:
        raise VideoDecodeError(
            f"{item.path}: {total} frame(s), fewer than one window of {window} consecutive frames"
        )
    return [int(i) for i in uniform_indices(total - window + 1, num_frames)]


def read_guided_clip(item: ManifestItem, indices: Sequence[int], size: tuple[int, int] | None) -> np.ndarray:
    """uint8 (T, H, W, 3) frames `indices` of `item` at `size`, or at the video's own size when
    `size` is None (raw .yuv items with their format)."""
    from vqa_core.datasets.torch_dataset import raw_format_of
    from vqa_core.video import read_clip

    return read_clip(item.path, list(indices), size=frame_size(size), raw=raw_format_of(item))


def frame_size(size: Sequence[int | None] | None) -> tuple[int, int] | None:
    """`(height, width)` as ints, or None for native size (None, or both sides None)."""
    if size is None or all(s is None for s in size):
        return None
    if any(s is None for s in size):
        raise ValueError(f"give both frame sides or neither (native size), got {tuple(size)}")
    return (int(size[0]), int(size[1]))


class GuidedClipDataset(Dataset):
    """Items, their frame indices, targets (NaN when scoring), a map source and an augmentation."""

    def __init__(
        self,
        items: Sequence[ManifestItem],
        indices: Sequence[Sequence[int]],
        size: tuple[int, int] | None,
        targets: Sequence[float] | None = None,
        maps: Any = None,
        augment: Any = None,
        seed: int = 0,
    ) -> None:
        if len(indices) != len(items):
            raise ValueError(f"{len(items)} items but {len(indices)} index lists")
        self.items = list(items)
        self.indices = [[int(i) for i in ix] for ix in indices]
        self.size = frame_size(size)  # None: the videos' own size
        self.targets = list(targets) if targets is not None else [float("nan")] * len(self.items)
        self.maps = maps
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0
        self.clip_store: DecodedClipStore | None = None  # set by `keep_decoded_clips`

    def keep_decoded_clips(self) -> None:
        """Read frames through the on-disk store of decoded clips (`cache_dir("clips")`): each
        video's frames are decoded once and memory-mapped after, by every epoch, worker, split and
        run (`vqa_core.video.DecodedClipStore`)."""
        from vqa_core.cache import cache_dir
        from vqa_core.video import DecodedClipStore

        self.clip_store = DecodedClipStore(cache_dir("clips"))

    def read_frames(self, i: int, indices: Sequence[int]) -> np.ndarray:
        """uint8 (T, H, W, 3) frames `indices` of item i at the dataset's size (from the store when kept)."""
        item = self.items[i]
        if self.clip_store is None:
            return read_guided_clip(item, indices, self.size)
        from vqa_core.datasets.torch_dataset import raw_format_of

        return np.array(self.clip_store.read(item.path, list(indices), self.size, raw_format_of(item)))  # a writable copy

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer before each epoch, so every epoch draws new augmentations."""
        self.epoch = int(epoch)

    def augment_seed(self, index: int, *more: int) -> int:
        """The augmentation seed of item `index` in the current epoch (`more`: e.g. the view number)."""
        return int(np.random.SeedSequence([self.seed, self.epoch, index, *more]).generate_state(1)[0])
