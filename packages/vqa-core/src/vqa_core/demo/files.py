"""Atomic, idempotent writes and the build-spec check that make the demo builders resumable."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from vqa_core.errors import ConfigError

__all__ = ["build_lock", "check_build_spec", "write_csv_atomic", "write_text_atomic"]


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temp file and rename; an identical existing file is left untouched (no mtime change)."""
    if path.is_file() and path.read_text() == text:
        return
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_csv_atomic(path: Path, rows: Iterable[dict], columns: Sequence[str]) -> None:
    """A manifest CSV, columns in this order and plain newline line ends, through `write_text_atomic`."""
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, buffer.getvalue())


def check_build_spec(folder: Path, spec: dict[str, object], force: bool, owned: Iterable[str]) -> None:
    """Make `folder` hold a build of `spec`: refuse a different one unless `force`, which deletes `owned` entries.

    `spec` is the request (geometry, seed) plus a "producer" entry (`vqa_core.demo.producer`):
    the same request built by another producer (an older builder, another distortion bank or
    label code, other library versions) is rebuilt without asking, with a warning that names
    what changed: its files are stale by definition. Only the entries the builder itself
    writes (`owned`) are ever deleted, never the folder.
    """
    spec_path = folder / "build.json"
    if not force and spec_path.is_file():
        built = json.loads(spec_path.read_text())
        if _request(built) == _request(spec) and _producer(built) != _producer(spec):
            warnings.warn(
                f"{folder} was built by another producer ({_changes(_producer(built), _producer(spec))}); "
                "rebuilding it",
                stacklevel=3,
            )
            force = True
    if force and folder.is_dir():
        for name in (*owned, "build.json"):
            target = folder / name
            if target.is_dir():
                shutil.rmtree(target)
            else:
                target.unlink(missing_ok=True)
    if spec_path.is_file():
        built = json.loads(spec_path.read_text())
        if built != spec:
            raise ConfigError(
                f"{folder} holds a build of {_request(built)}, not the requested {_request(spec)}: rebuild it "
                "with --force (force=True) or choose another output folder"
            )
    folder.mkdir(parents=True, exist_ok=True)
    write_text_atomic(spec_path, json.dumps(spec, indent=1, sort_keys=True))


_PRODUCER_KEYS = ("producer", "builder")  # "builder": the top-level key of build.json files before producers


def _request(spec: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in spec.items() if k not in _PRODUCER_KEYS}


def _producer(spec: dict[str, object]) -> dict[str, object]:
    producer = spec.get("producer")
    flat = dict(producer) if isinstance(producer, dict) else {}
    if "builder" in spec:
        flat.setdefault("builder", spec["builder"])
    libraries = flat.pop("libraries", None)
    if isinstance(libraries, dict):
        flat.update({f"libraries.{k}": v for k, v in libraries.items()})
    return flat


def _changes(built: dict[str, object], wanted: dict[str, object]) -> str:
    """`key: old -> new` for each producer entry that differs, e.g. `builder: 2 -> 3`."""
    keys = sorted(set(built) | set(wanted))
    return ", ".join(
        f"{k}: {built.get(k, 'unrecorded')} -> {wanted.get(k, 'unrecorded')}"
        for k in keys
        if built.get(k) != wanted.get(k)
    )


@contextmanager
def build_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on `folder` while building it.

    Several processes may call `ensure_demo` at once (DDP ranks, parallel benchmark jobs);
    the first builds, the others wait and then find every file complete. Without `fcntl`
    (Windows) the build runs unlocked.
    """
    folder.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX
        yield
        return
    with (folder / ".build.lock").open("a") as handle:  # "a": never touches the mtime
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
