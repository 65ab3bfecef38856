"""Train / validation / test splits that are the same for every method.

The field's protocol (anchors §4.9): the official split where a dataset has one (LSVQ
train / test / test_1080p, DHF1K, demo-saliency), otherwise repeated seeded 80/20
train/test splits (10 by default) and the median over them. Model selection uses a
validation part carved from train, never the test part.

Reproducibility rules, because published numbers differ mostly through splits:
- a split depends only on (dataset name, the set of item ids, seed, repeat index): ids are
  sorted first (file order is irrelevant) and seeds are mixed with a SHA-256 of the dataset
  name (never Python's randomised `hash`);
- seeds are recorded in every `Split` and in the column names of exported files
  (`ratio802_seed{S}_split_{k:02d}`, as pyiqa's meta-info CSVs), so a CSV is the split;
- `group_by` keeps items sharing a key (all distorted versions of one demo scene) in the
  same part, otherwise content leaks from train into test.

The validation part is `val_fraction` (default 12.5 %) of the training items, i.e. 10 % of
the dataset for an 80/20 split: train/val/test = 70/10/20.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vqa_core.atomic import atomic_open
from vqa_core.datasets.manifest import Manifest, ManifestItem
from vqa_core.errors import DatasetError

log = logging.getLogger(__name__)

DEFAULT_SEED = 123
DEFAULT_NUM_SPLITS = 10
DEFAULT_TEST_FRACTION = 0.2
DEFAULT_VAL_FRACTION = 0.125
_SPLIT_COLUMN = re.compile(
    r"^(ratio\d+_seed(?P<seed>\d+)_split_\d+|official(_seed(?P<oseed>\d+))?(_split)?)$"
)


@dataclass(frozen=True)
class Split:
    """One assignment of item ids to parts (`train`, `val`, `test`, and e.g. `test_1080p`).

    `name` is the column name used when exporting; `seed` the seed that made it (None for
    an official split taken as is); `dataset` the dataset it belongs to.
    """

    name: str
    parts: Mapping[str, tuple[str, ...]]
    seed: int | None = None
    dataset: str = ""

    @property
    def train(self) -> tuple[str, ...]:
        return self.parts.get("train", ())

    @property
    def val(self) -> tuple[str, ...]:
        return self.parts.get("val", ())

    @property
    def test(self) -> tuple[str, ...]:
        return self.parts.get("test", ())

    def assignment(self) -> dict[str, str]:
        """video_id -> part."""
        return {vid: part for part, ids in self.parts.items() for vid in ids}

    def select(self, manifest: Manifest | Sequence[ManifestItem], part: str) -> list[ManifestItem]:
        """The items of `part`, in the split's (sorted) id order."""
        if part not in self.parts:
            raise DatasetError(
                f"split {self.name!r} of {self.dataset!r} has no part {part!r}; parts: {list(self.parts)}"
            )
        items = manifest.items if isinstance(manifest, Manifest) else list(manifest)
        table = {item.video_id: item for item in items}
        missing = [vid for vid in self.parts[part] if vid not in table]
        if missing:
            raise DatasetError(
                f"split {self.name!r} ({self.dataset!r}) names {len(missing)} ids absent from the manifest, "
                f"e.g. {missing[:5]}; was the manifest built with videos dropped? Rebuild the splits from it."
            )
        return [table[vid] for vid in self.parts[part]]


