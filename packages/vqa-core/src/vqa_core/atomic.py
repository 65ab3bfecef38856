"""Atomic file writes that honour the umask, and the sweep of temporaries a killed writer left.

Why one module: every result vqa-zoo writes (checkpoints, configs, manifests, histories) must
never be seen half-written, so each is written to a temporary sibling and renamed onto its
name. Done by hand with `tempfile.mkstemp`, that had two faults: the file kept mkstemp's
mode 0600 (unreadable to the group, unlike everything else the user writes), and a process
killed mid-write left its `*.tmp` behind for good (an 18 MB `model.pt.*.tmp` per SIGKILL).

- Modes: a new file gets `0o666 & ~umask`, exactly what `open(path, "w")` would give; a file
  that is replaced keeps its mode, as it would when rewritten in place.
- Temporary names: `<name>.<host>-<pid>.<random>.tmp` in the target's folder (the rename must
  not cross file systems), so a later sweep can tell whose it is.
- The sweep rule (`sweep_stale_temps`): a temporary matching the pattern is removed when no
  live process can still own it, i.e.
    * its name says it was made on this host by a process id that no longer runs, or
    * it has not been modified for `max_age_s` (default one hour), whatever wrote it: a
      writer that is alive keeps touching its file, and a rename takes no time.
  A live process on this host (or a pid reused by one), or a recent file from another host
  sharing the folder, is left alone. Every atomic write sweeps the stale temporaries of its
  own target first, so a killed run's leftovers disappear on the next save into that folder.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

__all__ = [
    "STALE_AFTER_S",
    "atomic_open",
    "atomic_path",
    "atomic_write_bytes",
    "atomic_write_text",
    "new_file_mode",
    "sweep_stale_temps",
]

#: A temporary untouched this long belongs to no live writer.
STALE_AFTER_S = 3600.0
_SUFFIX = ".tmp"
# `<anything>.<host>-<pid>.<random>.tmp`; the host part never holds dots (see `_host_tag`).
_OURS = re.compile(r"^.+\.(?P<host>[A-Za-z0-9_]*)-(?P<pid>\d+)\.[^.]+\.tmp$")


def _host_tag() -> str:
    """This machine's name as it goes into temporary names: no dots, at most 32 characters."""
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:32]


def current_umask() -> int:
    """The process umask, read without changing it where the OS allows (Linux /proc)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    # elsewhere the only portable way is to set it and put it back (briefly process-wide)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode `open(path, "w")` gives a new file: 0o666 minus the umask."""
    return 0o666 & ~current_umask()


def _final_mode(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return new_file_mode()


def _pid_running(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    except OSError:
        return True  # cannot tell: treat as alive, the age rule still applies
    return True


def sweep_stale_temps(
    folder: str | Path, pattern: str = "*" + _SUFFIX, *, max_age_s: float = STALE_AFTER_S
) -> list[Path]:
    """Remove the temporaries in `folder` matching the glob `pattern` that no live process can
    own (the rule is in the module docstring); returns the removed paths.

    `pattern` must match temporaries only: callers pass their own target's pattern
    (`"model.pt.*.tmp"`), so nothing else in the folder is looked at.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    host, now, removed = _host_tag(), time.time(), []
    for path in folder.glob(pattern):
        try:
            stat = path.lstat()
        except OSError:
            continue  # renamed or removed meanwhile
        if not path.is_file():
            continue
        ours = _OURS.match(path.name)
        dead_owner = bool(ours) and ours.group("host") == host and not _pid_running(int(ours.group("pid")))
        if dead_owner or now - stat.st_mtime > max_age_s:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed.append(path)
    return removed


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to `path`; write it completely, and on a clean exit it
    becomes `path` (with the mode a new file gets, or the replaced file's mode). On an
    exception the temporary is removed and `path` is untouched.

        with atomic_path(out / "model.pt") as tmp:
            torch.save(state, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(path.parent, f"{glob.escape(path.name)}.*{_SUFFIX}")
    fd, name = tempfile.mkstemp(
        prefix=f"{path.name}.{_host_tag()}-{os.getpid()}.", suffix=_SUFFIX, dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, _final_mode(path))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """`open(path, mode)` whose result appears under `path` only once the block completes
    (for writers that stream rows, such as CSV writers). `mode` is "w", "wb" or "wt"."""
    if mode not in ("w", "wb", "wt"):
        raise ValueError(f"atomic_open writes whole files; mode must be 'w', 'wt' or 'wb', not {mode!r}")
    with atomic_path(path) as tmp, open(tmp, mode, **kwargs) as fh:
        yield fh


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` atomically (see `atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)
