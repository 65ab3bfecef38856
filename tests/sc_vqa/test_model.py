"""Shapes, parameter counts and input fusion of the SC-VQA network."""

from __future__ import annotations

import pytest
import torch

from sc_vqa import ScConfig, build_model
from sc_vqa.model import TemporalAttentionPool, saliency_weights
from vqa_core.transforms import local_contrast_normalize


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_full_parameter_counts_match_the_audit() -> None:
    """seed_audit.md §3.3 / §8.8: encoder about 17.08M, regressor 10,369."""
    model = build_model("full")
    assert abs(_count(model.encoder) - 17_080_000) / 17_080_000 < 0.01
    assert abs(_count(model.regressor) - 10_369) / 10_369 < 0.01
    # computed by hand: conv 4*9*256+256, BN 2*256, LSTM 4*256*(16384+256)+2*4*256, attention 257,
    # embedding 256*128+128; regressor 128*64+64 + 64*32+32 + 32+1
    conv, bn = 4 * 9 * 256 + 256, 2 * 256
    lstm = 4 * 256 * (16384 + 256) + 2 * 4 * 256
    assert _count(model.encoder) == conv + bn + lstm + 257 + 256 * 128 + 128
    assert _count(model.regressor) == 128 * 64 + 64 + 64 * 32 + 32 + 32 + 1
    assert model.encoder.lstm.input_size == 256 * 8 * 8
    assert model.encoder.frames.conv.in_channels == 4  # RGB + saliency channel


@pytest.mark.parametrize(
    ("saliency", "fusion", "channels"), [(True, "channel", 4), (True, "weight", 3), (False, "channel", 3)]
)
def test_input_channels_follow_the_fusion(saliency: bool, fusion: str, channels: int) -> None:
    model = build_model("tiny", saliency=saliency, fusion=fusion)
    assert model.encoder.frames.conv.in_channels == channels


def test_smaller_presets_are_smaller() -> None:
    full, small, tiny = (_count(build_model(s)) for s in ("full", "small", "tiny"))
    assert tiny < small < full / 10


@pytest.mark.parametrize("size", ["tiny", "small", "full"])
@pytest.mark.parametrize("num_frames", [1, 3])
def test_forward_returns_one_score_per_clip(size: str, num_frames: int) -> None:
    torch.manual_seed(0)
    model = build_model(size).eval()
    window = ScConfig.PRESETS[size].model.rhythm_window  # frames per sampled position (small: 4)
    frames = torch.rand(2, num_frames * window, 3, 40, 56)
    maps = torch.rand(2, num_frames, 40, 56)  # each position's (window's first frame's) map
    with torch.no_grad():
        scores = model(frames, maps)
        z = model.embed(frames, maps)
    assert scores.shape == (2,)
    assert z.shape == (2, model.encoder.embed.out_features)
    assert torch.isfinite(scores).all()


def test_two_views_are_one_batch_and_regress_the_mean_embedding() -> None:
    torch.manual_seed(0)
    model = build_model("tiny").eval()
    frames = torch.rand(3, 2, 4, 3, 48, 64)
    maps = torch.rand(3, 2, 4, 48, 64)
    with torch.no_grad():
        pred, z1, z2 = model(frames, maps, two_views=True)
        e1 = model.embed(frames[:, 0], maps[:, 0])
        e2 = model.embed(frames[:, 1], maps[:, 1])
    torch.testing.assert_close(z1, e1, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(z2, e2, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(pred, model.regress((e1 + e2) / 2), rtol=1e-5, atol=1e-6)


def test_clips_in_a_batch_do_not_mix() -> None:
    torch.manual_seed(0)
    model = build_model("tiny").eval()
    frames = torch.rand(3, 4, 3, 48, 64)
    maps = torch.rand(3, 4, 48, 64)
    with torch.no_grad():
        together = model(frames, maps)
        alone = torch.stack([model(frames[i : i + 1], maps[i : i + 1])[0] for i in range(3)])
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)


def test_frame_order_matters_to_the_lstm() -> None:
    torch.manual_seed(0)
    model = build_model("tiny").eval()
    frames = torch.rand(1, 4, 3, 48, 64)
    maps = torch.rand(1, 4, 48, 64)
    # the embedding, not the score: a random regressor's ReLUs may all be off for random input,
    # which would make any two scores equal and say nothing about the LSTM
    with torch.no_grad():
        forward = model.embed(frames, maps)
        backward = model.embed(frames.flip(1), maps.flip(1))
    assert not torch.allclose(forward, backward)


def test_the_map_channel_reaches_the_network() -> None:
    torch.manual_seed(0)
    frames = torch.rand(2, 4, 3, 48, 64)
    maps = torch.rand(2, 4, 48, 64)
    with torch.no_grad():
        model = build_model("tiny").eval()
        assert not torch.allclose(model.embed(frames, maps), model.embed(frames, 1.0 - maps))
        rgb_only = build_model("tiny", saliency=False).eval()
        torch.testing.assert_close(rgb_only(frames, maps), rgb_only(frames, None))
    with pytest.raises(ValueError, match="pass maps"):
        model(frames, None)
    with pytest.raises(ValueError, match="do not match"):
        model(frames, maps[:, :2])


def test_channel_fusion_appends_the_map_and_weight_fusion_blends_it() -> None:
    frames = torch.full((1, 2, 3, 4, 4), 0.5)
    maps = torch.zeros(1, 2, 4, 4)
    maps[..., 0, 0] = 1.0
    channel = build_model("tiny").fusion(frames, maps)
    assert channel.shape == (1, 2, 4, 4, 4)
    torch.testing.assert_close(channel[:, :, 3], 2 * maps - 1)  # the map, scaled to [-1, 1]
    weighted = build_model("tiny", fusion="weight", input_norm="none").fusion(frames, maps)
    # alpha 0.5, floor 0.1: the salient pixel keeps 0.5; the others get 0.5 * (0.5 + 0.5 * 0.1) = 0.275
    assert weighted.shape == (1, 2, 3, 4, 4)
    assert float(weighted[0, 0, 0, 0, 0]) == pytest.approx(0.5)
    assert float(weighted[0, 0, 0, 1, 1]) == pytest.approx(0.275)



def test_mscn_input_weights_the_coefficients_and_appends_the_map_centred() -> None:
    torch.manual_seed(0)
    frames, maps = torch.rand(1, 2, 3, 12, 12), torch.rand(1, 2, 12, 12)
    coeffs = local_contrast_normalize(frames)
    channel = build_model("tiny", input_norm="mscn").fusion(frames, maps)
    torch.testing.assert_close(channel[:, :, :3], coeffs)
    torch.testing.assert_close(channel[:, :, 3], 2 * maps - 1)
    weighted = build_model("tiny", fusion="weight", input_norm="mscn").fusion(frames, maps)
    w = saliency_weights(maps, 0.1).unsqueeze(2)
    torch.testing.assert_close(weighted, 0.5 * coeffs + 0.5 * coeffs * w)  # after MSCN, not before

def test_saliency_weights_of_an_empty_map_are_one() -> None:
    w = saliency_weights(torch.zeros(2, 3, 3))
    torch.testing.assert_close(w, torch.ones(2, 3, 3))


def test_temporal_attention_is_a_convex_combination() -> None:
    torch.manual_seed(0)
    pool = TemporalAttentionPool(5)
    x = torch.randn(2, 6, 5)
    w = pool.weights(x)
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    assert (w > 0).all()
    torch.testing.assert_close(pool(x), (w.unsqueeze(-1) * x).sum(1))
