"""Building a dataset's manifest from its official label file(s), as its descriptor says.

`build_manifest(name, data_root)` reads each part's label file (the first candidate that exists,
or the file the user names), maps every row to its video (and, for saliency clips, its map
folders) with the descriptor's path rules, checks all files up front and hands missing ones to
`manifest_report`, then returns a `Manifest` whose MOS stay in the dataset's own scale.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqa_core.datasets.descriptor_schema import DatasetDescriptor, DescriptorPart, LabelFile, PathRule
from vqa_core.datasets.descriptor_search import load_descriptor
from vqa_core.datasets.manifest import Manifest, ManifestItem, check_unique_ids
from vqa_core.datasets.manifest_report import check_counts, check_mos_range, report_missing
from vqa_core.datasets.readers import LabelTable, non_finite_mos, read_label_file
from vqa_core.errors import DatasetError

__all__ = ["build_manifest", "find_label_file", "resolve_path"]

log = logging.getLogger(__name__)


def find_label_file(data_root: Path, lf: LabelFile) -> Path | None:
    """The first of the label file's candidate locations that exists under `data_root`, else None."""
    for cand in lf.candidates:
        path = data_root / cand
        if path.is_dir() if lf.format == "clip_folders" else path.is_file():
            return path
    return None


def _to_float(value: Any, decimal: str) -> float:
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    if decimal != ".":
        text = text.replace(".", "").replace(decimal, ".")
    if text.lower() in ("", "nan"):
        return math.nan
    return float(text)


def _plain_value(value: Any) -> Any:
    """A kept label cell as int/float when it is written as one (`3399`, `29.9997`), else as is;
    text that would change when printed back (`007`) stays text."""
    if not isinstance(value, str):
        return value
    for kind in (int, float):
        try:
            number = kind(value)
        except ValueError:
            continue
        if kind is float or str(number) == value:
            return number
    return value


def _template_context(video_id: str, row: Mapping[str, Any]) -> dict[str, Any]:
    ctx: dict[str, Any] = {str(k): v for k, v in row.items()}
    ctx["id"] = video_id
    with contextlib.suppress(ValueError):
        ctx["int_id"] = int(video_id)
    return ctx


def resolve_path(rule: PathRule, base: Path, ctx: Mapping[str, Any], check: bool) -> tuple[Path | None, bool]:
    """(path, exists) for one row: the first existing match, else the expected location.

    `base` must be absolute; paths are normalised lexically (no per-file `resolve`, which
    costs several system calls per row on a 39k-row LSVQ list).
    """
    expected: Path | None = None
    for d in rule.dirs:
        for pattern in rule.patterns:
            try:
                rel = pattern.format(**ctx)
            except (KeyError, ValueError, IndexError):
                continue  # the pattern needs a column this label file lacks
            if "*" in rel:
                if check:
                    matches = sorted((base / d).glob(rel))
                    if matches:
                        return Path(os.path.normpath(matches[0])), True
                continue
            text = os.path.normpath(os.path.join(base, d, rel))
            if not check:
                return Path(text), True
            if expected is None:
                expected = Path(text)
            if os.path.exists(text):
                return Path(text), True
    return expected, False


@dataclass
class _Row:
    video_id: str
    mos: float
    split: str
    ctx: dict[str, Any]
    extra: dict[str, Any]
    label_dir: Path  # the label file's folder (for clip_folders: the folder holding the clip root)


