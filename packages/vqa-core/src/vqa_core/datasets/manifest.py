"""The manifest: the one normalised list of labelled videos every method trains and tests on.

Whatever a dataset ships (a quoted CSV, a `.mat`, FAST-VQA lists, a folder tree), the
descriptor layer turns it into `ManifestItem`s, and from then on all methods see the same
ids, paths, MOS (in the dataset's own scale) and official split. A manifest round-trips
through a CSV whose paths are relative to the CSV, so a built manifest can be moved with
its data or shared without leaking a machine's absolute paths.

Saliency datasets (DHF1K, DIEM, demo-saliency) use the same record: `mos` is NaN, `path`
is the clip's frame source (a video file or a folder of frame images), and `extra` holds
the absolute folder of continuous maps (`maps`), of fixations (`fixations`) and, when
known, `num_frames`. One record type keeps splits, CSV export and the runner identical
for both kinds of data; `saliency_paths(item)` reads the folders back with a clear error.
"""

from __future__ import annotations

import csv
import math
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vqa_core.atomic import atomic_open
from vqa_core.errors import DatasetError

BASE_COLUMNS = ("video_id", "path", "mos", "split")
#: `extra` keys holding paths; written relative to the manifest CSV and made absolute on load.
PATH_EXTRAS = ("maps", "fixations", "frames")


@dataclass(frozen=True)
class ManifestItem:
    """One labelled video (or saliency clip).

    `path` is absolute once a manifest is loaded or built. `split` is the dataset's own
    official part (`train`, `val`, `test`, `test_1080p`), empty when it has none. `extra`
    keeps the other label columns the descriptor asked for (e.g. `scene`, `version`,
    `file_name`), plus the saliency folders.
    """

    video_id: str
    path: Path
    mos: float
    split: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        # accept str paths and int MOS from callers; the record itself always holds Path / float
        if not isinstance(self.path, Path):
            object.__setattr__(self, "path", Path(self.path))
        if not isinstance(self.mos, float):
            object.__setattr__(self, "mos", float(self.mos))
        if math.isinf(self.mos):  # NaN means "no MOS"; an infinite one is always a broken label
            raise DatasetError(f"video {self.video_id!r} ({self.path}): MOS {self.mos} is not a finite number")

    @property
    def has_mos(self) -> bool:
        return not math.isnan(self.mos)


def saliency_paths(item: ManifestItem) -> tuple[Path, Path, Path | None]:
    """(frame source, maps folder, fixations folder or None) of a saliency clip."""
    if "maps" not in item.extra:
        raise DatasetError(
            f"item {item.video_id!r} ({item.path}) is not a saliency clip: its manifest row has no `maps` folder"
        )
    fix = item.extra.get("fixations")
    return item.path, Path(item.extra["maps"]), Path(fix) if fix else None


@dataclass
class Manifest:
    """The items of one dataset plus what the split and normalisation code must know about it.

    `official_split` says the items' `split` fields are the dataset's own protocol (LSVQ,
    DHF1K, demo-saliency); otherwise seeded random splits are used. `group_by` names the
    `extra` key whose items must stay together in a split (demo: `scene`).
    """

    name: str
    items: list[ManifestItem]
    mos_range: tuple[float, float] | None = None
    kind: str = "vqa"
    official_split: bool = False
    group_by: str | None = None

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[ManifestItem]:
        return iter(self.items)

    def __getitem__(self, index: int) -> ManifestItem:
        return self.items[index]

    @property
    def ids(self) -> list[str]:
        return [item.video_id for item in self.items]

    def by_id(self) -> dict[str, ManifestItem]:
        return {item.video_id: item for item in self.items}

    def select(self, ids: Iterable[str]) -> list[ManifestItem]:
        """Items with the given ids, in the order of `ids`; unknown ids are an error."""
        table = self.by_id()
        missing = [i for i in ids if i not in table]
        if missing:
            raise DatasetError(
                f"manifest {self.name!r} has no items {missing[:5]}"
                f"{f' (and {len(missing) - 5} more)' if len(missing) > 5 else ''}; "
                "were the splits made for another version of this dataset?"
            )
        return [table[i] for i in ids]

    def in_split(self, split: str) -> list[ManifestItem]:
        """Items whose official split is `split`."""
        return [item for item in self.items if item.split == split]

    def to_csv(self, path: str | Path) -> Path:
        return write_manifest_csv(self.items, path)

    @classmethod
    def from_csv(cls, path: str | Path, name: str | None = None, **kwargs: Any) -> Manifest:
        items = read_manifest_csv(path)
        official = kwargs.pop("official_split", any(item.split for item in items))
        return cls(name or Path(path).stem, items, official_split=official, **kwargs)


def check_unique_ids(items: Sequence[ManifestItem], source: str) -> None:
    seen: dict[str, int] = {}
    dups = []
    for item in items:
        seen[item.video_id] = seen.get(item.video_id, 0) + 1
        if seen[item.video_id] == 2:
            dups.append(item.video_id)
    if dups:
        raise DatasetError(
            f"{source}: duplicate video ids {dups[:5]} ({len(dups)} in all); ids must be unique"
        )


def _relative(path: Path, base: Path) -> str:
    try:
        return Path(os.path.relpath(path, base)).as_posix()
    except ValueError:  # another drive on Windows
        return path.as_posix()


