"""Issue #14 points 5 and 8: SC-VQA `full` keeps the paper's loss balance and the seed's views."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

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
