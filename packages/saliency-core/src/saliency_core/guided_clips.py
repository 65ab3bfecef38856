"""What the training clips of a saliency-guided VQA method (STR/DAGR-VQA, SC-VQA) have in common.

Each item is read at one fixed list of frame indices (frames and saliency maps share them), has a
training target, and is augmented with a seed drawn from (seed, epoch, index[, view]) only, so the
draw does not depend on DataLoader worker scheduling and a resumed run sees the same clips.
The methods' datasets subclass `GuidedClipDataset` and add how they read and augment a clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from torch.utils.data import Dataset

if TYPE_CHECKING:
    from vqa_core.datasets import ManifestItem

__all__ = ["GuidedClipDataset"]


class GuidedClipDataset(Dataset):
    """Items, their frame indices, targets (NaN when scoring), a map source and an augmentation."""

    def __init__(
        self,
        items: Sequence[ManifestItem],
        indices: Sequence[Sequence[int]],
        size: tuple[int, int],
        targets: Sequence[float] | None = None,
        maps: Any = None,
        augment: Any = None,
        seed: int = 0,
    ) -> None:
        if len(indices) != len(items):
            raise ValueError(f"{len(items)} items but {len(indices)} index lists")
        self.items = list(items)
        self.indices = [[int(i) for i in ix] for ix in indices]
        self.size = (int(size[0]), int(size[1]))
        self.targets = list(targets) if targets is not None else [float("nan")] * len(self.items)
        self.maps = maps
        self.augment = augment
        self.seed = int(seed)
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.items)

    def set_epoch(self, epoch: int) -> None:
        """Called by the Trainer before each epoch, so every epoch draws new augmentations."""
        self.epoch = int(epoch)

    def augment_seed(self, index: int, *more: int) -> int:
        """The augmentation seed of item `index` in the current epoch (`more`: e.g. the view number)."""
        return int(np.random.SeedSequence([self.seed, self.epoch, index, *more]).generate_state(1)[0])
