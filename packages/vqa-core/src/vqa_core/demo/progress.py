"""A rich progress bar for the demo builders, or a silent stand-in when progress is off."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

__all__ = ["StepReporter", "build_progress"]


class StepReporter(Protocol):
    def __call__(self, description: str, advance: int = 1) -> None: ...


@contextmanager
def build_progress(title: str, total: int, enabled: bool = True) -> Iterator[StepReporter]:
    """Yield `step(description, advance=1)`; shows a bar with count, elapsed time and ETA when enabled."""
    if not enabled:
        yield lambda description, advance=1: None
        return
    columns = (
        TextColumn("[bold]{task.fields[title]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task("", total=total, title=title)

        def step(description: str, advance: int = 1) -> None:
            bar.update(task, advance=advance, description=description)

        yield step
