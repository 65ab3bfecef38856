"""SC-VQA at native size: two native-scale windows as the contrastive views, full frames when scored."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saliency_core import NativeCrop
from saliency_core import model as saliency_model_module
from sc_vqa.data import ScClipDataset
from sc_vqa.method import ScMethod
from vqa_core.config import load_config
from vqa_core.errors import ConfigError

NATIVE = {
    "data.height": None,
    "data.width": None,
    "data.train_crop": [24, 32],
    "data.cache_clips": True,
    "trainer.epochs": 2,
}


def test_native_views_are_two_windows_of_the_full_frames(native_size_items) -> None:
    cfg = load_config(ScMethod.config_class, "tiny", NATIVE)
    method = ScMethod(cfg, device="cpu")
    crop = method.augmentation()
    assert isinstance(crop, NativeCrop) and crop.config.size == (24, 32)
    items = native_size_items[:2]
    train = ScClipDataset(items, [[0, 3, 6, 9]] * 2, None, [0.0, 1.0], None, crop, 0, True)
    batch = train[0]
    assert batch["frames"].shape == (2, 4, 3, 24, 32)  # two views of 4 frames
    assert not torch.equal(batch["frames"][0], batch["frames"][1])  # different windows
    full = ScClipDataset(items, [[0, 3, 6, 9]] * 2, None, [0.0, 1.0], None, None, 0, True)
    assert full[0]["frames"].shape == (4, 3, 40, 72) and full[1]["frames"].shape == (4, 3, 48, 64)


def test_native_size_without_a_crop_cannot_batch_training() -> None:
    with pytest.raises(ConfigError, match="cannot share a training batch"):
        load_config(ScMethod.config_class, "tiny", {"data.train_crop": None})
    with pytest.raises(ConfigError, match="native"):
        load_config(ScMethod.config_class, "tiny", {"data.height": 48, "data.width": 64})  # resized frames


def test_native_size_fit_and_score_over_two_frame_sizes(tmp_path, native_size_items) -> None:
    items = native_size_items
    cfg = load_config(ScMethod.config_class, "tiny", NATIVE)
    method = ScMethod(cfg, device="cpu", cache_dir=tmp_path / "cache")
    method.use_saliency_model(saliency_model_module.build_model("tiny"))
    assert method.frame_size is None and method.scoring_batch_size == 1
    history = method.fit(items[:4], items[4:], tmp_path / "work", progress=False)
    assert history["history"][-1]["val_n"] == 3  # full-frame validation, one clip per batch
    scores = method.score(items).scores
    assert len(scores) == 7 and np.isfinite(scores).all()