def _stable_int(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def split_rng(dataset: str, seed: int, index: int, purpose: str) -> np.random.Generator:
    """The generator of repeat `index` of `dataset`: a function of its arguments only."""
    return np.random.default_rng(
        np.random.SeedSequence([int(seed), int(index), _stable_int(dataset), _stable_int(purpose)])
    )


def split_column_name(seed: int, index: int, test_fraction: float = DEFAULT_TEST_FRACTION) -> str:
    """pyiqa-style column name: `ratio802_seed123_split_00` for an 80/20 split."""
    test = round(test_fraction * 10)
    return f"ratio{10 - test}0{test}_seed{seed}_split_{index:02d}"


def _take(units: Sequence[str], sizes: Mapping[str, int], target: int, keep: int = 1) -> list[str]:
    """Units (in the given, shuffled, order) whose total size is as close to `target` as the
    greedy pass gets, at least one when target > 0 and leaving at least `keep` units out."""
    chosen: list[str] = []
    count = 0
    limit = len(units) - keep
    for unit in units:
        if len(chosen) >= limit or count >= target:
            break
        size = sizes[unit]
        if count + size <= target + size / 2 or not chosen:
            chosen.append(unit)
            count += size
    return chosen if target > 0 else []


def _units(ids: Sequence[str], groups: Mapping[str, str] | None) -> tuple[list[str], dict[str, list[str]]]:
    """Sorted splitting units (groups or ids) and their member ids."""
    members: dict[str, list[str]] = {}
    for vid in ids:
        key = str(groups[vid]) if groups is not None else vid
        members.setdefault(key, []).append(vid)
    return sorted(members), members


def _carve(
    ids: Sequence[str],
    fraction: float,
    rng: np.random.Generator,
    groups: Mapping[str, str] | None,
    optional: bool = False,
) -> tuple[list[str], list[str]]:
    """(rest, carved): `fraction` of `ids` (by item count, whole groups) drawn with `rng`.

    An `optional` part (validation) is left empty, with a warning, when there is only one
    unit to split; a required one (test) is an error then.
    """
    units, members = _units(sorted(ids), groups)
    if len(units) < 2 and optional:
        log.warning("only %d item group(s) left: no validation part can be carved", len(units))
        return sorted(ids), []
    if len(units) < 2:
        raise DatasetError(
            f"cannot split {len(ids)} items in {len(units)} group(s): at least two "
            f"{'groups' if groups is not None else 'items'} are needed"
        )
    order = [units[i] for i in rng.permutation(len(units))]
    sizes = {u: len(members[u]) for u in units}
    carved_units = set(_take(order, sizes, round(fraction * len(ids))))
    carved = sorted(v for u in carved_units for v in members[u])
    rest = sorted(v for u in units if u not in carved_units for v in members[u])
    return rest, carved


def _check_ids(ids: Iterable[str], dataset: str) -> list[str]:
    ids = [str(i) for i in ids]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"dataset {dataset!r}: duplicate ids; splits need unique ids")
    return sorted(ids)


def random_splits(
    ids: Iterable[str],
    dataset: str,
    num_splits: int = DEFAULT_NUM_SPLITS,
    seed: int = DEFAULT_SEED,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    groups: Mapping[str, str] | None = None,
) -> list[Split]:
    """`num_splits` seeded train/val/test splits of `ids` (see the module docstring).

    With `groups` (id -> group key), whole groups go to one part; fractions are then met
    as closely as whole groups allow.
    """
    ids = _check_ids(ids, dataset)
    if not 0 < test_fraction < 1 or not 0 <= val_fraction < 1:
        raise DatasetError(
            f"test_fraction must be in (0, 1) and val_fraction in [0, 1); got {test_fraction}, {val_fraction}"
        )
    if groups is not None:
        absent = [i for i in ids if i not in groups]
        if absent:
            raise DatasetError(f"dataset {dataset!r}: no group for ids {absent[:5]}")
    splits = []
    for k in range(num_splits):
        rng = split_rng(dataset, seed, k, "test")
        train, test = _carve(ids, test_fraction, rng, groups)
        val: list[str] = []
        if val_fraction > 0:
            train, val = _carve(
                train, val_fraction, split_rng(dataset, seed, k, "val"), groups, optional=True
            )
        splits.append(
            Split(
                name=split_column_name(seed, k, test_fraction),
                parts={"train": tuple(train), "val": tuple(val), "test": tuple(test)},
                seed=seed,
                dataset=dataset,
            )
        )
    return splits


def official_split(
    manifest: Manifest,
    seed: int = DEFAULT_SEED,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    group_by: str | None = None,
) -> Split:
    """The dataset's own split from the items' `split` fields; a validation part is carved
    (seeded) from train when the dataset has none (LSVQ)."""
    parts: dict[str, list[str]] = {}
    for item in manifest.items:
        if not item.split:
            raise DatasetError(
                f"dataset {manifest.name!r}: item {item.video_id!r} has no official split; "
                "use random splits for this dataset"
            )
        parts.setdefault(item.split, []).append(item.video_id)
    if "train" not in parts:
        raise DatasetError(
            f"dataset {manifest.name!r}: the official split has no train part (parts: {sorted(parts)}); "
            "is the training label list missing under the data root?"
        )
    used_seed: int | None = None
    name = "official_split"
    if "val" not in parts and val_fraction > 0:
        groups = _groups(manifest, group_by)
        parts["train"], parts["val"] = _carve(
            parts["train"], val_fraction, split_rng(manifest.name, seed, 0, "val"), groups, optional=True
        )
        used_seed, name = seed, f"official_seed{seed}"
    ordered = {p: tuple(sorted(parts[p])) for p in ("train", "val", "test") if p in parts}
    ordered.update({p: tuple(sorted(ids)) for p, ids in sorted(parts.items()) if p not in ordered})
    return Split(name=name, parts=ordered, seed=used_seed, dataset=manifest.name)