def write_manifest_csv(items: Iterable[ManifestItem], path: str | Path) -> Path:
    """Write items as CSV: `video_id,path,mos,split` then the union of `extra` keys, sorted.

    Paths (and the saliency folders) are written relative to the CSV's folder; a video
    without a MOS (saliency clips, lists to score) gets an empty MOS cell.
    """
    path = Path(path)
    items = list(items)
    base = path.resolve().parent
    extra_keys = sorted({k for item in items for k in item.extra} - set(BASE_COLUMNS))
    with atomic_open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow([*BASE_COLUMNS, *extra_keys])
        for item in items:
            extras = []
            for key in extra_keys:
                value = item.extra.get(key, "")
                if key in PATH_EXTRAS and value:
                    value = _relative(Path(value), base)
                extras.append(value)
            writer.writerow(
                [item.video_id, _relative(item.path, base), repr(item.mos) if item.has_mos else "", item.split, *extras]
            )
    return path


def _parse_extra(value: str) -> Any:
    """Numbers come back as numbers (`num_frames`, `version`), everything else as text."""
    if value == "":
        return ""
    try:
        return int(value)
    except ValueError:
        pass
    try:
        return float(value)
    except ValueError:
        return value


_NAN_TEXT = ("nan", "NaN", "NAN")


def _parse_mos(text: str, where: str, video_id: str) -> float:
    """A MOS cell: a finite number, or empty for a video without a MOS. `inf` is refused here,
    naming the line, because it would only fail much later with a misleading message."""
    if text == "" or text in _NAN_TEXT:
        return math.nan
    try:
        mos = float(text)
    except ValueError:
        raise DatasetError(f"{where}: mos {text!r} is not a number (video {video_id!r})") from None
    if not math.isfinite(mos):
        raise DatasetError(
            f"{where}: mos {text!r} is not a finite number (video {video_id!r}); correct it, or leave "
            "the cell empty for a video without a MOS"
        )
    return mos


def read_manifest_csv(path: str | Path) -> list[ManifestItem]:
    """Read a manifest CSV (`video_id,path,mos[,split,...]`); relative paths are resolved
    against the CSV's folder, so the items' paths are absolute.

    MOS cells are finite numbers; an empty cell is a video without a MOS (saliency clips,
    videos to score). `inf` is refused, naming the file, line and id. A literal `nan` is
    refused too when other rows have a MOS (a label lost in a spreadsheet, which would
    otherwise poison the normalisation); a file whose every row is `nan` or empty is an
    unlabelled list, as vqa-zoo wrote them before it left those cells empty.

    Also the format of a user's own dataset: see `data_manifests/README.md`.
    """
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"manifest {path} does not exist")
    base = path.resolve().parent
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in ("video_id", "path", "mos") if c not in columns]
        if missing:
            raise DatasetError(
                f"{path}: manifest needs columns video_id, path, mos (split optional); missing {missing}, "
                f"found {columns}"
            )
        items = []
        nan_rows: list[tuple[int, str]] = []  # (line, video id) of literal `nan` MOS cells
        for row in reader:
            lineno = reader.line_num
            row = {k.strip(): (v or "").strip() for k, v in row.items() if k}
            if not row["video_id"] or not row["path"]:
                raise DatasetError(f"{path}:{lineno}: empty video_id or path")
            mos = _parse_mos(row["mos"], f"{path}:{lineno}", row["video_id"])
            if row["mos"] in _NAN_TEXT:
                nan_rows.append((lineno, row["video_id"]))
            extra = {}
            for key, value in row.items():
                if key in BASE_COLUMNS:
                    continue
                if key in PATH_EXTRAS and value:
                    extra[key] = str((base / value).resolve())
                else:
                    extra[key] = _parse_extra(value)
            items.append(
                ManifestItem(
                    video_id=row["video_id"],
                    path=(base / row["path"]).resolve(),
                    mos=mos,
                    split=row.get("split", ""),
                    extra=extra,
                )
            )
    if nan_rows and any(item.has_mos for item in items):
        lineno, video_id = nan_rows[0]
        more = f" (and {len(nan_rows) - 1} more rows)" if len(nan_rows) > 1 else ""
        raise DatasetError(
            f"{path}:{lineno}: mos 'nan' is not a number (video {video_id!r}){more}, while other rows "
            "have a MOS; correct it, or leave the cell empty for a video without a MOS"
        )
    check_unique_ids(items, str(path))
    return items


def with_split(item: ManifestItem, split: str) -> ManifestItem:
    return replace(item, split=split)


def raw_format_of(item: ManifestItem) -> Any:
    """The `vqa_core.video.RawFormat` of a headerless .yuv item (from its `raw_*` extra fields,
    set by descriptors with a `raw_format`), or None for an ordinary container."""
    if "raw_width" not in item.extra:
        return None
    from vqa_core.video import RawFormat

    try:
        return RawFormat(
            width=int(item.extra["raw_width"]),
            height=int(item.extra["raw_height"]),
            pix_fmt=str(item.extra.get("raw_pix_fmt") or "yuv420p"),
            fps=float(item.extra.get("raw_fps") or 25.0),
        )
    except (KeyError, ValueError, TypeError) as err:
        raise DatasetError(
            f"item {item.video_id!r} ({item.path}): bad raw video geometry {dict(item.extra)}: {err}"
        ) from err
