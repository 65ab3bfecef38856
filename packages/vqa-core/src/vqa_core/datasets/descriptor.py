"""Dataset descriptors: how to turn the label file a dataset ships with into a manifest.

Datasets are not redistributed. A descriptor (`data_manifests/<name>.yaml`, loaded into
`DatasetDescriptor`) records, as data, everything the seeds hard-coded in Python: which
label file(s) to look for under the user's data root and where, their format and columns,
the MOS scale, how a label row maps to a video file, and the official split rule. Adding a
dataset is writing one YAML file (see `data_manifests/README.md`), not code.

Descriptor files are searched in, in order: the folders in `$VQA_ZOO_DATA_MANIFESTS`
(os.pathsep-separated), then the `data_manifests/` folder of the vqa-zoo checkout this
package lives in, then `./data_manifests`. A path to a YAML file works as a name too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import logging
import math
import os
import re
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vqa_core.datasets.manifest import Manifest, ManifestItem, check_unique_ids
from vqa_core.datasets.readers import FORMATS, LabelTable, non_finite_mos, read_label_file
from vqa_core.errors import DatasetError

log = logging.getLogger(__name__)

ENV_MANIFEST_DIRS = "VQA_ZOO_DATA_MANIFESTS"
MISSING_SHOWN = 5


@dataclass
class LabelFile:
    """One way to read a part's labels: the file's possible locations and how to parse it.

    `candidates` are paths relative to the data root (folders for `clip_folders`); the
    first that exists is read. Column names are matched loosely; a list gives alternative
    names. `split_column` + `split_values` map a column (e.g. LSVQ `is_test`) to parts;
    `split_ranges` ([[first, last, part], ...]) map an integer id to parts (DHF1K).
    `min_values` drops rows whose column is below a value (LSVQ `frame_number: 2`) and
    reports how many. `id_sub` ([regex, replacement]) canonicalises ids (LIVE-VQC `A012NEW.mp4`).
    """

    candidates: list[str]
    format: str = "csv"
    id_column: list[str] = field(default_factory=lambda: ["video_id"])
    mos_column: list[str] = field(default_factory=lambda: ["mos"])
    keep_columns: list[str] = field(default_factory=list)
    split_column: str | None = None
    split_values: dict[str, str] = field(default_factory=dict)
    split_ranges: list[list[Any]] = field(default_factory=list)
    min_values: dict[str, float] = field(default_factory=dict)
    id_sub: list[str] = field(default_factory=list)
    decimal: str = "."
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class DescriptorPart:
    """A group of rows read from one label file (LSVQ: `train_test` and `test_1080p`).

    `files` are alternatives tried in order (an official file, then a derived export).
    `split` is a constant official part for every row (e.g. `test_1080p`).
    """

    name: str
    files: list[LabelFile]
    split: str = ""
    optional: bool = False


@dataclass
class PathRule:
    """Where a row's file is: `patterns` formatted with the row (`{id}`, `{int_id}`, any kept
    column) tried inside each of `dirs`, relative to the data root (`relative_to: root`) or
    to the label file's folder (`label_dir`). A pattern with `*` is globbed.
    The first existing match wins; if none exists, the first pattern in the first dir is
    reported as the expected location."""

    patterns: list[str] = field(default_factory=lambda: ["{id}"])
    dirs: list[str] = field(default_factory=lambda: ["."])
    relative_to: str = "root"


@dataclass
class DatasetDescriptor:
    """Everything needed to build a dataset's manifest from its official label file(s)."""

    name: str
    title: str = ""
    kind: str = "vqa"  # vqa | saliency
    mos_range: tuple[float, float] | None = None
    split: str = "random"  # official | random
    group_by: str | None = None
    parts: list[DescriptorPart] = field(default_factory=list)
    video: PathRule = field(default_factory=PathRule)
    maps: PathRule | None = None
    fixations: PathRule | None = None
    expected_counts: dict[str, int] = field(default_factory=dict)
    #: geometry of headerless `.yuv` videos ({width, height, pix_fmt, fps}); copied into the
    #: extra fields `raw_width`, `raw_height`, `raw_pix_fmt`, `raw_fps` of every .yuv item
    raw_format: dict[str, Any] | None = None
    #: fields copied into every item's `extra`, e.g. `map_index_base: 1` for DHF1K, whose map
    #: files are numbered from 1 for decoded frame 0
    constants: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    source: Path | None = None

    def __post_init__(self) -> None:
        where = self.source or self.name
        if self.kind not in ("vqa", "saliency"):
            raise DatasetError(f"{where}: kind must be 'vqa' or 'saliency', not {self.kind!r}")
        if self.split not in ("official", "random"):
            raise DatasetError(f"{where}: split must be 'official' or 'random', not {self.split!r}")
        if not self.parts:
            raise DatasetError(f"{where}: a descriptor needs at least one part with label files")
        if self.kind == "saliency" and self.maps is None:
            raise DatasetError(f"{where}: a saliency descriptor needs a `maps` path rule")
        for key in ("video", "maps", "fixations"):
            rule = getattr(self, key)
            if rule is not None and rule.relative_to not in ("root", "label_dir"):
                raise DatasetError(
                    f"{where}: {key}.relative_to must be 'root' or 'label_dir', not {rule.relative_to!r}"
                )
        for part in self.parts:
            for lf in part.files:
                if lf.format not in FORMATS:
                    raise DatasetError(
                        f"{where}: part {part.name!r}: unknown format {lf.format!r} ({FORMATS})"
                    )
        if self.mos_range is not None:
            self.mos_range = (float(self.mos_range[0]), float(self.mos_range[1]))
        if self.raw_format is not None:
            unknown = set(self.raw_format) - {"width", "height", "pix_fmt", "fps"}
            if unknown or not {"width", "height"} <= set(self.raw_format):
                raise DatasetError(
                    f"{where}: raw_format needs width and height (and optionally pix_fmt, fps), got {self.raw_format}"
                )