def _rows_of(desc: DatasetDescriptor, part: DescriptorPart, lf: LabelFile, table: LabelTable) -> list[_Row]:
    where = f"{table.path} (dataset {desc.name!r}, part {part.name!r})"
    id_col = table.require_column(*lf.id_column, role="video id")
    mos_col = table.require_column(*lf.mos_column, role="MOS") if desc.kind == "vqa" else None
    if lf.split_column and table.find_column(lf.split_column) is None:
        raise DatasetError(
            f"{where}: this file has no split column {lf.split_column!r}, so its official split is unknown "
            f"(columns: {table.columns}). A derived copy (e.g. AttackVQA's 5-column labels_train_test.csv) "
            "lacks it; use the official release file, or the descriptor of the frozen FAST-VQA lists."
        )
    split_col = table.find_column(lf.split_column) if lf.split_column else None
    filters = {}
    for col, minimum in lf.min_values.items():
        actual = table.find_column(col)
        if actual is not None:
            filters[actual] = float(minimum)
    keep = {c: table.find_column(c) for c in lf.keep_columns}
    rows, dropped = [], 0
    label_dir = table.path.parent.resolve()
    for lineno, row in enumerate(table.rows, 1):
        video_id = str(row.get(id_col, "")).strip()
        if lf.id_sub:
            video_id = re.sub(lf.id_sub[0], lf.id_sub[1], video_id)
        if not video_id:
            raise DatasetError(f"{where}: row {lineno} has an empty video id")
        try:
            below = any(_to_float(row.get(c, "nan"), lf.decimal) < m for c, m in filters.items())
        except ValueError:
            raise DatasetError(
                f"{where}: row {lineno} ({video_id}): a filter column {sorted(filters)} is not numeric"
            ) from None
        if below:
            dropped += 1
            continue
        mos = math.nan
        if mos_col is not None:
            try:
                mos = _to_float(row.get(mos_col, ""), lf.decimal)
            except ValueError:
                raise DatasetError(
                    f"{where}: row {lineno} ({video_id}): MOS {row.get(mos_col)!r} is not a number"
                ) from None
            if not math.isfinite(mos):
                raise non_finite_mos(table, lineno - 1, video_id, row.get(mos_col), f"dataset {desc.name!r}")
        split = part.split
        if split_col is not None:
            raw = str(row.get(split_col, "")).strip().lower()
            if raw not in lf.split_values:
                raise DatasetError(
                    f"{where}: row {lineno} ({video_id}): split value {row.get(split_col)!r} in column "
                    f"{split_col!r} is not one of {sorted(lf.split_values)}"
                )
            split = lf.split_values[raw]
        if lf.split_ranges:
            split = _split_from_ranges(video_id, lf.split_ranges, where)
        extra = {c: _plain_value(row[a]) for c, a in keep.items() if a is not None and a in row}
        ctx = _template_context(video_id, row)
        ctx.update(extra)
        rows.append(_Row(video_id, mos, split, ctx, extra, label_dir))
    if dropped:
        log.warning(
            "%s: dropped %d of %d rows by the descriptor's filter %s",
            where,
            dropped,
            len(table.rows),
            lf.min_values,
        )
    return rows


def _split_from_ranges(video_id: str, ranges: list[list[Any]], where: str) -> str:
    try:
        number = int(video_id)
    except ValueError:
        raise DatasetError(f"{where}: split_ranges need integer ids, got {video_id!r}") from None
    for first, last, part in ranges:
        if int(first) <= number <= int(last):
            return str(part)
    raise DatasetError(f"{where}: id {video_id} is in none of the split ranges {ranges}")


