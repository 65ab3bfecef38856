"""The schema of a dataset descriptor: how to turn the label file a dataset ships with into a manifest.

Datasets are not redistributed. A descriptor (a YAML file, see `vqa_core.datasets.descriptor`)
records, as data, everything the seeds hard-coded in Python: which label file(s) to look for under
the user's data root and where, their format and columns, the MOS scale, how a label row maps to a
video file, and the official split rule. These dataclasses are that record; their checks run on
construction, so a bad descriptor fails when it is loaded, naming its file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vqa_core.datasets.readers import FORMATS
from vqa_core.errors import DatasetError

__all__ = ["DatasetDescriptor", "DescriptorPart", "LabelFile", "PathRule"]


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
