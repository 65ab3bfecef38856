"""The CSV of `vqa score --out`: checked before any work, written row by row, one writer at a time.

Why (issue #16.2, #16.3): the CSV used to be written once, at the end. A Ctrl-C after 20
videos left nothing; an `--out` naming a folder or an unwritable place raised a traceback
after everything was scored; and two runs on one `--out` both reported success while the file
held one run's rows. Now:

- `check_out_path` refuses, before anything is probed or loaded, an `--out` that is a folder,
  whose folder does not exist, or that is not a regular file; `out_lock` creates the lock
  file beside it, which is where a place without write permission shows.
- `out_lock` holds `.<name>.lock` beside the CSV while a run writes it: a second run is
  refused, naming the holder (pid, start time). The lock file is removed when the run ends.
- `out_mode` decides what happens to an existing, non-empty file: refused, unless `--append`
  (its header must be ours) or `--overwrite`. An empty file is simply (re)written.
- `ScoreCsv` writes the header and then every row as it comes, flushed at once, so an
  interrupt or a crash keeps every row scored before it.
"""

from __future__ import annotations

import contextlib
import csv
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from vqa_bench.locks import LockHeldError, exclusive_lock
from vqa_core.errors import VqaError

__all__ = ["OutPathError", "ScoreCsv", "check_out_path", "out_lock", "out_mode"]


class OutPathError(VqaError):
    """`--out` cannot take the scores; the message says why and what to do."""


def check_out_path(path: Path) -> None:
    """Refuse an `--out` that is a folder, whose folder is missing, or that is not a regular file."""
    path = Path(path)
    if path.is_dir():
        raise OutPathError(f"--out {path} is a folder; give a file path, e.g. --out {path / 'scores.csv'}")
    parent = path.absolute().parent
    if not parent.exists():
        raise OutPathError(
            f"--out {path}: its folder {parent} does not exist; create it first (mkdir -p {parent})"
        )
    if not parent.is_dir():
        raise OutPathError(f"--out {path}: {parent} is not a folder")
    if path.exists() and not path.is_file():
        raise OutPathError(f"--out {path} exists and is not a regular file; choose another path")
    if path.exists() and not os.access(path, os.W_OK):
        raise OutPathError(f"--out {path}: no permission to write this file; choose another path")


def lock_path_of(path: Path) -> Path:
    return path.absolute().parent / f".{path.name}.lock"


@contextlib.contextmanager
def out_lock(path: Path, command: str = "") -> Iterator[Path]:
    """Hold the lock of `--out` for the block; OutPathError when another run holds it or the
    folder cannot be written."""
    lock = lock_path_of(Path(path))
    try:
        with exclusive_lock(
            lock,
            what=f"--out {path}",
            advice="Wait for it to finish, or write to another file.",
            command=command,
        ):
            yield lock
    except LockHeldError as err:
        raise OutPathError(str(err)) from None
    except PermissionError as err:
        if Path(err.filename or "") != lock:
            raise
        raise OutPathError(
            f"--out {path}: cannot write in {lock.parent} ({err.strerror}); choose a folder you can write to"
        ) from None


def out_mode(path: Path, columns: Sequence[str], *, append: bool = False, overwrite: bool = False) -> str:
    """ "new" (no file or an empty one), "append" or "overwrite"; an existing file with rows is
    refused unless one of the two flags says what to do with it, and `--append` only adds to a
    file with the same `columns`."""
    path = Path(path)
    if not path.exists() or path.stat().st_size == 0:
        return "new"
    if overwrite:
        return "overwrite"
    with open(path, newline="", encoding="utf-8", errors="replace") as fh:
        lines = list(csv.reader(fh))
    if not append:
        raise OutPathError(
            f"--out {path} already exists ({max(len(lines) - 1, 0)} row(s)); pass --append to add this run's rows, "
            "--overwrite to replace it, or choose another file"
        )
    if not lines or lines[0] != list(columns):
        found = ",".join(lines[0]) if lines else "nothing"
        raise OutPathError(
            f"--out {path} has other columns ({found}) than vqa score writes ({','.join(columns)}); "
            "--append adds to files of vqa score only: use --overwrite or another file"
        )
    return "append"


class ScoreCsv:
    """A CSV opened for `mode` ("new", "append", "overwrite") with `columns` as its header;
    `write(values)` adds one row and flushes it. `rows` counts the rows written by this run."""

    def __init__(self, path: Path, columns: Sequence[str], mode: str = "new") -> None:
        if mode not in ("new", "append", "overwrite"):
            raise ValueError(f"ScoreCsv mode must be new, append or overwrite, not {mode!r}")
        self.path, self.columns, self.mode = Path(path), list(columns), mode
        self.rows = 0
        self._fh: IO[str] | None = None
        self._writer: Any = None

    def __enter__(self) -> ScoreCsv:
        self._fh = open(self.path, "a" if self.mode == "append" else "w", newline="", encoding="utf-8")
        self._writer = csv.writer(self._fh)
        if self.mode != "append":
            self._writer.writerow(self.columns)
            self._fh.flush()
        return self

    def write(self, values: Sequence[str]) -> None:
        if self._fh is None:
            raise RuntimeError("ScoreCsv.write outside its `with` block")
        self._writer.writerow(values)
        self._fh.flush()  # a row scored is a row kept, whatever happens next
        self.rows += 1

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._fh is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._fh.fileno())
            self._fh.close()
            self._fh = None
