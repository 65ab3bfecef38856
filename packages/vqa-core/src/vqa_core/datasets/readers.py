"""Readers for the label files public VQA and saliency datasets ship with.

Each reader turns one file into a `LabelTable`: a list of rows (dicts of strings or numbers)
plus the column names, so the descriptor layer can pick id / MOS / split columns by name
without caring whether the file was a quoted CSV, a FAST-VQA `labels.txt`, a MATLAB `.mat`
or an Excel sheet. Readers never drop rows; filtering is the descriptor's job, so that it
can report what it dropped.

Column names are matched loosely (case, spaces and underscores ignored) because the same
column is spelled `MOS full` in the official YouTube-UGC sheet and `MOSFull` in its
MATLAB-exported CSV, `Realignment MOS` or `Realignment_MOS` for CVD2014.
"""

from __future__ import annotations

import csv
import re
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from vqa_core.errors import DatasetError

FORMATS = ("csv", "fastvqa_txt", "list_txt", "mat", "xlsx", "clip_folders")


def normalise_column(name: str) -> str:
    """The loose key two spellings of one column share (`MOS full` == `MOSFull` == `mos_full`)."""
    return re.sub(r"[\s_\-#]+", "", str(name)).lower()


@dataclass
class LabelTable:
    """Rows of one label file, with the file it came from and, where the format has them,
    the line (text files) or sheet row (xlsx) of each row, so errors can point at them."""

    path: Path
    columns: list[str]
    rows: list[dict[str, Any]] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def where(self, index: int) -> str:
        """`file:line` of row `index` (0-based), or `file (entry N)` for formats without lines."""
        if index < len(self.lines):
            return f"{self.path}:{self.lines[index]}"
        return f"{self.path} (entry {index + 1})"

    def find_column(self, *names: str) -> str | None:
        """The actual column matching any of `names` loosely, or None."""
        wanted = [normalise_column(n) for n in names]
        by_key = {normalise_column(c): c for c in self.columns}
        for key in wanted:
            if key in by_key:
                return by_key[key]
        return None

    def require_column(self, *names: str, role: str) -> str:
        column = self.find_column(*names)
        if column is None:
            raise DatasetError(
                f"{self.path}: no {role} column (looked for {', '.join(map(repr, names))}); "
                f"the file has columns {self.columns}. Is this the right label file for the dataset?"
            )
        return column


def non_finite_mos(table: LabelTable, index: int, video_id: str, value: Any, context: str = "") -> DatasetError:
    """The error for row `index` whose MOS is NaN, inf or missing: MOS must be finite numbers,
    and a NaN or inf read here would only fail later with a misleading message (a z-score of
    "all equal" values, a NaN correlation)."""
    about = f" ({context})" if context else ""
    return DatasetError(
        f"{table.where(index)}{about}: video {video_id!r} has MOS {value!r}, not a finite number; "
        "correct the label file or remove that row"
    )


def read_label_file(path: str | Path, fmt: str, options: Mapping[str, Any] | None = None) -> LabelTable:
    """Read `path` in format `fmt` (one of FORMATS) with reader-specific `options`."""
    path = Path(path)
    options = dict(options or {})
    readers = {
        "csv": read_csv_table,
        "fastvqa_txt": read_fastvqa_txt,
        "list_txt": read_list_txt,
        "mat": read_mat_table,
        "xlsx": read_xlsx_table,
        "clip_folders": read_clip_folders,
    }
    if fmt not in readers:
        raise DatasetError(f"{path}: unknown label format {fmt!r}; supported formats: {', '.join(FORMATS)}")
    if fmt != "clip_folders" and not path.is_file():
        raise DatasetError(f"label file {path} does not exist")
    try:
        return readers[fmt](path, **options)
    except DatasetError:
        raise
    except TypeError as err:
        raise DatasetError(f"{path}: bad reader options {options} for format {fmt!r}: {err}") from err
    except (OSError, ValueError, KeyError, IndexError, UnicodeDecodeError, zipfile.BadZipFile) as err:
        raise DatasetError(f"{path}: cannot read it as {fmt!r}: {type(err).__name__}: {err}") from err


