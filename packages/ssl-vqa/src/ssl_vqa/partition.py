"""The labelled / unlabelled partition of a training split (the seeds: 500 of 2000 LSVQ videos).

The partition depends only on the items' video ids, the requested size and the seed, never on
the order the items arrive in, so every method and every run given the same training split
and seed trains on the same labelled videos.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from vqa_core.datasets import ManifestItem
from vqa_core.errors import ConfigError, DatasetError

__all__ = ["Partition", "labelled_count", "partition_items"]


@dataclass(frozen=True)
class Partition:
    """Labelled and unlabelled items (each sorted by video id)."""

    labelled: list[ManifestItem]
    unlabelled: list[ManifestItem]

    def summary(self) -> str:
        total = len(self.labelled) + len(self.unlabelled)
        return f"{len(self.labelled)} labelled + {len(self.unlabelled)} unlabelled of {total} training videos"


def labelled_count(requested: int | float, total: int) -> int:
    """Number of labelled videos: an int count, or a fraction of `total` rounded (at least 2).

    A count larger than the training split is an error (it would silently mean "all").
    """
    if total < 2:
        raise DatasetError(f"the training split has {total} video(s); semi-supervised training needs at least 2")
    if isinstance(requested, float) and not requested.is_integer():
        if not 0 < requested < 1:
            raise ConfigError(f"semi.labelled as a fraction must be in (0, 1), got {requested}")
        return min(max(2, round(requested * total)), total)
    count = int(requested)
    if count == 1 and isinstance(requested, float):  # 1.0 = the whole split
        return total
    if count < 2:
        raise ConfigError(f"semi.labelled must be at least 2 videos (PLCC needs a batch of 2), got {count}")
    if count > total:
        raise ConfigError(
            f"semi.labelled={count} but the training split has only {total} videos; "
            "lower it or give a fraction such as 0.25"
        )
    return count


def partition_items(
    items: Sequence[ManifestItem], labelled: int | float, seed: int = 0, pick: str = "random"
) -> Partition:
    """Split `items` into labelled and unlabelled parts.

    `pick="random"`: a uniformly random subset drawn with a generator seeded by `seed` and a
    digest of the sorted ids; `"spread"`: the seeds' `np.linspace(0, n-1, k)` over the items
    sorted by id (deterministic, no seed).
    """
    ordered = sorted(items, key=lambda it: it.video_id)
    ids = [it.video_id for it in ordered]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise DatasetError(f"duplicate video ids in the training split: {', '.join(dup)}")
    n = len(ordered)
    k = labelled_count(labelled, n)
    if pick == "spread":
        chosen = set(np.linspace(0, n - 1, k).round().astype(int).tolist())
        if len(chosen) != k:  # rounding collisions cannot happen for k <= n, but stay exact
            raise ConfigError(f"cannot spread {k} labelled videos over {n}")
    elif pick == "random":
        digest = int.from_bytes(hashlib.sha256("\n".join(ids).encode()).digest()[:8], "little")
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), digest]))
        chosen = set(rng.choice(n, size=k, replace=False).tolist())
    else:
        raise ConfigError(f"semi.pick {pick!r} must be 'random' or 'spread'")
    lab = [it for i, it in enumerate(ordered) if i in chosen]
    unl = [it for i, it in enumerate(ordered) if i not in chosen]
    return Partition(labelled=lab, unlabelled=unl)
