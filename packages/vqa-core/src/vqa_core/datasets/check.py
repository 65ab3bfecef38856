"""`check_videos`: probe every video of a manifest once, up front, and sort out the bad ones.

Why up front (issue #16.1): a video that cannot be decoded used to surface only when a method
reached it: in training it was skipped with a warning, but in the test part it failed the
method after a split had been trained, losing that split's results and every later split. A
user's CSV was never checked at all. Probing every item when the manifest is loaded turns
each bad file into one line of a report (the file and the reason) before any work is done.

What "ok" means: `vqa_core.video.probe` succeeds, i.e. the file opens, has a video stream,
decodes at least its first frame, is not a still image, and has at least `MIN_SIDE` pixels a
side and `MIN_FRAMES` frames. Frame count and size are read on the way (`VideoCheck.infos`).
A truncated file that still holds enough frames is ok, with its note (`VideoCheck.notes`).
Saliency clips whose frame source is a folder of images are not probed (the folder must exist
and hold files).

Cost: one probe per file, then nothing: results are cached on disk, one small JSON file per
video, keyed by the resolved path, the file's size and mtime_ns, and `CHECKER_VERSION` (bumped
whenever what counts as ok changes), so an edited or replaced file is probed again. The cache
lives in `<cache root>/video-check/`; the cache root is `$VQA_ZOO_CACHE`, else
`$XDG_CACHE_HOME/vqa-zoo`, else `~/.cache/vqa-zoo` (the precedence of every vqa-zoo cache).
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.progress import track

from vqa_core.atomic import atomic_write_text
from vqa_core.datasets.manifest import ManifestItem, raw_format_of
from vqa_core.errors import VqaError

log = logging.getLogger(__name__)

__all__ = ["CHECKER_VERSION", "VideoCheck", "check_videos"]

#: Bump when the rules of `probe` that decide ok / bad change, so cached verdicts are redone.
CHECKER_VERSION = 1
SHOWN = 5


@dataclass
class VideoCheck:
    """The verdict on a list of items: `ok` (in input order), `bad` with the reason of each,
    `notes` for ok items that deserve a word (a truncated file), `infos` per ok video id
    (`num_frames`, `width`, `height`, `fps`), and how many verdicts came from the cache."""

    ok: list[ManifestItem] = field(default_factory=list)
    bad: list[tuple[ManifestItem, str]] = field(default_factory=list)
    notes: list[tuple[ManifestItem, str]] = field(default_factory=list)
    infos: dict[str, dict[str, Any]] = field(default_factory=dict)
    cached: int = 0

    def summary(self, shown: int = SHOWN) -> str:
        """One paragraph for a log or a report: counts, then the first bad files and reasons."""
        total = len(self.ok) + len(self.bad)
        if not self.bad:
            return f"all {total} videos decode"
        lines = [f"{len(self.bad)} of {total} videos cannot be used:"]
        lines += [f"  {item.video_id} ({item.path}): {reason}" for item, reason in self.bad[:shown]]
        if len(self.bad) > shown:
            lines.append(f"  ... and {len(self.bad) - shown} more")
        return "\n".join(lines)


def default_cache_dir() -> Path:
    """`video-check` in the vqa-zoo cache root (`vqa_core.cache.cache_dir`)."""
    from vqa_core.cache import cache_dir

    return cache_dir("video-check")


def check_videos(
    items: Iterable[ManifestItem], *, progress: bool = False, cache_dir: str | Path | None = None
) -> VideoCheck:
    """Probe each item's video once (cached on disk) and split the items into ok and bad.

    Never raises for a bad video: every failure, including unexpected ones, becomes a reason
    in `VideoCheck.bad`. `cache_dir=None` uses `default_cache_dir()`; a cache that cannot be
    written only costs the probes again next time.
    """
    items = list(items)
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    result = VideoCheck()
    for item in track(items, description="checking videos", transient=True, disable=not progress):
        verdict, hit = _verdict(item, cache)
        result.cached += hit
        if verdict["ok"]:
            result.ok.append(item)
            result.infos[item.video_id] = {k: verdict[k] for k in ("num_frames", "width", "height", "fps")}
            if verdict.get("note"):
                result.notes.append((item, verdict["note"]))
        else:
            result.bad.append((item, verdict["reason"]))
    if result.bad:
        log.warning("%s", result.summary())
    return result


def _verdict(item: ManifestItem, cache: Path) -> tuple[dict[str, Any], bool]:
    """(verdict, whether it came from the cache) for one item."""
    path = Path(item.path)
    try:
        resolved = path.resolve()
        stat = resolved.stat()
    except OSError as err:
        return {"ok": False, "reason": f"cannot read {path}: {err.strerror or err}"}, False
    if resolved.is_dir():
        return _folder_verdict(item, resolved), False
    raw = _raw_key(item)
    key = json.dumps([CHECKER_VERSION, str(resolved), stat.st_size, stat.st_mtime_ns, raw], sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()
    entry = cache / f"v{CHECKER_VERSION}" / digest[:2] / f"{digest}.json"
    try:
        stored = json.loads(entry.read_text(encoding="utf-8"))
        if stored.get("key") == key:
            return stored["verdict"], True
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    verdict = _probe_verdict(item)
    try:
        atomic_write_text(entry, json.dumps({"key": key, "verdict": verdict}))
    except OSError as err:
        log.debug("video check cache %s not written: %s", entry, err)
    return verdict, False


def _raw_key(item: ManifestItem) -> list[Any] | None:
    """The raw .yuv geometry is part of the key: the same file with another geometry differs."""
    if "raw_width" not in item.extra:
        return None
    return [str(item.extra.get(k, "")) for k in ("raw_width", "raw_height", "raw_pix_fmt", "raw_fps")]


def _probe_verdict(item: ManifestItem) -> dict[str, Any]:
    from vqa_core.video import ShortVideoWarning, probe

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ShortVideoWarning)  # kept as the verdict's note instead
            info = probe(item.path, raw=raw_format_of(item))
    except VqaError as err:
        return {"ok": False, "reason": str(err)}
    except Exception as err:  # a damaged file must never end a run: record it like any other failure
        return {"ok": False, "reason": f"{item.path}: {type(err).__name__}: {err}"}
    return {
        "ok": True,
        "num_frames": info.num_frames,
        "width": info.width,
        "height": info.height,
        "fps": info.fps,
        "note": info.note,
    }


def _folder_verdict(item: ManifestItem, folder: Path) -> dict[str, Any]:
    """A frame folder (saliency datasets): it must hold files; frames are read by their own code."""
    if any(p.is_file() for p in folder.iterdir()):
        return {"ok": True, "num_frames": None, "width": None, "height": None, "fps": None, "note": ""}
    return {"ok": False, "reason": f"{folder}: the frame folder is empty"}