def read_csv_table(
    path: Path,
    delimiter: str = ",",
    encoding: str = "utf-8-sig",
    header: bool = True,
    columns: Sequence[str] | None = None,
) -> LabelTable:
    """A delimited text file with a header row (or `header=False` plus `columns`).

    Cells stay strings (ids like `0001` must not become numbers); numeric columns are
    converted by the caller, which knows the decimal mark (CVD2014 writes `67,29`). Rows that are empty
    in every cell (CVD2014 ends with 168 `;;;;;;;` lines) are skipped.
    """
    with path.open(newline="", encoding=encoding) as fh:
        reader = csv.reader(fh, delimiter=delimiter)
        head = next(reader, None) if header else list(columns or [])
        if head is None:
            raise DatasetError(f"{path}: the file is empty")
        names = [h.strip() for h in head]
        rows, lines = [], []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            rows.append({n: v.strip() for n, v in zip(names, values) if n})
            lines.append(reader.line_num)
    return LabelTable(path, [n for n in names if n], rows, lines)


def read_fastvqa_txt(path: Path, encoding: str = "utf-8") -> LabelTable:
    """FAST-VQA / DOVER `labels.txt`: header-less `relpath, duration|-1, fps|-1, mos`.

    Adds the derived columns `stem` (relpath without extension, e.g. `yfcc-batch1/747`) and
    `name` (file name without extension) so descriptors can key rows by the official id.
    """
    rows, lines = [], []
    with path.open(encoding=encoding) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            lines.append(lineno)
            parts = [p.strip() for p in line.split(",")]
            if len(parts) != 4:
                raise DatasetError(
                    f"{path}:{lineno}: expected 4 comma-separated fields (relpath, duration, fps, mos), "
                    f"got {len(parts)}: {line.strip()!r}"
                )
            relpath = parts[0]
            pure = Path(relpath)
            rows.append(
                {
                    "relpath": relpath,
                    "stem": str(pure.with_suffix("")).replace("\\", "/"),
                    "name": pure.stem,
                    "duration": parts[1],
                    "fps": parts[2],
                    "mos": parts[3],
                }
            )
    return LabelTable(path, ["relpath", "stem", "name", "duration", "fps", "mos"], rows, lines)


def read_list_txt(path: Path, columns: Sequence[str] = ("name",), encoding: str = "utf-8") -> LabelTable:
    """A whitespace-separated list without header (e.g. STAViS `DIEM_list_test_fps.txt`)."""
    names = list(columns)
    rows, lines = [], []
    with path.open(encoding=encoding) as fh:
        for lineno, line in enumerate(fh, 1):
            parts = line.split()
            if parts:
                rows.append(dict(zip(names, parts)))
                lines.append(lineno)
    return LabelTable(path, names, rows, lines)


def _mat_field(obj: Any, dotted: str, path: Path) -> Any:
    for part in dotted.split("."):
        try:
            obj = obj[part] if isinstance(obj, Mapping) else getattr(obj, part)
        except (KeyError, AttributeError):
            available = sorted(k for k in obj if not k.startswith("__")) if isinstance(obj, Mapping) else []
            raise DatasetError(
                f"{path}: no variable {dotted!r} (missing {part!r}); top-level variables: {available}"
            ) from None
    return obj


def read_mat_table(path: Path, columns: Mapping[str, str] | None = None) -> LabelTable:
    """A MATLAB v5 file whose variables (or struct fields, dotted) are parallel columns.

    `columns` maps an output column to a variable: `{name: video_list, mos: mos}` for
    LIVE-VQC's `data.mat`, `{mos: qualcommSubjectiveData.unBiasedMOS}` for LIVE-Qualcomm.
    """
    import numpy as np
    import scipy.io

    if not columns:
        raise DatasetError(f"{path}: a .mat reader needs `columns` (output column -> variable name)")
    try:
        mat = scipy.io.loadmat(str(path), squeeze_me=True, struct_as_record=False)
    except NotImplementedError as err:  # v7.3 (HDF5) files
        raise DatasetError(
            f"{path}: MATLAB v7.3 (HDF5) files are not supported; re-save it with `save(..., '-v7')`"
        ) from err
    data: dict[str, list[Any]] = {}
    for out, var in columns.items():
        values = np.atleast_1d(_mat_field(mat, var, path))
        data[out] = [v.item() if hasattr(v, "item") else v for v in values.ravel().tolist()]
    lengths = {k: len(v) for k, v in data.items()}
    if len(set(lengths.values())) > 1:
        raise DatasetError(f"{path}: variables have different lengths {lengths}")
    n = next(iter(lengths.values()))
    rows = [{k: (str(v[i]) if isinstance(v[i], str) else v[i]) for k, v in data.items()} for i in range(n)]
    return LabelTable(path, list(columns), rows)