# ----------------------------------------------------------------------------- YAML loading


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _construct(cls: type, data: Mapping[str, Any], where: str) -> Any:
    if not isinstance(data, Mapping):
        raise DatasetError(f"{where}: expected a mapping for {cls.__name__}, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise DatasetError(f"{where}: unknown key(s) {unknown} for {cls.__name__}; allowed: {sorted(names)}")
    try:
        return cls(**data)
    except TypeError as err:
        raise DatasetError(f"{where}: {err}") from err


def _label_file(data: Mapping[str, Any], where: str) -> LabelFile:
    data = dict(data)
    for key in ("candidates", "id_column", "mos_column", "keep_columns"):
        if key in data:
            data[key] = [str(v) for v in _as_list(data[key])]
    if "split_values" in data:
        data["split_values"] = {str(k).lower(): str(v) for k, v in data["split_values"].items()}
    return _construct(LabelFile, data, where)


def descriptor_from_dict(data: Mapping[str, Any], source: Path | None = None) -> DatasetDescriptor:
    """Build a descriptor from its YAML mapping, checking every key (typos are errors)."""
    where = str(source or data.get("name", "descriptor"))
    data = dict(data)
    parts = []
    for i, raw in enumerate(_as_list(data.pop("parts", []))):
        raw = dict(raw)
        pw = f"{where}: parts[{i}]"
        part_keys = {"name", "split", "optional", "files"}
        if "files" in raw:
            files = [_label_file(f, f"{pw}.files[{j}]") for j, f in enumerate(_as_list(raw.pop("files")))]
        else:  # shorthand: a part that is itself its single label file
            file_keys = {k: raw.pop(k) for k in list(raw) if k not in part_keys}
            files = [_label_file(file_keys, pw)]
        parts.append(
            _construct(DescriptorPart, {"name": raw.pop("name", f"part{i}"), "files": files, **raw}, pw)
        )
    rules = {}
    for key in ("video", "maps", "fixations"):
        if data.get(key) is not None:
            raw = dict(data.pop(key))
            for k in ("patterns", "dirs"):
                if k in raw:
                    raw[k] = [str(v) for v in _as_list(raw[k])]
            rules[key] = _construct(PathRule, raw, f"{where}: {key}")
        else:
            data.pop(key, None)
    if "mos_range" in data and data["mos_range"] is not None:
        data["mos_range"] = tuple(data["mos_range"])
    return _construct(DatasetDescriptor, {**data, **rules, "parts": parts, "source": source}, where)


def load_descriptor_file(path: str | Path) -> DatasetDescriptor:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DatasetError(f"cannot read dataset descriptor {path}: {err}") from err
    except yaml.YAMLError as err:
        raise DatasetError(f"dataset descriptor {path} is not valid YAML: {err}") from err
    if not isinstance(data, Mapping):
        raise DatasetError(f"dataset descriptor {path} must be a YAML mapping")
    data = dict(data)
    data.setdefault("name", path.stem)
    return descriptor_from_dict(data, source=path)


def descriptor_dirs(extra: Sequence[str | Path] = ()) -> list[Path]:
    """Folders searched for `<name>.yaml`, in order (see the module docstring)."""
    dirs = [Path(p) for p in extra]
    env = os.environ.get(ENV_MANIFEST_DIRS, "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "data_manifests"
        if candidate.is_dir():
            dirs.append(candidate)
            break
    dirs.append(Path.cwd() / "data_manifests")
    unique: list[Path] = []
    for d in dirs:
        if d.resolve() not in [u.resolve() for u in unique]:
            unique.append(d)
    return unique


def list_datasets(search_path: Sequence[str | Path] = ()) -> list[str]:
    """Names of every descriptor found on the search path."""
    names = set()
    for d in descriptor_dirs(search_path):
        if d.is_dir():
            names.update(p.stem for p in d.glob("*.yaml"))
    return sorted(names)


def load_descriptor(name: str | Path, search_path: Sequence[str | Path] = ()) -> DatasetDescriptor:
    """The descriptor called `name` (or the YAML file at that path).

    An unknown name is a DatasetError that lists the known names and the folders searched.
    """
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") and as_path.is_file():
        return load_descriptor_file(as_path)
    dirs = descriptor_dirs(search_path)
    for d in dirs:
        candidate = d / f"{name}.yaml"
        if candidate.is_file():
            return load_descriptor_file(candidate)
    known = list_datasets(search_path)
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DatasetError(
        f"unknown dataset {str(name)!r}.{hint} Known datasets: {', '.join(known) or '(none)'}. "
        f"Searched {', '.join(str(d) for d in dirs)}; add a descriptor YAML there, set "
        f"${ENV_MANIFEST_DIRS}, or pass the path of a descriptor YAML."
    )


# ----------------------------------------------------------------------------- building


def find_label_file(data_root: Path, lf: LabelFile) -> Path | None:
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
        _report_missing(desc, root, missing, len(rows), on_missing)
    check_unique_ids(items, f"dataset {desc.name!r} under {root}")
    if not items:
        raise DatasetError(f"dataset {desc.name!r} under {root}: no items left to use")
    _check_mos_range(desc, items)
    _check_counts(desc, items)
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


def _report_missing(
    desc: DatasetDescriptor, root: Path, missing: list[tuple[str, Path | None]], total: int, on_missing: str
) -> None:
    shown = "; ".join(f"{vid} (expected {p})" for vid, p in missing[:MISSING_SHOWN])
    more = f" and {len(missing) - MISSING_SHOWN} more" if len(missing) > MISSING_SHOWN else ""
    what = "clips (frames or maps)" if desc.kind == "saliency" else "videos"
    message = f"dataset {desc.name!r} under {root}: {len(missing)} of {total} labelled {what} are missing: {shown}{more}."
    if len(missing) == total:
        message += f" None was found: is {root} the dataset's folder?"
    if on_missing == "error":
        raise DatasetError(
            message + " Check --data-root and the video folder layout in the descriptor "
            f"({desc.source or desc.name}), or drop them (on_missing='drop' / --on-missing drop)."
        )
    warnings.warn(message + " They are dropped.", stacklevel=3)
    log.warning("%s They are dropped.", message)


def unlabelled_files(
    desc: DatasetDescriptor, data_root: str | Path, items: Sequence[ManifestItem]
) -> list[Path]:
    """Files under the descriptor's video folders that look like the dataset's videos (same
    suffixes as the items' files) but belong to no item: renamed or extra videos, the other
    half of label_formats' "list rows without video and videos without label"."""
    if desc.video.relative_to != "root" or not items:
        return []
    root = Path(data_root).expanduser().resolve()
    known = {os.path.normpath(item.path) for item in items}
    suffixes = {item.path.suffix.lower() for item in items if item.path.suffix}
    if not suffixes:
        return []
    found: set[str] = set()
    for d in desc.video.dirs:
        folder = os.path.normpath(os.path.join(root, d))
        for dirpath, _dirs, files in os.walk(folder):
            for f in files:
                if os.path.splitext(f)[1].lower() in suffixes:
                    path = os.path.join(dirpath, f)
                    if path not in known:
                        found.add(path)
    return [Path(p) for p in sorted(found)]


def count_report(desc: DatasetDescriptor, items: Sequence[ManifestItem]) -> list[str]:
    """Lines comparing item counts with the descriptor's `expected_counts` (per split, or
    `total`), e.g. LSVQ against the paper's 28,056 / 7,182 / 3,573."""
    counts = Counter(item.split for item in items)
    lines = []
    for key, expected in desc.expected_counts.items():
        actual = len(items) if key == "total" else counts.get(key, 0)
        mark = "" if actual == expected else f" (differs by {actual - expected:+d})"
        lines.append(f"{key}: {actual} items, reference {expected}{mark}")
    return lines


def _check_counts(desc: DatasetDescriptor, items: Sequence[ManifestItem]) -> None:
    for line in count_report(desc, items):
        log.info("%s: %s", desc.name, line)


def _check_mos_range(desc: DatasetDescriptor, items: Sequence[ManifestItem]) -> None:
    if desc.mos_range is None or desc.kind != "vqa":
        return
    lo, hi = desc.mos_range
    outside = [i.video_id for i in items if not (lo <= i.mos <= hi)]
    if outside:
        log.warning(
            "%s: %d MOS values lie outside the declared range [%g, %g] (e.g. %s)",
            desc.name,
            len(outside),
            lo,
            hi,
            outside[:3],
        )
