"""The demo-scale recipe of STR / DAGR: narrow ResNet trunk, mean+std pooling, native-size frames."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torchvision.models.resnet import BasicBlock

from dagr_vqa import build_model
from dagr_vqa.config import ModelConfig, SaliencyConfig
from dagr_vqa.data import ClipDataset, augmentation
from dagr_vqa.method import DagrMethod, StrMethod
from dagr_vqa.model import SpatialFeatures, backbone_width, narrow_resnet_trunk, saliency_weights
from saliency_core import NativeCrop
from saliency_core import model as saliency_model_module
from vqa_core.config import load_config
from vqa_core.errors import ConfigError
from vqa_core.transforms import local_contrast_normalize


def _narrow(**extra) -> ModelConfig:
    return ModelConfig(backbone="narrow", pretrained=False, trunk_widths=[8, 16, 24, 32], **extra)


def test_narrow_trunk_is_resnet_from_torchvision_blocks() -> None:
    trunk = narrow_resnet_trunk([8, 16, 24, 32], [1, 2, 1, 1])
    blocks = [m for m in trunk.modules() if isinstance(m, BasicBlock)]
    assert len(blocks) == 5  # one stage per width, blocks[i] BasicBlocks in stage i
    assert [b.conv2.out_channels for b in blocks] == [8, 16, 16, 24, 32]
    out = trunk(torch.rand(2, 3, 96, 128))
    assert out.shape == (2, 32, 3, 4)  # ResNet's stride 32: stem 4, then three stride-2 stages
    # not frozen and not pretrained: every parameter trains
    assert all(p.requires_grad for p in trunk.parameters())


def test_meanstd_pooling_doubles_the_width_and_is_the_maps_mean_and_spread() -> None:
    torch.manual_seed(0)
    cfg = _narrow(pool="meanstd")
    assert backbone_width(cfg) == 64 and backbone_width(_narrow()) == 32
    spatial = SpatialFeatures(cfg, SaliencyConfig(enabled=False)).eval()
    frames = torch.rand(2, 3, 3, 64, 96)
    with torch.no_grad():
        pooled = spatial(frames)
        fmap = spatial.trunk((frames.flatten(0, 1) - spatial.mean) / spatial.std)
    assert pooled.shape == (2, 3, 64)
    flat = fmap.flatten(-2)
    expected = torch.cat([flat.mean(-1), flat.std(-1, correction=0)], -1).view(2, 3, 64)
    torch.testing.assert_close(pooled, expected)
    with torch.no_grad():  # a 1x1 feature map (a 32x32 frame) still pools to finite numbers
        assert torch.isfinite(spatial(torch.rand(1, 2, 3, 32, 32))).all()


def test_mscn_input_is_the_coefficients_then_the_saliency_weighting() -> None:
    torch.manual_seed(0)
    spatial = SpatialFeatures(_narrow(input_norm="mscn"), SaliencyConfig(alpha=0.5)).eval()
    frames, maps = torch.rand(1, 2, 3, 64, 96), torch.rand(1, 2, 64, 96)
    with torch.no_grad():
        pooled = spatial(frames, maps)
        # weighting after MSCN: a pixel weighting before it would be divided back out
        coeffs = local_contrast_normalize(frames)
        weighted = 0.5 * coeffs + 0.5 * coeffs * saliency_weights(maps).unsqueeze(2)
        expected = spatial.trunk(weighted.flatten(0, 1)).mean(dim=(-2, -1)).view(1, 2, -1)
    torch.testing.assert_close(pooled, expected)


@pytest.mark.parametrize("variant", ["str", "dagr"])
def test_small_presets_train_the_narrow_trunk_end_to_end(variant: str) -> None:
    model = build_model(variant, "small")
    assert all(p.requires_grad for p in model.spatial.trunk.parameters())
    window = model.rhythm.window  # small reads runs of consecutive frames (rhythm statistics)
    with torch.no_grad():  # any frame size: native-size reading gives each video its own
        scores = model.eval()(torch.rand(2, 4 * window, 3, 72, 104), torch.rand(2, 4, 72, 104))
    assert scores.shape == (2,) and torch.isfinite(scores).all()


def test_narrow_settings_are_validated() -> None:
    cls = StrMethod.config_class
    with pytest.raises(ConfigError, match="no pretrained weights"):
        load_config(cls, "small", {"model.pretrained": True})
    with pytest.raises(ConfigError, match="same length"):
        load_config(cls, "small", {"model.trunk_blocks": [1, 1]})
    with pytest.raises(ConfigError, match=r"model\.pool"):
        load_config(cls, "small", {"model.pool": "max"})
    with pytest.raises(ConfigError, match="native size"):
        load_config(cls, "small", {"data.height": 112})
    with pytest.raises(ConfigError, match="cannot share a training batch"):
        load_config(cls, "small", {"data.train_crop": None})
    with pytest.raises(ConfigError, match="train_crop"):
        load_config(cls, "tiny", {"data.height": 64, "data.width": 96})  # native crop on resized frames
    with pytest.raises(ConfigError, match="soft_rank"):
        load_config(cls, "small", {"loss.rank_term": "spearman"})
    with pytest.raises(ConfigError, match=r"model\.input_norm"):
        load_config(cls, "small", {"model.input_norm": "lab"})
    with pytest.raises(ConfigError, match="ImageNet weights expect"):  # MSCN is not what ImageNet weights saw
        load_config(cls, "full", {"model.input_norm": "mscn"})
    assert load_config(cls, "small").model.input_norm == "mscn"


def test_clip_dataset_crops_at_native_scale_in_training_and_keeps_full_frames_otherwise(native_size_items) -> None:
    items = native_size_items[:2]
    indices = [[0, 3, 6, 9]] * 2
    crop = augmentation([32, 24])
    assert isinstance(crop, NativeCrop)
    train = ClipDataset(items, indices, None, [0.0, 1.0], None, crop, 0, cache_clips=True)
    plain = ClipDataset(items, indices, None, [0.0, 1.0], None, cache_clips=True)
    assert train[0]["frames"].shape == (4, 3, 32, 24) and train[1]["frames"].shape == (4, 3, 32, 24)
    assert plain[0]["frames"].shape == (4, 3, 40, 72) and plain[1]["frames"].shape == (4, 3, 48, 64)
    # decoded once into the store of decoded clips, which both datasets then read
    from vqa_core.rhythm import window_indices

    for i in (0, 1):
        assert plain.clip_store.entry(items[i].path, window_indices(indices[i], 1), None).is_file()
    assert train.clip_store.folder == plain.clip_store.folder
    assert torch.equal(plain[1]["frames"], plain.clip(1)[0].permute(0, 3, 1, 2).float() / 255)


def test_native_size_method_fits_on_crops_and_scores_full_frames(tmp_path, native_size_items) -> None:
    items = native_size_items
    overrides = {
        "model.backbone": "narrow",
        "model.trunk_widths": [8, 8, 16, 16],
        "model.pool": "meanstd",
        "data.height": None,
        "data.width": None,
        "data.train_crop": [32, 32],
        "data.cache_clips": True,
        "data.num_frames": 4,
        "loss.rank_term": "soft_rank",
        "trainer.epochs": 2,
    }
    cfg = load_config(DagrMethod.config_class, "tiny", overrides)
    method = DagrMethod(cfg, device="cpu", cache_dir=tmp_path / "cache")
    torch.manual_seed(0)
    method.use_saliency_model(saliency_model_module.build_model("tiny"))
    assert method.frame_size is None and method.scoring_batch_size == 1
    assert method.cost_frame_size == (240, 320)
    history = method.fit(items[:4], items[4:], tmp_path / "work", progress=False)
    assert history["best_epoch"] in (1, 2) and history["history"][-1]["val_n"] == 3  # full-frame validation
    maps = method.map_cache()
    idx = method.clip_indices(items[0])
    assert maps.has(items[0].path, idx, None)  # maps cached at the video's own size
    assert maps.maps(items[0].path, idx, None).shape[-2:] == (40, 72)
    scores = method.score(items).scores  # two frame sizes: scored one video at a time
    assert len(scores) == 7 and np.isfinite(scores).all()
