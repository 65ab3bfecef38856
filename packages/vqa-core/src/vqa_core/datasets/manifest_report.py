"""What a manifest build reports: missing videos, unlabelled files, counts and MOS against the descriptor.

Why a module of its own: these checks are what `vqa dataset build` is used for (the verifier of a
user's copy of a dataset), they speak to the user rather than build anything, and they run on the
descriptor and the items alone.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from vqa_core.datasets.descriptor_schema import DatasetDescriptor
from vqa_core.datasets.manifest import ManifestItem
from vqa_core.errors import DatasetError

__all__ = ["check_counts", "check_mos_range", "count_report", "report_missing", "unlabelled_files"]

log = logging.getLogger(__name__)
MISSING_SHOWN = 5


def report_missing(
    desc: DatasetDescriptor, root: Path, missing: list[tuple[str, Path | None]], total: int, on_missing: str
) -> None:
    """One DatasetError for every missing file (count, the first few with their expected paths), or
    with `on_missing="drop"` one warning: a user fixes a copied dataset in one pass, not file by file."""
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


def check_counts(desc: DatasetDescriptor, items: Sequence[ManifestItem]) -> None:
    """Log `count_report`'s lines (a differing count is information, e.g. a newer release, not an error)."""
    for line in count_report(desc, items):
        log.info("%s: %s", desc.name, line)


def check_mos_range(desc: DatasetDescriptor, items: Sequence[ManifestItem]) -> None:
    """Warn about MOS outside the descriptor's declared range (a wrong column or scale shows here)."""
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