def _groups(manifest: Manifest, group_by: str | None) -> dict[str, str] | None:
    if group_by is None:
        return None
    missing = [item.video_id for item in manifest.items if group_by not in item.extra]
    if missing:
        raise DatasetError(
            f"dataset {manifest.name!r}: cannot group by {group_by!r}: items {missing[:5]} have no such field "
            f"(fields: {sorted(manifest.items[0].extra)})"
        )
    return {item.video_id: str(item.extra[group_by]) for item in manifest.items}


_DEFAULT = object()


def make_splits(
    manifest: Manifest,
    num_splits: int = DEFAULT_NUM_SPLITS,
    seed: int = DEFAULT_SEED,
    test_fraction: float = DEFAULT_TEST_FRACTION,
    val_fraction: float = DEFAULT_VAL_FRACTION,
    group_by: str | object | None = _DEFAULT,
) -> list[Split]:
    """The protocol's splits for a manifest: its official split if it has one, else
    `num_splits` seeded random splits. `group_by` defaults to the dataset's own setting
    (`scene` for `demo`); pass None to split item by item."""
    key = manifest.group_by if group_by is _DEFAULT else group_by
    if manifest.official_split:
        return [official_split(manifest, seed=seed, val_fraction=val_fraction, group_by=key)]
    return random_splits(
        manifest.ids,
        manifest.name,
        num_splits=num_splits,
        seed=seed,
        test_fraction=test_fraction,
        val_fraction=val_fraction,
        groups=_groups(manifest, key),
    )


def write_splits_csv(splits: Sequence[Split], path: str | Path) -> Path:
    """One row per id, one column per split (`ratio802_seed123_split_00`, ...), cells
    `train` / `val` / `test` (or another official part), empty if the id is in no part."""
    if not splits:
        raise DatasetError("no splits to write")
    names = [s.name for s in splits]
    if len(set(names)) != len(names):
        raise DatasetError(f"split names must be unique to be columns, got {names}")
    assignments = [s.assignment() for s in splits]
    ids = sorted({vid for a in assignments for vid in a})
    path = Path(path)
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["video_id", *names])
        for vid in ids:
            writer.writerow([vid, *(a.get(vid, "") for a in assignments)])
    return path


def read_splits_csv(path: str | Path, dataset: str = "") -> list[Split]:
    """Splits from a CSV written by `write_splits_csv` or a pyiqa meta-info file (`name`
    id column, `ratio*_seed*_split_*` / `official_split` columns); seeds come from the names."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"split file {path} does not exist")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = list(reader.fieldnames or [])
        id_col = next((c for c in ("video_id", "name") if c in columns), None)
        if id_col is None:
            raise DatasetError(f"{path}: no id column (video_id or name); columns: {columns}")
        split_cols = [c for c in columns if _SPLIT_COLUMN.match(c)]
        if not split_cols:
            raise DatasetError(
                f"{path}: no split columns (named like ratio802_seed123_split_00 or official_split); columns: {columns}"
            )
        parts: dict[str, dict[str, list[str]]] = {c: {} for c in split_cols}
        for row in reader:
            for col in split_cols:
                value = (row.get(col) or "").strip()
                if value:
                    parts[col].setdefault(value, []).append(row[id_col].strip())
    splits = []
    for col in split_cols:
        match = _SPLIT_COLUMN.match(col)
        assert match is not None
        seed_text = match.group("seed") or match.group("oseed")
        found = parts[col]
        ordered = {p: tuple(sorted(found[p])) for p in ("train", "val", "test") if p in found}
        ordered.update({p: tuple(sorted(v)) for p, v in sorted(found.items()) if p not in ordered})
        splits.append(
            Split(name=col, parts=ordered, seed=int(seed_text) if seed_text else None, dataset=dataset)
        )
    return splits
