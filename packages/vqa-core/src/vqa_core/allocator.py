"""Keep freed memory in the process for reuse: a 3x faster CPU training step under glibc.

glibc's malloc serves every request above its mmap threshold (at most 32 MB) with a fresh
`mmap` and hands it back with `munmap` when freed. A CPU training step allocates and frees
activations of hundreds of MB (sc `small`: 2 x 8 clips x 8 frames x 32 channels x 128 x 128
floats is 268 MB per tensor) on every step, so every step page-faults and zeroes that memory
again: measured on 2 cores, 75% of the CPU time was the kernel's, and one sc `small` step took
1.6 s against 0.5 s with freed memory kept (`benchmarks/README.md`, "CPU allocator"). PyTorch's
CPU tuning guide recommends jemalloc or tcmalloc for the same reason; `mallopt` gets the effect
from the allocator already loaded, with nothing to install.

The entry points (`vqa`, `bench`) call `reuse_freed_memory()` once at start-up; code that uses the
library from Python may call it too. It changes allocation speed, not what is computed. The
cost: the process keeps its peak heap instead of returning freed pages to the system.
`VQA_ZOO_MALLOC=system` keeps glibc's defaults; on other C libraries (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

from vqa_core.errors import ConfigError

__all__ = ["ALLOCATOR_ENV", "allocator_setting", "reuse_freed_memory"]

ALLOCATOR_ENV = "VQA_ZOO_MALLOC"

# mallopt parameters, from glibc's <malloc.h>
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_INT_MAX = 2**31 - 1


def reuse_freed_memory() -> bool:
    """Tell glibc's malloc to keep freed memory for reuse: no `mmap` per large block, no trimming.

    Returns True when the settings were applied; False when `VQA_ZOO_MALLOC=system` asks for
    the defaults, or the C library is not glibc (the call is then a no-op).
    """
    choice = os.environ.get(ALLOCATOR_ENV, "reuse").strip().lower()
    if choice == "system":
        return False
    if choice != "reuse":
        raise ConfigError(f"{ALLOCATOR_ENV}={choice!r}: expected 'reuse' (the default) or 'system'")
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # no libc found, or one without mallopt (musl)
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    # every block from the heap (none mmap'd), and the heap never trimmed back to the system
    return bool(mallopt(_M_MMAP_MAX, 0)) and bool(mallopt(_M_TRIM_THRESHOLD, _INT_MAX))


def allocator_setting() -> str:
    """Apply `reuse_freed_memory()` and name the outcome, 'reuse' or 'system', for benchmark records.

    Speed benchmarks run as `vqa` and `bench` do and record which allocator their timings had.
    """
    return "reuse" if reuse_freed_memory() else "system"
