"""vqa_core.atomic: whole files or nothing, modes that follow the umask, no leftovers after a kill."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from vqa_core.atomic import (
    atomic_open,
    atomic_path,
    atomic_write_bytes,
    atomic_write_text,
    new_file_mode,
    sweep_stale_temps,
)
from vqa_core.config import dump_config
from vqa_core.datasets import ManifestItem, write_manifest_csv
from vqa_core.train import TrainConfig, load_checkpoint, save_checkpoint


@pytest.fixture
def umask():
    """Set a umask for the test and put the old one back."""
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002, 0o077])
def test_every_writer_gives_new_files_the_umask_mode(tmp_path: Path, umask, mask: int) -> None:
    umask(mask)
    assert new_file_mode() == 0o666 & ~mask
    written = [
        atomic_write_text(tmp_path / "a.txt", "x"),
        atomic_write_bytes(tmp_path / "b.bin", b"x"),
        save_checkpoint({"w": torch.ones(2)}, tmp_path / "model.pt"),
        dump_config(TrainConfig(), tmp_path / "train_config.yaml"),
        write_manifest_csv([ManifestItem("v", tmp_path / "v.mp4", 3.0)], tmp_path / "manifest.csv"),
    ]
    with atomic_open(tmp_path / "c.csv", "w") as fh:
        fh.write("a,b\n")
    written.append(tmp_path / "c.csv")
    for path in written:
        assert mode(path) == 0o666 & ~mask, path.name
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in written)  # no temporaries


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "result.json", "{}")
    target.chmod(0o640)
    atomic_write_text(target, '{"a": 1}')
    assert mode(target) == 0o640 and target.read_text() == '{"a": 1}'


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = atomic_write_text(tmp_path / "out.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


def test_sweep_rule(tmp_path: Path) -> None:
    from vqa_core.atomic import _host_tag

    host = _host_tag()
    dead = tmp_path / f"model.pt.{host}-{_dead_pid()}.abc123.tmp"  # owner gone: swept at once
    alive = tmp_path / f"model.pt.{host}-{os.getpid()}.def456.tmp"  # owner running: kept
    remote = tmp_path / "model.pt.otherhost-1.ghi789.tmp"  # another machine, recent: kept
    legacy_old = tmp_path / "model.pt.k2l9x.tmp"  # older writers' names: only by age
    legacy_new = tmp_path / "model.pt.q8w1e.tmp"
    unrelated = tmp_path / "notes.tmp"  # does not match the pattern
    for p in (dead, alive, remote, legacy_old, legacy_new, unrelated):
        p.write_bytes(b"x")
    two_hours_ago = time.time() - 7200
    os.utime(legacy_old, (two_hours_ago, two_hours_ago))
    os.utime(unrelated, (two_hours_ago, two_hours_ago))
    removed = sweep_stale_temps(tmp_path, "model.pt.*.tmp")
    assert sorted(removed) == sorted([dead, legacy_old])
    assert all(p.exists() for p in (alive, remote, legacy_new, unrelated))
    os.utime(remote, (two_hours_ago, two_hours_ago))
    assert sweep_stale_temps(tmp_path, "model.pt.*.tmp", max_age_s=3600) == [remote]


KILLED_WRITER = """
import os, signal, sys
import torch
from vqa_core.atomic import atomic_path
with atomic_path(sys.argv[1]) as tmp:
    torch.save({"w": torch.zeros(1000)}, tmp)
    os.kill(os.getpid(), signal.SIGKILL)  # killed before the rename
"""


def test_a_temporary_left_by_sigkill_is_swept_on_the_next_save(tmp_path: Path) -> None:
    target = tmp_path / "last.pt"
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(target)], capture_output=True, timeout=120)
    assert done.returncode == -9
    leftovers = list(tmp_path.glob("last.pt.*.tmp"))
    assert len(leftovers) == 1 and not target.exists()
    save_checkpoint({"w": torch.ones(3)}, target)
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]
    assert torch.equal(load_checkpoint(target)["w"], torch.ones(3))


def test_atomic_open_refuses_append(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whole files"), atomic_open(tmp_path / "x", "a"):
        pass
