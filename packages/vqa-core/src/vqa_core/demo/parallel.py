"""Run a demo builder's per-scene work in worker processes, with the same bytes as a serial build.

A scene's files and labels depend only on its spec and the geometry, so scenes can be built in
any order and in parallel. The builders' time goes into per-scene CPU work (x264 and MPEG-2
encodes, FFmpeg's `minterpolate`, MS-SSIM in scipy), each single-threaded, so one process per
core is what uses a machine; the 2-core reference machine builds the demo in about half the
serial time.

Reproducibility: every encoder already runs with one thread (`vqa_core.distort.clip_io`); the
torch ops of the pipeline (kornia's camera crops and pyramid blur) run with one intra-op thread
in the workers *and* in a serial build (`single_threaded_torch`), so a build's bytes do not
depend on the worker count or on the cores of the machine. Measured: the pyramid-blur versions
(7-9) of a 320x240 scene come out different with 1 and 2 torch threads, so demos built before
this (torch's default: one thread per core) differ between machines with different core counts. Workers are started with the
`spawn` method (no fork of a process that may hold torch's thread pool or a progress-bar
thread); as with any spawn-based pool, a script that builds the demo at import time must guard
its entry point with `if __name__ == "__main__":`.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any, TypeVar

from vqa_core.errors import ConfigError

__all__ = ["MAX_DEFAULT_WORKERS", "default_workers", "resolve_workers", "run_jobs", "single_threaded_torch"]

T = TypeVar("T")
R = TypeVar("R")
MAX_DEFAULT_WORKERS = 8  # each worker holds a scene's frames and MS-SSIM pyramids (~0.5 GB)


def default_workers() -> int:
    """One worker per usable core (the process's CPU affinity), at most `MAX_DEFAULT_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - no sched_getaffinity (macOS, Windows)
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


def resolve_workers(workers: int | None) -> int:
    """`workers` as given (>= 1), or `default_workers()` for None / 0."""
    if workers is None or workers == 0:
        return default_workers()
    if workers < 0:
        raise ConfigError(f"workers must be >= 1 (or 0 / None for one per core), got {workers}")
    return workers


@contextmanager
def single_threaded_torch() -> Iterator[None]:
    """One torch intra-op thread inside the block (restored after), as in the build workers."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _init_worker() -> None:
    import torch

    torch.set_num_threads(1)


def run_jobs(
    job: Callable[..., R],
    args: Sequence[tuple[Any, ...]],
    workers: int,
    done: Callable[[int, R], None],
) -> None:
    """Call `job(*args[i])` for every i, in `workers` processes, and `done(i, result)` in this process
    as each finishes (completion order; callers index results by i to keep catalogue order).

    `job` must be a module-level function and its arguments picklable. One worker, or one job,
    runs in this process (no pool to start). The first failing job's exception is raised here,
    after the jobs not yet started are cancelled.
    """
    if workers <= 1 or len(args) <= 1:
        with single_threaded_torch():
            for i, a in enumerate(args):
                done(i, job(*a))
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(workers, len(args)), mp_context=context, initializer=_init_worker) as pool:
        pending = {pool.submit(job, *a): i for i, a in enumerate(args)}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    i = pending.pop(future)
                    done(i, future.result())
        except BaseException:
            for future in pending:
                future.cancel()
            raise
