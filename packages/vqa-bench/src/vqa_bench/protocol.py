"""Evaluation protocols: which models are trained on what, and tested on what.

A protocol is a list of `Task`s. A task trains one model (on `train`, selecting on `val`)
and scores one or more test sets with it. The three protocols of the field (anchors §4.9):

- `intra`: seeded 80/20 train/test splits of one dataset (10 by default), a validation part
  carved from each train part; the metrics are reported per split and as their median/std.
- `lsvq`: LSVQ's official split, trained once on `train`; tested on `test` and `test_1080p`,
  and zero-shot on the whole of every other dataset given (KoNViD-1k, LIVE-VQC).
- `cross`: a cross-dataset matrix: one model per dataset, trained on all of it (minus a
  validation part), tested zero-shot on the whole of each other dataset. The diagonal of the
  matrix is the `intra` protocol.

The splits come from `vqa_core.datasets` (the same seeds for every method), so every method
sees the same train/val/test membership; the task fingerprint records that membership so a
resumed run notices when it changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from vqa_core.errors import DatasetError

PROTOCOLS = ("auto", "intra", "lsvq", "cross")
LSVQ_TEST_PARTS = ("test", "test_1080p")


@dataclass(frozen=True)
class Task:
    """One model to train (on `train`, selecting on `val`) and the test sets it scores."""

    name: str
    train_set: str
    train: tuple[Any, ...]
    val: tuple[Any, ...]
    tests: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    seed: int = 0

    def fingerprint(self, method: str, config_hash: str) -> str:
        """Digest of everything that decides this task's numbers (not the code version)."""
        payload = {
            "method": method,
            "config": config_hash,
            "seed": self.seed,
            "train": sorted(i.video_id for i in self.train),
            "val": sorted(i.video_id for i in self.val),
            "tests": {k: sorted(i.video_id for i in v) for k, v in sorted(self.tests.items())},
        }
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _seeded_splits(manifest: Any, num_splits: int, seed: int) -> list[Any]:
    from vqa_core.datasets import make_splits

    return list(make_splits(manifest, num_splits=num_splits, seed=seed))


def _split_parts(split: Any, manifest: Any) -> tuple[list[Any], list[Any], list[Any]]:
    """(train, val, test) items of one `vqa_core.datasets.Split`."""
    return tuple(
        split.select(manifest, part) if part in split.parts else [] for part in ("train", "val", "test")
    )


def intra_tasks(manifest: Any, num_splits: int, seed: int = 0) -> list[Task]:
    """Seeded 80/20 splits (with validation) of one dataset, one task per split."""
    if num_splits < 1:
        raise DatasetError(f"--splits must be at least 1, got {num_splits}")
    tasks = []
    for k, split in enumerate(_seeded_splits(manifest, num_splits, seed)):
        train, val, test = _split_parts(split, manifest)
        _require(train, f"{manifest.name} split {k}: empty train part")
        _require(test, f"{manifest.name} split {k}: empty test part")
        tasks.append(
            Task(
                name=f"split_{k:02d}",
                train_set=manifest.name,
                train=tuple(train),
                val=tuple(val),
                tests={manifest.name: tuple(test)},
                seed=seed + k,
            )
        )
    return tasks


def train_val_split(manifest: Any, seed: int) -> tuple[list[Any], list[Any]]:
    """All of a dataset as training data, minus the validation part of its first seeded split.

    Used where a model trains on a whole dataset (the cross-dataset matrix): validation
    fraction and grouping are those of vqa_core's splits, so there is one rule for carving
    validation data; a dataset's official split, if any, is ignored (all of it is used).
    """
    from vqa_core.datasets import random_splits

    key = manifest.group_by
    groups = {i.video_id: str(i.extra[key]) for i in manifest.items} if key else None
    split = random_splits(manifest.ids, manifest.name, num_splits=1, seed=seed, groups=groups)[0]
    train, val, test = _split_parts(split, manifest)
    return [*train, *test], val


def lsvq_tasks(manifest: Any, zero_shot: Mapping[str, Any], seed: int) -> list[Task]:
    """LSVQ official: train on `train` (validation carved from it when the dataset has none),
    test on the official test parts, and zero-shot on every other given dataset in full."""
    from vqa_core.datasets import official_split

    split = official_split(manifest, seed=seed, group_by=manifest.group_by)
    train = split.select(manifest, "train")
    val = split.select(manifest, "val") if "val" in split.parts else []
    tests: dict[str, tuple[Any, ...]] = {}
    for part in split.parts:
        if part not in ("train", "val"):
            tests[f"{manifest.name}_{part}"] = tuple(split.select(manifest, part))
    for name, other in dict(zero_shot).items():
        tests[name] = tuple(other.items)
    _require(train, f"{manifest.name}: no items in the official 'train' part")
    _require(tests, f"{manifest.name}: no official test parts ({', '.join(LSVQ_TEST_PARTS)}) found")
    return [Task("official", manifest.name, tuple(train), tuple(val), tests, seed)]


def cross_tasks(manifests: Sequence[Any], seed: int = 0) -> list[Task]:
    """One model per dataset trained on all of it, tested on each other dataset in full."""
    if len(manifests) < 2:
        raise DatasetError("the cross-dataset protocol needs at least two datasets (--dataset a,b[,c])")
    tasks = []
    for m in manifests:
        train, val = train_val_split(m, seed)
        tests = {o.name: tuple(o.items) for o in manifests if o.name != m.name}
        tasks.append(Task(f"train_{m.name}", m.name, tuple(train), tuple(val), tests, seed))
    return tasks


def _require(value: Any, message: str) -> None:
    if not value:
        raise DatasetError(message)
