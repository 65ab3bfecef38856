"""`vqa_core.allocator`: freed memory kept for reuse under glibc, the opt-out, and the entry points'
call. The page faults of a repeated large allocation show the effect without a timing."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from vqa_core.allocator import ALLOCATOR_ENV, allocator_setting, reuse_freed_memory
from vqa_core.errors import ConfigError

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"

# allocate, touch and free a 64 MB array 6 times; print the minor page faults of the last 5
FAULTS = """
import resource, sys
import numpy as np
from vqa_core.allocator import reuse_freed_memory
applied = reuse_freed_memory()
def cycle():
    a = np.empty(64 << 20, dtype=np.uint8)
    a.fill(1)
    del a
cycle()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    cycle()
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def faults(setting: str) -> tuple[str, int]:
    env = dict(os.environ, **{ALLOCATOR_ENV: setting})
    out = subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True, text=True, check=True)
    applied, count = out.stdout.split()
    return applied, int(count)


@pytest.mark.skipif(not GLIBC, reason="mallopt settings exist only in glibc")
def test_reused_memory_is_not_faulted_in_again() -> None:
    applied, reused = faults("reuse")
    default_applied, default = faults("system")
    assert (applied, default_applied) == ("True", "False")
    # glibc's defaults map 64 MB afresh each time: at least one fault per 2 MB (huge) page per cycle
    assert default >= 5 * 32
    assert reused < default / 20


def test_system_setting_leaves_the_allocator_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOCATOR_ENV, "system")
    assert reuse_freed_memory() is False


def test_setting_names_what_was_applied(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOCATOR_ENV, "system")
    assert allocator_setting() == "system"
    monkeypatch.setenv(ALLOCATOR_ENV, "reuse")
    assert allocator_setting() == ("reuse" if GLIBC else "system")


def test_unknown_setting_is_an_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ALLOCATOR_ENV, "jemalloc")
    with pytest.raises(ConfigError, match=f"{ALLOCATOR_ENV}='jemalloc'.*'reuse'.*'system'"):
        reuse_freed_memory()


@pytest.mark.parametrize("entry", ["vqa_core.cli", "vqa_bench.cli"])
def test_entry_points_apply_it(entry: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    import importlib

    main = importlib.import_module(entry).main
    monkeypatch.setenv(ALLOCATOR_ENV, "bogus")
    argv = ["probe", "missing.mp4"] if entry == "vqa_core.cli" else ["--list"]
    assert main(argv) == 1
    assert f"{ALLOCATOR_ENV}='bogus'" in capsys.readouterr().err
