"""An exclusive, non-blocking lock file that says who holds it.

Two `bench` runs writing one run folder, or two `vqa score` runs writing one CSV, used to both
report success while one silently lost the other's results (issue #16.3). The second writer is
now refused at once, and the message names the holder (pid, host, start time) so the user can
tell a live run from a forgotten one.

How: `flock` on `<path>` (the kernel releases it when the holder dies, even by SIGKILL, so a
lock file left behind never blocks anyone), the holder's details written into the file, and the
file removed on release. Removing a lock file races with a process that opened it just before:
that process would then hold a lock on a deleted file. So after locking, the file locked must
still be the one at `<path>` (same inode); if not, the lock is taken again on the new file.

Platforms without `fcntl` (Windows) get no cross-process lock: the context manager yields
without locking, as the stage cache's lock did.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vqa_core.errors import VqaError

__all__ = ["LockHeldError", "exclusive_lock"]


class LockHeldError(VqaError):
    """Another live process holds the lock; `holder` has its pid, host and start time."""

    def __init__(self, message: str, path: Path, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.path = path
        self.holder = holder


def _holder_text(holder: dict[str, Any]) -> str:
    if not holder.get("pid"):
        return "another process (it has not written its pid yet)"
    where = f" on {holder['host']}" if holder.get("host") and holder["host"] != socket.gethostname() else ""
    since = f", since {holder['since']}" if holder.get("since") else ""
    return f"process {holder['pid']}{where} ({holder.get('command') or 'unknown command'}{since})"


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0).decode("utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@contextlib.contextmanager
def exclusive_lock(path: str | Path, *, what: str, advice: str, command: str = "") -> Iterator[Path]:
    """Hold an exclusive lock on the file `path` (created if needed) for the block.

    `what` names the thing protected ("run folder runs/demo-intra-tiny"), `advice` says what to
    do when it is taken; both go into the `LockHeldError` raised at once if another process
    holds it. `command` is recorded for that message. The lock file is removed on release.
    """
    path = Path(path)
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process lock (see the module docstring)
        yield path
        return
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise LockHeldError(
                f"{what} is in use by {_holder_text(holder)}; it holds the lock {path}. {advice}",
                path,
                holder,
            ) from None
        try:
            current = os.stat(path)
        except FileNotFoundError:
            current = None
        if current is not None and os.path.samestat(os.fstat(fd), current):
            break
        os.close(fd)  # the previous holder removed this file between our open and our lock: again
    try:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
            "command": command,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode("utf-8"), 0)
        yield path
    finally:
        with contextlib.suppress(OSError):
            path.unlink()  # while still holding it: a waiting opener re-checks the inode
        os.close(fd)
