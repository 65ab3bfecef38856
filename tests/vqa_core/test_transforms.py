"""Clip-consistent augmentation, per-backbone normalisation and resizing."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from vqa_core.errors import ConfigError
from vqa_core.transforms import (
    NORMALIZATION,
    ClipAugment,
    ClipAugmentConfig,
    denormalize,
    normalize,
    resize_frames,
)


def _frames(t: int = 4, h: int = 60, w: int = 80, seed: int = 0) -> torch.Tensor:
    return torch.rand(t, 3, h, w, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- augmentation


def test_same_parameters_for_every_frame():
    one = _frames(1)
    clip = one.expand(5, -1, -1, -1).contiguous()
    out, _ = ClipAugment(ClipAugmentConfig(size=(32, 48), jitter_p=1.0))(clip, seed=1)
    assert out.shape == (5, 3, 32, 48)
    for k in range(1, 5):
        assert torch.equal(out[k], out[0])


def test_saliency_map_follows_crop_and_flip_but_not_jitter():
    frames = _frames()
    sal = frames[:, 0].clone()  # a map that equals the red channel pixel for pixel
    plain = ClipAugment(ClipAugmentConfig(size=(40, 40), hflip_p=1.0, jitter_p=0.0))
    jittered = ClipAugment(ClipAugmentConfig(size=(40, 40), hflip_p=1.0, jitter_p=1.0))
    f_plain, m_plain = plain(frames, sal, seed=7)
    f_jit, m_jit = jittered(frames, sal, seed=7)
    assert torch.allclose(m_plain, f_plain[:, 0], atol=1e-6)  # same geometry for map and frames
    assert torch.allclose(m_jit, m_plain, atol=1e-6)  # jitter never touches the map
    assert not torch.allclose(f_jit, f_plain, atol=1e-3)  # ... but does change the frames


def test_flip_only_is_an_exact_mirror():
    frames = _frames()
    cfg = ClipAugmentConfig(size=None, crop=False, hflip_p=1.0, jitter_p=0.0)
    out, sal = ClipAugment(cfg)(frames, frames[:, 1], seed=0)
    assert torch.equal(out, frames.flip(-1))
    assert torch.equal(sal, frames[:, 1].flip(-1))


def test_seeding_is_reproducible_and_leaves_global_rng_alone():
    aug = ClipAugment(ClipAugmentConfig(size=(24, 24)))
    frames, sal = _frames(), torch.rand(4, 60, 80)
    state = torch.get_rng_state()
    a = aug(frames, sal, seed=3)
    b = aug(frames, sal, generator=torch.Generator().manual_seed(11))
    c = aug(frames, sal, generator=torch.Generator().manual_seed(11))
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.equal(a[0], aug(frames, sal, seed=3)[0]) and torch.equal(a[1], aug(frames, sal, seed=3)[1])
    assert torch.equal(b[0], c[0]) and torch.equal(b[1], c[1])
    assert not torch.equal(a[0], aug(frames, sal, seed=4)[0])
    assert a[0].min() >= 0 and a[0].max() <= 1


def test_augment_errors():
    aug = ClipAugment(ClipAugmentConfig(size=(24, 24)))
    with pytest.raises(ValueError, match="exactly one"):
        aug(_frames())
    with pytest.raises(ValueError, match="saliency maps"):
        aug(_frames(), torch.rand(4, 10, 10), seed=0)
    with pytest.raises(ValueError, match="float"):
        aug((_frames() * 255).to(torch.uint8), seed=0)


def test_config_from_dict_validates():
    cfg = ClipAugmentConfig.from_dict({"size": [112, 112], "scale": [0.5, 1.0], "hflip_p": 0.0})
    assert cfg.size == (112, 112) and cfg.scale == (0.5, 1.0)
    assert ClipAugmentConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="unknown"):
        ClipAugmentConfig.from_dict({"sise": 3})
    with pytest.raises(ConfigError, match="probability"):
        ClipAugmentConfig(hflip_p=1.5)


# ---------------------------------------------------------------- normalisation


def test_imagenet_matches_torchvision_normalize():
    frames = _frames()
    ref = TF.normalize(frames, mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225])
    assert torch.allclose(normalize(frames, "imagenet"), ref, atol=1e-6)


def test_fastvqa_on_0_255_and_channel_first_clips():
    clip = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1, 1) + torch.tensor(
        [58.395, 57.12, 57.375]
    ).view(3, 1, 1, 1) * torch.ones(3, 2, 4, 4)
    out = normalize(clip, "fastvqa", channel_dim=-4)  # (C, T, H, W): mean + std -> 1
    assert torch.allclose(out, torch.ones_like(out), atol=1e-5)
    u8 = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    assert torch.allclose(normalize(u8, "fastvqa")[0, 0], torch.tensor((255 - 123.675) / 58.395), atol=1e-5)
    assert torch.allclose(normalize(u8, "imagenet")[0, 2], torch.tensor((1 - 0.406) / 0.225), atol=1e-5)


def test_clip_statistics_and_roundtrip():
    mean = torch.tensor(NORMALIZATION["clip"]["mean"]).view(1, 3, 1, 1).expand(2, 3, 5, 5)
    assert torch.allclose(normalize(mean, "clip"), torch.zeros(2, 3, 5, 5), atol=1e-6)
    frames = _frames()
    for kind in ("imagenet", "clip"):
        assert torch.allclose(denormalize(normalize(frames, kind), kind), frames, atol=1e-6)


def test_normalize_rejects_wrong_range_kind_and_channels():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        normalize(_frames() * 255, "imagenet")
    with pytest.raises(ConfigError, match="unknown normalisation"):
        normalize(_frames(), "kinetics")
    with pytest.raises(ValueError, match="channel_dim"):
        normalize(torch.rand(3, 4, 5, 6), "imagenet")  # (C, T, H, W) with the default channel_dim
    with pytest.warns(UserWarning, match="0-255"):
        normalize(_frames(), "fastvqa")


# ---------------------------------------------------------------- resizing


def test_resize_frames_and_maps():
    frames = _frames(2, 64, 96)
    out = resize_frames(frames, (32, 48))
    assert out.shape == (2, 3, 32, 48)
    # a constant image stays constant under (antialiased) bilinear resizing
    const = torch.full((3, 50, 70), 0.25)
    assert torch.allclose(resize_frames(const, (20, 30)), torch.full((3, 20, 30), 0.25), atol=1e-6)
    u8 = torch.full((2, 3, 10, 10), 200, dtype=torch.uint8)
    assert torch.equal(resize_frames(u8, (5, 7)), torch.full((2, 3, 5, 7), 200, dtype=torch.uint8))
    assert resize_frames(frames, (64, 96)) is frames
