"""Issue #14 points 4 and 6: SSL-VQA / QASA-VQA `full` label budget and test sampling as the papers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_vqa.config import QasaConfig, SslConfig
from ssl_vqa.data import TestDataset as ClipTestDataset
from ssl_vqa.data import make_sampler
from ssl_vqa.method import SslMethod
from ssl_vqa.partition import budget_split, draw_validation, restrict_to_subset
from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import ConfigError, DatasetError
from vqa_core.testing import make_video


def _named(n: int, prefix: str = "v") -> list[ManifestItem]:
    return [ManifestItem(f"{prefix}{i:03d}", Path(f"/nowhere/{prefix}{i}.mp4"), float(i)) for i in range(n)]


# --------------------------------------------------------------------------- point 4: label budget


@pytest.mark.parametrize("cls", [SslConfig, QasaConfig])
def test_full_uses_500_labels_validation_included(cls) -> None:
    semi = cls.PRESETS["full"].semi
    assert (semi.labelled, semi.val_labelled, semi.subset) == (500, 50, None)
    # LSVQ-sized splits: 450 training labels + 50 validation labels = the papers' 500
    assert budget_split(semi.labelled, semi.val_labelled, 28_000, 3_000) == (450, 50)


def test_validation_budget_rules() -> None:
    assert budget_split(500, None, 2000, 300) == (500, None)  # outside the budget: the earlier way
    assert budget_split(500, 50, 2000, 10) == (490, 10)  # fewer validation videos than asked
    assert budget_split(0.25, 0.1, 2000, 300) == (450, 50)  # fractions: of the split, then of the budget
    with pytest.raises(ConfigError, match="val_labelled"):
        budget_split(10, 9, 2000, 300)


def test_validation_draw_is_seeded_and_order_free() -> None:
    val = _named(40, "q")
    a = draw_validation(val, 5, seed=3)
    b = draw_validation(list(reversed(val)), 5, seed=3)
    assert [it.video_id for it in a] == [it.video_id for it in b] and len(a) == 5
    assert draw_validation(val, 100) == sorted(val, key=lambda it: it.video_id)


def test_subset_restricts_the_training_split_and_names_missing_names() -> None:
    items = _named(10)
    kept = restrict_to_subset(items, ["v001.mp4", "v004", "v007"])
    assert [it.video_id for it in kept] == ["v001", "v004", "v007"]
    with pytest.raises(DatasetError, match="v999"):
        restrict_to_subset(items, ["v001", "v999"])


def test_fit_counts_validation_labels_inside_the_budget(tmp_path) -> None:
    """A tiny fit with a 5-label budget, one of them validation; it also scores with a test clip
    geometry (8 frames in 2 fragments) other than the training one (4 frames)."""
    items = []
    for i in range(8):
        path = make_video(tmp_path / f"c{i}.mp4", num_frames=12, height=48, width=64, seed=i)
        items.append(ManifestItem(f"c{i}", path, float(50 + 5 * i), "train", {"version": 0 if i < 2 else 1}))
    overrides = ["semi.labelled=5", "semi.val_labelled=1", "sampling.test_clip_len=8", "sampling.test_fragments_t=2"]
    torch.manual_seed(0)
    method = SslMethod(load_config(SslConfig, "tiny", overrides), device="cpu")
    history = method.fit(items[:6], items[6:], tmp_path / "run", progress=False)
    assert (history["labelled"], history["validation_labelled"]) == (4, 1)
    assert history["labelled"] + history["validation_labelled"] == 5
    assert np.all(np.isfinite(method.predict(items[:2])))


# --------------------------------------------------------------------------- point 6: test sampling


def test_ssl_full_tests_on_two_64_frame_clips_in_8_fragments() -> None:
    cfg = SslConfig.PRESETS["full"]
    idx = make_sampler(cfg, train=False)(1000, np.random.default_rng(0))
    assert len(idx) == 2 * 64
    clip = np.asarray(idx[:64])
    # 8 temporal fragments of 8 frames at stride 2, spread over the video (not 64 contiguous frames)
    runs = clip.reshape(8, 8)
    assert np.all(np.diff(runs, axis=1) == 2)
    assert np.all(np.diff(runs[:, 0]) > 16) and clip.max() - clip.min() > 500
    # SSL trains on 32 contiguous frames, and its pristine reference cubes keep that geometry
    train_idx = make_sampler(cfg, train=True)(1000, np.random.default_rng(0))
    assert len(train_idx) == 32 and np.all(np.diff(train_idx) == 2)
    ref = make_sampler(cfg, train=False, geometry="train")(1000, np.random.default_rng(0))
    assert len(ref) == 2 * 32


def test_qasa_full_tests_on_one_64_frame_clip() -> None:
    cfg = QasaConfig.PRESETS["full"]
    idx = make_sampler(cfg, train=False)(1000, np.random.default_rng(0))
    assert len(idx) == 64
    assert np.all(np.diff(np.asarray(idx).reshape(8, 8), axis=1) == 2)


def test_test_clips_are_cut_at_the_test_length() -> None:
    cfg = SslConfig.PRESETS["full"]
    ds = ClipTestDataset(_named(1), cfg, None)
    assert ds.videos.transform.clip_len == 64
    assert ClipTestDataset(_named(1), cfg, None, geometry="train").videos.transform.clip_len == 32
