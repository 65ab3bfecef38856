"""`demo-pretrain`: content-disjoint from the `demo`, built like it, resumable, readable by ST-VQRL."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from vqa_core.demo.build import DemoConfig
from vqa_core.demo.pretrain_set import (
    PRETRAIN_DIRNAME,
    PRETRAIN_SCENES,
    DemoPretrainConfig,
    build_demo_pretrain,
    ensure_demo_pretrain,
    overlapping_scenes,
)
from vqa_core.demo.scenes import SCENES, SceneSpec, scene_specs
from vqa_core.demo.sources import SKIMAGE_STILLS
from vqa_core.distort import count_frames
from vqa_core.errors import ConfigError

SMALL = DemoPretrainConfig(num_scenes=2, height=48, width=64, num_frames=8, versions=[0, 3, 7])


def test_scenes_share_no_content_with_the_default_demo():
    demo = scene_specs(DemoConfig().num_scenes)
    assert {s.scene_id for s in PRETRAIN_SCENES}.isdisjoint(s.scene_id for s in demo)
    assert {s.source for s in PRETRAIN_SCENES}.isdisjoint(s.source for s in demo)
    assert overlapping_scenes(PRETRAIN_SCENES, DemoConfig().num_scenes) == []
    assert all(s.kind == "still" and s.source in SKIMAGE_STILLS for s in PRETRAIN_SCENES)
    assert len(PRETRAIN_SCENES) == 8 and len({s.scene_id for s in PRETRAIN_SCENES}) == 8


def test_a_scene_filming_a_demo_photo_is_named():
    # the whole catalogue is the demo now; any scene of one of its photos overlaps it
    shared = [SceneSpec(f"{s.source}_again", "still", s.source, motion="pan") for s in SCENES if s.kind == "still"]
    assert overlapping_scenes([*PRETRAIN_SCENES, *shared], len(SCENES)) == [s.scene_id for s in shared]
    assert overlapping_scenes(shared, 1) == []  # a demo of one clip scene films none of them


@pytest.fixture(scope="module")
def small_set(tmp_path_factory) -> Path:
    return build_demo_pretrain(tmp_path_factory.mktemp("cache"), SMALL, progress=False)


def test_layout_and_manifest(small_set):
    assert small_set.name == PRETRAIN_DIRNAME
    with (small_set / "manifest.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    scenes = [s.scene_id for s in PRETRAIN_SCENES[:2]]
    assert [(r["scene"], int(r["version"])) for r in rows] == [(s, v) for s in scenes for v in (0, 3, 7)]
    for row in rows:
        path = small_set / row["path"]
        assert path.name == f"{row['scene']}_v{int(row['version']):02d}.mp4"
        assert count_frames(path) == (8, 48, 64)
    assert "mos" not in rows[0]  # unlabelled: nothing here is a quality label
    assert [r["source"] for r in rows] == [s.source for s in PRETRAIN_SCENES[:2] for _ in (0, 3, 7)]


def test_second_run_reuses_every_file(small_set):
    before = {p.name: p.stat().st_mtime_ns for p in (small_set / "videos").iterdir()}
    ensure_demo_pretrain(small_set.parent, SMALL, progress=False)
    assert {p.name: p.stat().st_mtime_ns for p in (small_set / "videos").iterdir()} == before


def test_other_geometry_needs_force_and_bad_configs_are_rejected(small_set):
    with pytest.raises(ConfigError, match="--force"):
        build_demo_pretrain(small_set.parent, DemoPretrainConfig(num_scenes=1, height=32, width=48,
                                                                 num_frames=8, versions=[0]), progress=False)
    with pytest.raises(ConfigError):
        DemoPretrainConfig(num_scenes=len(PRETRAIN_SCENES) + 1).validate()
    with pytest.raises(ConfigError):
        DemoPretrainConfig(versions=[1, 2]).validate()
