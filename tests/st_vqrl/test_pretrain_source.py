"""Issue #14 points 1 and 9: disjoint clip windows, `full` needs a real set or a release, epoch length."""

from __future__ import annotations

import numpy as np
import pytest

from st_vqrl import StVqrlConfig
from st_vqrl.data import PretrainDataset, Scene, disjoint_clip_indices
from st_vqrl.pretrain import check_pretrain_source, pretrain_scenes, pretrain_stvqrl
from st_vqrl.stage import stvqrl_stage
from vqa_core.config import load_config
from vqa_core.errors import ConfigError, DatasetError
from vqa_core.sampling import SampleFrames


@pytest.mark.parametrize("name", ["tiny", "small"])
def test_demo_scale_presets_draw_the_two_clips_from_disjoint_windows(name):
    """On 64-frame demo-pretrain clips the two views never share a frame, for any draw."""
    cfg = StVqrlConfig.PRESETS[name]
    assert cfg.pretrain.clip_windows == "disjoint"
    ds = PretrainDataset([Scene("s", {v: f"v{v}.mp4" for v in range(13)}, num_frames=64)], cfg.clip, k=3)
    length = cfg.clip.clip_len
    starts = set()
    for seed in range(200):
        idx = ds.frame_indices(ds.scenes[0], np.random.default_rng(seed))
        first, second = idx[:length], idx[length:]
        assert len(idx) == 2 * length
        assert first.max() < 32 <= second.min()  # each clip inside its own half
        assert np.all(np.diff(first) == cfg.clip.frame_interval) and np.all(np.diff(second) == cfg.clip.frame_interval)
        starts.add((int(first[0]), int(second[0])))
    assert len(starts) > 20  # the windows move: not one fixed pair of clips


def test_the_seed_sampler_gives_identical_views_on_a_clip_long_video():
    """Why the default changed: the seed's sampler starts both `full` clips at frame 0 on 64 frames."""
    idx = SampleFrames(32, 2, num_clips=2)(64, train=True, rng=np.random.default_rng(0))
    assert np.array_equal(idx[:32], idx[32:])
    with pytest.raises(DatasetError, match="two disjoint clips"):
        disjoint_clip_indices(64, 32, 2, np.random.default_rng(0), "scene x")


def test_disjoint_windows_fit_exactly_and_fail_when_too_short():
    idx = disjoint_clip_indices(16, 4, 2, np.random.default_rng(1))  # span 7 in halves of 8
    assert set(idx[:4]).isdisjoint(idx[4:]) and idx.max() < 16
    with pytest.raises(DatasetError, match="13 frames"):
        disjoint_clip_indices(13, 4, 2, np.random.default_rng(1))


@pytest.mark.parametrize("name", ["full"])
def test_full_needs_a_synthetic_set_or_released_weights(name, tmp_path):
    cfg = load_config(StVqrlConfig, name)
    assert cfg.pretrain.dataset is None and cfg.pretrain.min_scenes >= 200
    for call in (lambda: check_pretrain_source(cfg), lambda: pretrain_scenes(cfg), lambda: stvqrl_stage(cfg),
                 lambda: pretrain_stvqrl(cfg, tmp_path / "run")):
        with pytest.raises(ConfigError, match="make-synthetic") as err:
            call()
        assert "init_from" in str(err.value)
    assert not (tmp_path / "run" / "train").exists()  # failed before any work
    check_pretrain_source(load_config(StVqrlConfig, name, {"init_from": "release.pth"}))
    check_pretrain_source(load_config(StVqrlConfig, name, {"pretrain.enabled": False}))


def test_ssl_and_qasa_full_inherit_the_requirement():
    from ssl_vqa import QasaConfig, SslConfig

    for cls in (SslConfig, QasaConfig):
        cfg = load_config(cls, "full")
        with pytest.raises(ConfigError, match="make-synthetic"):
            stvqrl_stage(cfg.stvqrl)


def test_full_refuses_a_folder_below_the_papers_scale(tmp_path):
    from vqa_core.distort import distorted_name

    for scene in ("a", "b"):
        for v in range(13):
            (tmp_path / distorted_name(scene, v)).write_bytes(b"")
    cfg = load_config(StVqrlConfig, "full", {"pretrain.dataset": str(tmp_path)})
    with pytest.raises(ConfigError, match=r"2 scene.*min_scenes asks for 200"):
        pretrain_scenes(cfg)
    assert len(pretrain_scenes(load_config(StVqrlConfig, cfg, {"pretrain.min_scenes": 2}))) == 2


def test_scenes_per_epoch_draws_a_fresh_subset_each_epoch():
    scenes = [Scene(f"s{i:02d}", {v: f"{v}.mp4" for v in range(13)}, num_frames=64) for i in range(30)]
    clip = StVqrlConfig.PRESETS["tiny"].clip
    ds = PretrainDataset(scenes, clip, k=3, scenes_per_epoch=3)
    assert len(ds) == 3
    seen = []
    for epoch in range(4):
        ds.set_epoch(epoch)
        ids = [ds.scene(i).scene_id for i in range(len(ds))]
        assert len(set(ids)) == 3
        seen.append(tuple(ids))
    assert len(set(seen)) > 1
    assert len(PretrainDataset(scenes, clip, k=3)) == 30
    assert StVqrlConfig.PRESETS["full"].pretrain.scenes_per_epoch == "seed"
    with pytest.raises(ConfigError, match="scenes_per_epoch"):
        load_config(StVqrlConfig, "tiny", {"pretrain.scenes_per_epoch": 0})
