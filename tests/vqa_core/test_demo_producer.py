"""Demo caches are keyed by their producer (#13), and parallel builds write the same bytes as serial ones."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from vqa_core.demo import DemoConfig, build_demo, ensure_demo
from vqa_core.demo.label import ReferenceClip, luma_frames, ms_ssim
from vqa_core.demo.pretrain_set import DemoPretrainConfig, build_demo_pretrain
from vqa_core.demo.producer import LIBRARIES, library_versions
from vqa_core.demo.scenes import SCENES
from vqa_core.distort import BANK_VERSION

TINY = DemoConfig(num_scenes=2, height=48, width=64, num_frames=8, versions=[0, 3, 9, 12])


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory) -> Path:
    return build_demo(tmp_path_factory.mktemp("cache"), TINY, progress=False, workers=1)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted((folder / "videos").iterdir())}


def test_build_json_records_request_and_producer(tiny_demo):
    spec = json.loads((tiny_demo / "build.json").read_text())
    assert {k: spec[k] for k in ("height", "width", "num_frames", "fps", "seed")} == {
        "height": 48,
        "width": 64,
        "num_frames": 8,
        "fps": 25.0,
        "seed": 0,
    }
    producer = spec["producer"]
    assert (
        producer["builder"] >= 3 and producer["bank"].startswith(f"{BANK_VERSION}:") and producer["label"].startswith("1:")
    )
    assert set(LIBRARIES) <= set(producer["libraries"]) and "libavcodec" in producer["libraries"]
    assert producer["libraries"] == library_versions()


def _stale_copy(folder: Path) -> tuple[Path, bytes]:
    """Replace a version by its pristine: a valid file of the right size that a header check accepts."""
    scene = SCENES[0].scene_id
    victim = folder / "videos" / f"{scene}_v09.mp4"
    original = victim.read_bytes()
    shutil.copyfile(folder / "videos" / f"{scene}_v00.mp4", victim)
    return victim, original


def _edit_producer(spec: dict, change: str) -> dict:
    producer = json.loads(json.dumps(spec["producer"]))
    if change == "builder":
        producer["builder"] -= 1
    elif change == "library":
        producer["libraries"]["av"] = "13.0.0"
    elif change == "bank":
        producer["bank"] = "0:000000000000"
    elif change == "legacy":  # build.json of the builders before producers: a top-level builder number
        return {**{k: v for k, v in spec.items() if k != "producer"}, "builder": 2}
    return {**spec, "producer": producer}


@pytest.mark.parametrize("change", ["builder", "library", "bank", "legacy"])
def test_a_build_by_another_producer_is_rebuilt(tmp_path, tiny_demo, change):
    folder = tmp_path / "demo"
    shutil.copytree(tiny_demo, folder)
    spec_path = folder / "build.json"
    spec = json.loads(spec_path.read_text())
    victim, original = _stale_copy(folder)
    spec_path.write_text(json.dumps(_edit_producer(spec, change)))
    with pytest.warns(UserWarning, match="another producer"):
        ensure_demo(tmp_path, TINY, progress=False, workers=1)
    assert victim.read_bytes() == original  # re-derived, not served stale
    assert json.loads(spec_path.read_text()) == spec


def test_the_same_producer_serves_its_files(tmp_path, tiny_demo):
    """The control: with the producer unchanged, a header check cannot tell the stale copy, so only the
    recorded producer protects a cache from earlier code."""
    folder = tmp_path / "demo"
    shutil.copytree(tiny_demo, folder)
    victim, _ = _stale_copy(folder)
    stale = victim.read_bytes()
    ensure_demo(tmp_path, TINY, progress=False, workers=1)
    assert victim.read_bytes() == stale


def test_two_workers_write_the_same_bytes_as_one(tmp_path, tiny_demo):
    folder = build_demo(tmp_path, TINY, progress=False, workers=2)
    assert _files(folder) == _files(tiny_demo)
    assert (folder / "manifest.csv").read_bytes() == (tiny_demo / "manifest.csv").read_bytes()
    scores = [json.loads((f / "proxy_mos.json").read_text()) for f in (folder, tiny_demo)]
    assert {k: v["ms_ssim"] for k, v in scores[0].items()} == {k: v["ms_ssim"] for k, v in scores[1].items()}


def test_pretrain_set_records_its_producer(tmp_path):
    cfg = DemoPretrainConfig(num_scenes=1, height=48, width=64, num_frames=8, versions=[0, 7])
    folder = build_demo_pretrain(tmp_path, cfg, progress=False, workers=1)
    producer = json.loads((folder / "build.json").read_text())["producer"]
    assert "bank" in producer and "label" not in producer  # no labels here
    assert producer["libraries"] == library_versions()


def test_reference_clip_scores_equal_a_fresh_ms_ssim(tiny_demo):
    with (tiny_demo / "manifest.csv").open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["scene"] == SCENES[1].scene_id]
    videos = tiny_demo / "videos"
    pristine = videos / f"{SCENES[1].scene_id}_v00.mp4"
    reference = ReferenceClip(pristine)
    for row in rows[1:]:
        fresh = float(ms_ssim(luma_frames(pristine), luma_frames(videos / f"{row['video_id']}.mp4")).mean())
        assert reference.score(videos / f"{row['video_id']}.mp4") == fresh  # bit for bit
        assert float(row["ms_ssim"]) == pytest.approx(fresh, abs=5e-7)
    assert np.isclose(reference.score(pristine), 1.0)


def test_scene_work_runs_with_one_torch_thread(tmp_path, monkeypatch):
    """kornia's pyramid blur gives other pixels with 1 and 2 torch threads at 320x240: the builders pin 1,
    whatever the caller's setting, so a demo's bytes do not depend on the machine's cores."""
    import torch

    import vqa_core.demo.build as build

    seen = []
    real = build.ensure_scene_versions

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)

    monkeypatch.setattr(build, "ensure_scene_versions", spy)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        build_demo(
            tmp_path,
            DemoConfig(num_scenes=1, height=48, width=64, num_frames=8, versions=[0, 7]),
            progress=False,
            workers=1,
        )
        assert torch.get_num_threads() == 2  # restored
    finally:
        torch.set_num_threads(before)
    assert seen == [1]
