"""vqa_core.cache and vqa_core.stages: one cache root, one lifecycle for pretraining stages."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from vqa_core.cache import CACHE_ENV, cache_dir, cache_root
from vqa_core.stages import DONE_MARKER, PretrainStage, ensure_stage, folder_lock, stage_root


def test_cache_root_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root(tmp_path / "arg") == tmp_path / "arg"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv(CACHE_ENV)
    assert cache_root() == tmp_path / "xdg" / "vqa-zoo"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_root() == Path.home() / ".cache" / "vqa-zoo"
    assert cache_dir("stages", tmp_path) == tmp_path / "stages"
    with pytest.raises(ValueError, match="relative folder name"):
        cache_dir("../elsewhere")


def test_the_demo_and_the_methods_share_the_root(monkeypatch, tmp_path):
    from vqa_core.demo import cache_root as demo_cache_root
    from vqa_core.demo.cache import cache_root as demo_module_root

    monkeypatch.delenv(CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert demo_cache_root() == demo_module_root() == cache_root() == tmp_path / "vqa-zoo"
    assert stage_root() == tmp_path / "vqa-zoo" / "stages"


class _Counter:
    """A stage build that writes a file, counts its calls and can fail or dawdle."""

    def __init__(self, fail: bool = False, sleep: float = 0.0) -> None:
        self.calls: list[Path] = []
        self.fail = fail
        self.sleep = sleep

    def __call__(self, folder: Path) -> None:
        self.calls.append(folder)
        assert folder.is_dir()
        (folder / "artifact.txt").write_text(f"build {len(self.calls)}")
        time.sleep(self.sleep)
        if self.fail:
            raise RuntimeError("the build broke")


def test_a_stage_is_built_once_then_reused(tmp_path):
    build = _Counter()
    stage = PretrainStage("toy", {"width": 3}, build, version=2)
    lines: list[str] = []
    first = ensure_stage(stage, tmp_path, log=lines.append)
    assert (first.name, first.key, first.folder, first.reused) == ("toy", stage.key, tmp_path / stage.key, False)
    assert build.calls == [tmp_path / stage.key] and first.seconds >= 0
    marker = json.loads((first.folder / DONE_MARKER).read_text())
    assert marker["key"] == stage.key and marker["version"] == 2 and marker["config_hash"] == stage.config_hash
    again = ensure_stage(stage, tmp_path, log=lines.append)
    assert again.reused and again.folder == first.folder and again.seconds == marker["seconds"]
    assert len(build.calls) == 1
    assert "building" in lines[0] and "reused" in lines[1]
    assert not (tmp_path / stage.key / f"{stage.key}.lock").exists()  # the lock lives beside the folder
    assert (tmp_path / f"{stage.key}.lock").is_file()


def test_a_failed_build_leaves_no_marker_and_is_built_again(tmp_path):
    broken = _Counter(fail=True)
    stage = PretrainStage("toy", {"width": 3}, broken)
    with pytest.raises(RuntimeError, match="the build broke"):
        ensure_stage(stage, tmp_path)
    folder = tmp_path / stage.key
    assert not (folder / DONE_MARKER).exists()
    fixed = _Counter()
    lines: list[str] = []
    result = ensure_stage(PretrainStage("toy", {"width": 3}, fixed), tmp_path, log=lines.append)
    assert not result.reused and fixed.calls == [folder]
    assert "resuming an unfinished build" in lines[0]  # the leftovers are the build's to resume
    assert (folder / DONE_MARKER).is_file()


def test_the_default_root_is_the_cache_roots_stages(monkeypatch, tmp_path):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    stage = PretrainStage("toy", {"width": 1}, _Counter())
    assert ensure_stage(stage).folder == tmp_path / "stages" / stage.key


def test_two_builders_of_one_stage_build_it_once(tmp_path):
    build = _Counter(sleep=0.3)
    results = []

    def worker():
        results.append(ensure_stage(PretrainStage("toy", {"width": 7}, build), tmp_path))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(build.calls) == 1
    assert sorted(r.reused for r in results) == [False, True]


def test_folder_lock_serialises_holders(tmp_path):
    folder = tmp_path / "stage"
    folder.mkdir()
    order = []

    def worker(tag):
        with folder_lock(folder):
            order.append(f"{tag}-in")
            time.sleep(0.2)
            order.append(f"{tag}-out")

    threads = [threading.Thread(target=worker, args=(t,)) for t in "ab"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert order[0][0] == order[1][0] and order[2][0] == order[3][0]  # never interleaved
    assert list(folder.iterdir()) == []  # the lock lives beside the folder
