"""The data of a bench run: manifests, the up-front video check, and the protocol's tasks.

Every video is probed once when its manifest is loaded (`vqa_core.datasets.check_videos`,
cached by path, size and mtime), and the ones that cannot be used are dropped *before* the
splits are drawn (issue #16.1). Before this, nothing was probed for a user's CSV: a bad video
that fell in a test part failed the method after the split was trained, losing that split and
every later one. The dropped videos are not hidden: `VideoCheckReport` goes into run.json,
metrics.json and the results table (count, names, reasons).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vqa_bench.protocol import Task, cross_tasks, intra_tasks, lsvq_tasks
from vqa_bench.settings import BenchSettings
from vqa_core.errors import ConfigError, DatasetError


def load_manifest(name: str, data_root: Path | None, group_by: str | None = None) -> Any:
    """A dataset's manifest; the embedded `demo` datasets are built on first use.

    `name` may also be a manifest CSV of one's own dataset (`video_id,path,mos[,split,...]`,
    paths relative to the CSV): its file stem names the dataset, `group_by` names a column
    whose equal values must stay in one split part (e.g. the source scene of distorted copies).
    """
    from vqa_core.datasets import Manifest, build_manifest

    if name.lower().endswith(".csv"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise DatasetError(f"manifest CSV {path} does not exist")
        return Manifest.from_csv(path, name=path.stem, group_by=group_by)

    if name.startswith("demo"):
        from vqa_core.demo import ensure_demo

        # ensure_demo builds the data on first use (into data_root, or the vqa-zoo cache folder)
        # and returns the folder the demo descriptor reads (it holds demo/manifest.csv or manifest.csv)
        return build_manifest(name, ensure_demo(None if data_root is None else Path(data_root)))
    if data_root is None:
        raise DatasetError(
            f"dataset {name!r} needs --data-root DIR (the folder holding its videos and official label "
            "file); only the embedded 'demo' dataset is available without one"
        )
    return build_manifest(name, Path(data_root))


@dataclass
class VideoCheckReport:
    """What the up-front video check found, over every dataset of the run.

    `bad`: the videos left out, `{"dataset", "video_id", "path", "reason"}` each; `notes`: videos
    kept with a remark (a truncated file that still holds enough frames), same fields.
    """

    checked: int = 0
    bad: list[dict[str, str]] = field(default_factory=list)
    notes: list[dict[str, str]] = field(default_factory=list)

    def add(self, dataset: str, check: Any) -> None:
        self.checked += len(check.ok) + len(check.bad)
        self.bad += [_row(dataset, item, reason) for item, reason in check.bad]
        self.notes += [_row(dataset, item, note) for item, note in check.notes]

    def to_json(self) -> dict[str, Any]:
        return {"checked": self.checked, "count": len(self.bad), "videos": self.bad, "notes": self.notes}


def _row(dataset: str, item: Any, reason: str) -> dict[str, str]:
    return {
        "dataset": dataset,
        "video_id": item.video_id,
        "path": str(item.path),
        "reason": " ".join(reason.split()),
    }


def usable_videos(manifest: Any, report: VideoCheckReport, progress: bool = False) -> Any:
    """`manifest` without the videos that cannot be decoded; what was dropped goes into `report`."""
    from vqa_core.datasets import check_videos

    check = check_videos(manifest.items, progress=progress)
    report.add(manifest.name, check)
    if not check.bad:
        return manifest
    if not check.ok:
        raise DatasetError(
            f"dataset {manifest.name}: none of its {len(check.bad)} videos can be used\n{check.summary()}"
        )
    return dataclasses.replace(manifest, items=list(check.ok))


def build_tasks(
    settings: BenchSettings, manifests: Mapping[str, Any], zero_shot: Mapping[str, Any]
) -> list[Task]:
    protocol = settings.resolved_protocol()
    if protocol == "intra":
        if len(manifests) != 1:
            raise ConfigError("the intra protocol takes one dataset; use --protocol cross for several")
        return intra_tasks(next(iter(manifests.values())), settings.splits, settings.seed)
    if protocol == "lsvq":
        if len(manifests) != 1:
            raise ConfigError("the lsvq protocol takes one dataset (LSVQ) plus --zero-shot NAME=DIR")
        return lsvq_tasks(next(iter(manifests.values())), zero_shot, settings.seed)
    return cross_tasks(list(manifests.values()), settings.seed)
