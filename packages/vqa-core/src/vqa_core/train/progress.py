"""Rich progress bars for long loops; a silent stand-in when disabled (non-zero ranks, tests)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["make_progress"]


class _NullProgress:
    console = None

    def __enter__(self) -> _NullProgress:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def add_task(self, description: str, total: float | None = None, **fields: Any) -> int:
        return 0

    def update(self, task_id: int, **kwargs: Any) -> None:
        return None

    def advance(self, task_id: int, advance: float = 1) -> None:
        return None

    def reset(self, task_id: int, **kwargs: Any) -> None:
        return None

    def remove_task(self, task_id: int) -> None:
        return None


class _Progress(Progress):
    """Progress whose tasks always carry a `status` field (shown after the bar)."""

    def add_task(self, description: str, *args: Any, status: str = "", **fields: Any) -> Any:
        return super().add_task(description, *args, status=status, **fields)


def make_progress(enabled: bool = True, transient: bool = False, console: Console | None = None) -> Any:
    """A `rich.progress.Progress` (or a no-op with the same methods when disabled)."""
    if not enabled:
        return _NullProgress()
    return _Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[status]}"),
        transient=transient,
        console=console,
    )
