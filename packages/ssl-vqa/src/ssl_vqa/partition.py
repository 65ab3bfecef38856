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

from ssl_vqa.config import MIN_PLCC_BATCH
from vqa_core.datasets import ManifestItem
from vqa_core.errors import ConfigError, DatasetError

__all__ = ["Partition", "budget_split", "draw_validation", "labelled_count", "partition_items", "restrict_to_subset"]


@dataclass(frozen=True)
class Partition:
    """Labelled and unlabelled items (each sorted by video id)."""

    labelled: list[ManifestItem]
    unlabelled: list[ManifestItem]

    def summary(self) -> str:
        total = len(self.labelled) + len(self.unlabelled)
        return f"{len(self.labelled)} labelled + {len(self.unlabelled)} unlabelled of {total} training videos"


def labelled_count(requested: int | float, total: int) -> int:
    """Number of labelled videos: an int count, or a fraction of `total` rounded (at least 3,
    the smallest batch whose PLCC loss has a gradient).

    A count larger than the training split is an error (it would silently mean "all").
    """
    if total < MIN_PLCC_BATCH:
        raise DatasetError(
            f"the training split has {total} video(s); semi-supervised training needs at least {MIN_PLCC_BATCH}"
        )
    if isinstance(requested, float) and not requested.is_integer():
        if not 0 < requested < 1:
            raise ConfigError(f"semi.labelled as a fraction must be in (0, 1), got {requested}")
        return min(max(MIN_PLCC_BATCH, round(requested * total)), total)
    count = int(requested)
    if count == 1 and isinstance(requested, float):  # 1.0 = the whole split
        return total
    if count < MIN_PLCC_BATCH:
        raise ConfigError(
            f"semi.labelled must be at least {MIN_PLCC_BATCH} videos (the PLCC of 2 scores is always +1 or -1: "
            f"no gradient), got {count}"
        )
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
        chosen = set(_id_seeded_rng(ids, seed).choice(n, size=k, replace=False).tolist())
    else:
        raise ConfigError(f"semi.pick {pick!r} must be 'random' or 'spread'")
    lab = [it for i, it in enumerate(ordered) if i in chosen]
    unl = [it for i, it in enumerate(ordered) if i not in chosen]
    return Partition(labelled=lab, unlabelled=unl)


def restrict_to_subset(items: Sequence[ManifestItem], names: Sequence[str]) -> list[ManifestItem]:
    """The items whose video id is one of `names` (e.g. the authors' 2,000-video LSVQ subset).

    A name matches a video id as given, or without a file extension (`ia-batch1/xyz.mp4` and
    `ia-batch1/xyz` name the same video). Names matching no item are reported, not ignored.
    """
    wanted = {_stem(n) for n in names}
    kept = [it for it in items if _stem(it.video_id) in wanted]
    found = {_stem(it.video_id) for it in kept}
    missing = sorted(wanted - found)
    if len(kept) < 2 or missing:
        some = ", ".join(missing[:5])
        raise DatasetError(
            f"semi.subset: {len(missing)} of {len(wanted)} names are not in the training split "
            f"({some}{', ...' if len(missing) > 5 else ''}); {len(kept)} matched. List the training "
            "split's video ids (as in its manifest), or drop semi.subset"
        )
    return kept


def _stem(name: str) -> str:
    name = str(name)
    head, dot, ext = name.rpartition(".")
    return head if dot and ext and "/" not in ext and len(ext) <= 4 else name


def budget_split(
    labelled: int | float, val_labelled: int | float | None, train_total: int, val_total: int
) -> tuple[int | float, int | None]:
    """(labels for the training split, validation videos to use) when validation labels count
    inside the budget; `val_labelled=None` keeps them outside: `(labelled, None)`, every given
    validation video is used.

    `labelled` is resolved against the training split (`labelled_count`), `val_labelled` as a
    count or a fraction of that budget; at most the validation videos given are used.
    """
    if val_labelled is None:
        return labelled, None
    budget = labelled_count(labelled, train_total)
    if isinstance(val_labelled, float) and not val_labelled.is_integer():
        wanted = max(1, round(val_labelled * budget))
    else:
        wanted = int(val_labelled)
    used = min(wanted, val_total)
    if budget - used < 2:
        raise ConfigError(
            f"semi.labelled={labelled} leaves {budget - used} training labels after {used} validation labels "
            "(semi.val_labelled); raise semi.labelled or lower semi.val_labelled"
        )
    return budget - used, used


def draw_validation(items: Sequence[ManifestItem], count: int, seed: int = 0) -> list[ManifestItem]:
    """`count` of the validation items, drawn as `partition_items` draws (seeded, order-free)."""
    ordered = sorted(items, key=lambda it: it.video_id)
    if count >= len(ordered):
        return ordered
    chosen = set(_id_seeded_rng([it.video_id for it in ordered], seed).choice(len(ordered), size=count, replace=False))
    return [it for i, it in enumerate(ordered) if i in chosen]


def _id_seeded_rng(ids: Sequence[str], seed: int) -> np.random.Generator:
    """A generator seeded by `seed` and a digest of the sorted ids (order-free, reproducible)."""
    digest = int.from_bytes(hashlib.sha256("\n".join(ids).encode()).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence([int(seed), digest]))