def build_manifest(
    name: str | Path | DatasetDescriptor,
    data_root: str | Path,
    check_videos: bool = True,
    on_missing: str = "error",
    label_files: Mapping[str, str | Path] | str | Path | None = None,
    search_path: Sequence[str | Path] = (),
) -> Manifest:
    """Build the manifest of dataset `name` from its official label file(s) under `data_root`.

    Every video (and, for saliency clips, every maps folder) is checked up front: missing
    ones are reported in one DatasetError with their count and the first few ids and
    expected paths, or, with `on_missing="drop"`, dropped with one warning giving the count.
    `label_files` overrides where a part's label file is (a path for a one-part dataset, or
    {part name: path}); copies are often renamed (`LiveVQC_data.mat` for `data.mat`).
    """
    if on_missing not in ("error", "drop"):
        raise DatasetError(f"on_missing must be 'error' or 'drop', not {on_missing!r}")
    desc = name if isinstance(name, DatasetDescriptor) else load_descriptor(name, search_path)
    root = Path(data_root).expanduser()
    if not root.is_dir():
        raise DatasetError(f"data root {root} for dataset {desc.name!r} does not exist or is not a folder")
    root = root.resolve()
    overrides = _overrides(desc, label_files)

    rows: list[_Row] = []
    for part in desc.parts:
        lf, path = _locate(desc, part, root, overrides.get(part.name))
        if lf is None or path is None:
            continue
        table = read_label_file(path, lf.format, lf.options)
        log.info("%s: read %d rows for part %r of %s", path, len(table), part.name, desc.name)
        rows.extend(_rows_of(desc, part, lf, table))

    items: list[ManifestItem] = []
    missing: list[tuple[str, Path | None]] = []
    for row in rows:
        base = row.label_dir if desc.video.relative_to == "label_dir" else root
        path, ok = resolve_path(desc.video, base, row.ctx, check_videos)
        if not ok or path is None:
            missing.append((row.video_id, path))
            continue
        extra = {**desc.constants, **row.extra}
        for key in ("maps", "fixations"):
            rule = getattr(desc, key)
            if rule is None:
                continue
            rbase = row.label_dir if rule.relative_to == "label_dir" else root
            folder, found = resolve_path(rule, rbase, row.ctx, check_videos)
            if key == "maps" and not found:
                ok = False
                missing.append((row.video_id, folder))
            elif folder is not None and found:
                extra[key] = str(folder)
        if not ok:
            continue
        if desc.raw_format is not None and path.suffix.lower() == ".yuv":
            extra.update({f"raw_{k}": v for k, v in desc.raw_format.items()})
        items.append(ManifestItem(row.video_id, path, row.mos, row.split, extra))

    if missing:
        report_missing(desc, root, missing, len(rows), on_missing)
    check_unique_ids(items, f"dataset {desc.name!r} under {root}")
    if not items:
        raise DatasetError(f"dataset {desc.name!r} under {root}: no items left to use")
    check_mos_range(desc, items)
    check_counts(desc, items)
    return Manifest(
        name=desc.name,
        items=items,
        mos_range=desc.mos_range,
        kind=desc.kind,
        official_split=desc.split == "official",
        group_by=desc.group_by,
    )


def _overrides(desc: DatasetDescriptor, label_files: Any) -> dict[str, Path]:
    if label_files is None:
        return {}
    if isinstance(label_files, str | Path):
        if len(desc.parts) != 1:
            raise DatasetError(
                f"dataset {desc.name!r} has {len(desc.parts)} label parts "
                f"({', '.join(p.name for p in desc.parts)}); give label files as {{part: path}}"
            )
        return {desc.parts[0].name: Path(label_files)}
    unknown = set(label_files) - {p.name for p in desc.parts}
    if unknown:
        raise DatasetError(
            f"dataset {desc.name!r} has no label parts {sorted(unknown)}; parts: {[p.name for p in desc.parts]}"
        )
    return {k: Path(v) for k, v in label_files.items()}


def _locate(
    desc: DatasetDescriptor, part: DescriptorPart, root: Path, override: Path | None
) -> tuple[LabelFile | None, Path | None]:
    if override is not None:
        path = override if override.is_absolute() else root / override
        if not path.exists():
            raise DatasetError(f"label file {path} given for {desc.name!r} part {part.name!r} does not exist")
        # pick the alternative whose candidates name this file, else the first one whose format fits
        for lf in part.files:
            if any(Path(c).name == path.name for c in lf.candidates):
                return lf, path
        for lf in part.files:
            if lf.format == _guess_format(path):
                return lf, path
        return part.files[0], path
    for lf in part.files:
        path = find_label_file(root, lf)
        if path is not None:
            return lf, path
    if part.optional:
        log.info("%s: optional part %r not found under %s", desc.name, part.name, root)
        return None, None
    tried = [c for lf in part.files for c in lf.candidates]
    raise DatasetError(
        f"dataset {desc.name!r}: no label file for part {part.name!r} under {root}; looked for "
        f"{', '.join(tried)}. Put the dataset's official label file there, or pass its location "
        "(label_files= / --label-file)."
    )


def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    return {".mat": "mat", ".xlsx": "xlsx", ".txt": "fastvqa_txt"}.get(
        suffix, "csv" if path.is_file() else "clip_folders"
    )