_XLSX_NS = {
    "m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
    "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    "rel": "http://schemas.openxmlformats.org/package/2006/relationships",
}


def _column_index(ref: str) -> int:
    """`C12` -> 2 (zero-based column of a cell reference)."""
    index = 0
    for ch in ref:
        if not ch.isalpha():
            break
        index = index * 26 + (ord(ch.upper()) - ord("A") + 1)
    return index - 1


def read_xlsx_table(path: Path, sheet: str | None = None, header_row: int = 1) -> LabelTable:
    """One sheet of an Excel 2007+ workbook, by name, read with the standard library.

    openpyxl is not a dependency of vqa-zoo, and the only label file that needs Excel
    (YouTube-UGC's `original_videos_MOS_for_YouTube_UGC_dataset.xlsx`) is a plain table of
    strings and numbers. This reads cell values (shared strings, inline strings, numbers),
    not formulas' text or formatting; a formula cell yields its cached value.
    """
    with zipfile.ZipFile(path) as zf:
        workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
        targets = {r.get("Id"): r.get("Target") for r in rels.findall("rel:Relationship", _XLSX_NS)}
        sheets = {
            s.get("name"): targets[s.get(f"{{{_XLSX_NS['r']}}}id")]
            for s in workbook.findall("m:sheets/m:sheet", _XLSX_NS)
        }
        if sheet is None:
            sheet = next(iter(sheets))
        if sheet not in sheets:
            raise DatasetError(f"{path}: no sheet {sheet!r}; the workbook has sheets {list(sheets)}")
        target = sheets[sheet].lstrip("/")
        member = target if target.startswith("xl/") else f"xl/{target}"
        shared: list[str] = []
        if "xl/sharedStrings.xml" in zf.namelist():
            sst = ElementTree.fromstring(zf.read("xl/sharedStrings.xml"))
            for si in sst.findall("m:si", _XLSX_NS):
                shared.append("".join(t.text or "" for t in si.iter(f"{{{_XLSX_NS['m']}}}t")))
        root = ElementTree.fromstring(zf.read(member))
    grid: list[list[str]] = []
    grid_rows: list[int] = []  # the sheet's own row numbers (rows may be absent from sheetData)
    for row in root.findall("m:sheetData/m:row", _XLSX_NS):
        grid_rows.append(int(row.get("r") or len(grid_rows) + 1))
        values: dict[int, str] = {}
        for cell in row.findall("m:c", _XLSX_NS):
            kind = cell.get("t", "n")
            if kind == "inlineStr":
                text = "".join(t.text or "" for t in cell.iter(f"{{{_XLSX_NS['m']}}}t"))
            else:
                v = cell.find("m:v", _XLSX_NS)
                text = "" if v is None or v.text is None else v.text
                if kind == "s" and text:
                    text = shared[int(text)]
            values[_column_index(cell.get("r", ""))] = text
        width = max(values) + 1 if values else 0
        grid.append([values.get(i, "") for i in range(width)])
    if len(grid) < header_row:
        raise DatasetError(f"{path}: sheet {sheet!r} has no header row {header_row}")
    names = [h.strip() for h in grid[header_row - 1]]
    rows, lines = [], []
    for values, number in zip(grid[header_row:], grid_rows[header_row:]):
        if not any(v.strip() for v in values):
            continue
        rows.append({n: v.strip() for n, v in zip(names, values) if n})
        lines.append(number)
    return LabelTable(path, [n for n in names if n], rows, lines)


def read_clip_folders(path: Path, pattern: str = "*") -> LabelTable:
    """One row per sub-folder of `path` matching `pattern` (DHF1K `annotation/0001` ...).

    For datasets whose membership is their folder layout rather than a label file.
    """
    if not path.is_dir():
        raise DatasetError(f"clip folder {path} does not exist or is not a folder")
    names = sorted(p.name for p in path.glob(pattern) if p.is_dir())
    return LabelTable(path, ["name"], [{"name": n} for n in names])
