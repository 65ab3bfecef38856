"""Pretraining stages: one definition per artifact, one lifecycle whoever asks for it.

A pretraining stage (the saliency UNet3D, ST-VQRL's self-supervised trunk) is an artifact that
several methods and several runs share. It used to be built in two places: the bench runner
(a file lock and a `.complete` marker in its cache) and each method's own `fit` (a `complete`
file in its work dir), and ST-VQRL's stage had two names and two keys, so one artifact was
trained twice. Here it is defined once, by the package that owns it, as a `PretrainStage`, and
built through `ensure_stage` by the runner and by a plain `Method.fit` alike:

- the folder is `<root>/<key>` with `root` the runner's `--cache` folder or
  `vqa_core.cache.cache_dir("stages")`; `key` = name + a hash of the stage config and of the
  producer's `version`, so a changed setting or a changed producer never reuses a stale artifact
  (bump `version` when the stage's output changes for the same config);
- an exclusive lock file beside the folder (not inside: the build gets an empty folder) makes
  two processes that want the same stage build it once;
- the `.complete` JSON marker is written last: a build that fails or is interrupted leaves no
  marker, and the next call builds again in the same folder (resuming is the build's business);
- under torchrun every rank takes part in the build (the builders train with DDP), rank 0
  holds the lock and writes the marker.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vqa_core.cache import cache_dir
from vqa_core.config import config_hash

__all__ = ["DONE_MARKER", "PretrainStage", "StageResult", "ensure_stage", "folder_lock", "stage_root"]

logger = logging.getLogger(__name__)

DONE_MARKER = ".complete"
STAGES_CACHE = "stages"


@dataclass(frozen=True)
class PretrainStage:
    """A cacheable pretraining artifact: `build(folder)` writes it into an empty `folder`.

    `config` holds exactly what the artifact depends on (not the evaluation settings of the
    method that asked for it), so every method that needs the same artifact gets the same key.
    `version` is the producer code's version: bump it when `build` would write something else
    for the same config.
    """

    name: str
    config: Any
    build: Callable[[Path], None] = field(compare=False, repr=False)
    version: int = 1

    @property
    def config_hash(self) -> str:
        """The hash of the stage config alone."""
        return config_hash(self.config)

    @property
    def key(self) -> str:
        """`<name>-<hash of the config and the producer version>`: the artifact's folder name."""
        return f"{self.name}-{config_hash({'config': self.config_hash, 'version': int(self.version)})}"


@dataclass(frozen=True)
class StageResult:
    """Where a stage's artifact is, and whether this call built it or found it built."""

    name: str
    key: str
    folder: Path
    seconds: float
    reused: bool


def stage_root(root: str | Path | None = None) -> Path:
    """The folder holding stage folders: `root` if given, else `cache_dir("stages")`."""
    return Path(root).expanduser() if root is not None else cache_dir(STAGES_CACHE)


@contextlib.contextmanager
def folder_lock(folder: Path) -> Iterator[None]:
    """An exclusive advisory lock on `<folder>.lock` beside `folder` (released if the process
    dies); beside, not inside, so a stage's build still gets an empty folder."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock; the marker still makes builds atomic
        yield
        return
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def ensure_stage(
    stage: PretrainStage, root: str | Path | None = None, *, log: Callable[[str], Any] | None = None
) -> StageResult:
    """Build `stage` into `<root>/<key>` unless a completed build is there; return where it is.

    `root`: the folder of stage folders (default `cache_dir("stages")`). `log` receives one
    line saying whether the stage was reused or built (default: this module's logger).
    """
    from vqa_core.train.distributed import barrier, broadcast_object, dist_info

    say = log or logger.info
    folder = stage_root(root) / stage.key
    marker = folder / DONE_MARKER
    info = dist_info()
    lock = folder_lock(folder) if info.is_main else contextlib.nullcontext()
    with lock:
        done = broadcast_object(_read_marker(marker) if info.is_main else None)
        if done is not None:
            say(f"pretraining stage {stage.name} reused from {folder}")
            return StageResult(stage.name, stage.key, folder, float(done.get("seconds", 0.0)), True)
        if info.is_main:
            state = "resuming an unfinished build" if folder.is_dir() and any(folder.iterdir()) else "building"
            say(f"pretraining stage {stage.name} ({stage.key}): {state} in {folder}")
            folder.mkdir(parents=True, exist_ok=True)
        barrier()
        start = time.perf_counter()
        stage.build(folder)
        seconds = time.perf_counter() - start
        barrier()
        if info.is_main:
            _write_marker(marker, stage, seconds)
        barrier()
    return StageResult(stage.name, stage.key, folder, seconds, False)



def _read_marker(marker: Path) -> dict[str, Any] | None:
    if not marker.is_file():
        return None
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_marker(marker: Path, stage: PretrainStage, seconds: float) -> None:
    """The completion marker, written atomically (temporary file + rename), last."""
    payload = {
        "name": stage.name,
        "key": stage.key,
        "version": int(stage.version),
        "config_hash": stage.config_hash,
        "seconds": round(float(seconds), 3),
        "built_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    fd, tmp = tempfile.mkstemp(prefix=marker.name + ".", suffix=".tmp", dir=marker.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=1)
        os.replace(tmp, marker)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
