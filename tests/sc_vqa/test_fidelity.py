"""Issue #14 points 5 and 8: SC-VQA `full` keeps the paper's loss balance and the seed's views."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from sc_vqa import ScMethod
from sc_vqa.config import ScConfig, preset
from vqa_core.datasets import ManifestItem
from vqa_core.errors import ConfigError


def _konvid_like(n: int, seed: int) -> list[ManifestItem]:
    """MOS spread as KoNViD-1k's (1-5 scale, mean ~3.2, sd ~0.64)."""
    mos = np.clip(np.random.default_rng(seed).normal(3.2, 0.64, n), 1.2, 4.7)
    return [ManifestItem(f"v{i}", Path(f"/nowhere/v{i}.mp4"), float(m)) for i, m in enumerate(mos)]


def _targets(method: ScMethod, items: list[ManifestItem], monkeypatch) -> np.ndarray:
    monkeypatch.setattr(method, "clip_indices", lambda item: list(range(method.config.data.num_frames)))
    train, _ = method._labelled_clips(items, [])
    return np.asarray(train.targets)


def test_full_regression_targets_have_the_seeds_scale(monkeypatch, tmp_path) -> None:
    """The MSE term (and so its balance against NT-Xent at lambda 0.1) is the seed's (mos-1)/4 one,
    within a factor 2; z-scored targets made it ~39x larger."""
    items = _konvid_like(400, seed=0)
    method = ScMethod(config="full", device="cpu", cache_dir=tmp_path)
    targets = _targets(method, items, monkeypatch)
    seed_targets = (np.array([it.mos for it in items]) - 1.0) / 4.0
    ratio = targets.var() / seed_targets.var()
    assert 0.5 < ratio < 2.0, ratio
    assert targets.min() == pytest.approx(0.0) and targets.max() == pytest.approx(1.0)
    # scores come back on the MOS scale
    assert method.calibration.to_mos(np.array([0.0, 1.0])) == pytest.approx([min(i.mos for i in items), max(i.mos for i in items)])


def test_zscore_targets_stay_an_option(monkeypatch, tmp_path) -> None:
    cfg = preset("full")
    cfg.loss.targets = "zscore"
    method = ScMethod(config=cfg, device="cpu", cache_dir=tmp_path)
    targets = _targets(method, _konvid_like(200, seed=1), monkeypatch)
    assert targets.std() == pytest.approx(1.0, rel=0.01)


def test_unknown_target_scaling_is_refused() -> None:
    cfg = preset("full")
    with pytest.raises(ConfigError, match=r"loss\.targets"):
        ScConfig(loss=type(cfg.loss)(targets="rank"))


# --------------------------------------------------------------------------- point 8: the seed's views


def _striped(h: int, w: int, t: int = 3) -> tuple:
    """A clip of one-pixel stripes and a map marking the top half."""
    frames = torch.zeros(t, 3, h, w)
    frames[:, :, :, ::2] = 1.0
    maps = torch.zeros(t, h, w)
    maps[:, : h // 2] = 1.0
    return frames, maps


def test_full_views_crop_the_native_frame_then_resize(tmp_path) -> None:
    """Frames are decoded at native size and each view is a crop of the native frame resized once
    to 224x224 (a crop at scale >= 0.2 of 1080p is a downscale), not a crop of a 224x224 squash
    upscaled again (up to 2.2x blur)."""
    method = ScMethod(config="full", device="cpu", cache_dir=tmp_path)
    assert method.frame_size is None  # decoded at native size
    views = method.augmentation()
    frames, maps = _striped(1080, 1920)
    for seed in range(6):
        out, out_maps = views(frames, maps, seed=seed)
        assert out.shape == (3, 3, 224, 224) and out_maps.shape == (3, 224, 224)
        # every frame of the clip got the same crop / flips / jitter
        assert torch.allclose(out[0], out[1]) and torch.allclose(out_maps[0], out_maps[2])


def test_full_views_flip_both_ways_with_the_maps(tmp_path) -> None:
    method = ScMethod(config="full", device="cpu", cache_dir=tmp_path)
    cfg = method.config
    assert cfg.data.vflip_p == 0.5 and cfg.augment.hflip_p == 0.5
    assert (cfg.augment.scale, cfg.augment.brightness, cfg.augment.contrast, cfg.augment.saturation) == (
        (0.2, 1.0), 0.4, 0.4, 0.4
    )
    # geometry only, so the vertical flip is visible in the map: the salient top half moves down
    no_crop = replace(cfg.augment, crop=False, jitter_p=0.0, hflip_p=0.0)
    from sc_vqa.views import SeedViews

    views = SeedViews(no_crop, (64, 64), vflip_p=0.5)
    frames, maps = _striped(128, 128, t=2)
    tops = set()
    for seed in range(16):
        _, out_maps = views(frames, maps, seed=seed)
        top, bottom = float(out_maps[:, :32].mean()), float(out_maps[:, 32:].mean())
        assert abs(top - bottom) > 0.9  # flipped whole or not at all
        tops.add(top > bottom)
    assert tops == {True, False}
    assert torch.equal(views(frames, maps, seed=3)[1], views(frames, maps, seed=3)[1])  # reproducible


def test_full_scoring_frames_are_the_views_size(tmp_path) -> None:
    from sc_vqa.data import ScClipDataset

    method = ScMethod(config="full", device="cpu", cache_dir=tmp_path)
    assert method.scoring_batch_size == method.config.trainer.val_batch_size
    assert method.cost_frame_size == (224, 224)

    class _Stub(ScClipDataset):
        def clip(self, i):
            return _striped(360, 640)

    ds = _Stub([ManifestItem("a", Path("/nowhere/a.mp4"), float("nan"))], [[0, 1, 2]], None, view_size=(224, 224))
    item = ds[0]
    assert item["frames"].shape == (3, 3, 224, 224) and item["maps"].shape == (3, 224, 224)


def test_view_size_needs_native_decoding() -> None:
    cfg = preset("full")
    with pytest.raises(ConfigError, match="view_size"):
        ScConfig(data=type(cfg.data)(height=224, width=224, view_size=[224, 224]))
