"""Shapes, parameter counts and the seed-bug fixes of the STR / DAGR networks."""

from __future__ import annotations

import math
import urllib.error

import pytest
import torch
import torchvision

from dagr_vqa import build_model, preset
from dagr_vqa.model import SaliencyWeighting, saliency_weights, sinusoidal_encoding
from vqa_core.errors import ConfigError, WeightsUnavailableError


def _count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize(
    ("variant", "expected"),
    [
        ("str", 67_096_385),  # seed_audit.md §1.5: 23,508,032 + 34,640,128 + 8,948,225
        ("dagr", 23_510_000 + 11_030_000 + 6_290_000 + 560_000),  # §2.5 with fusion 3072 -> 2048, ~41.39M
    ],
)
def test_full_parameter_counts_match_the_papers(variant: str, expected: int) -> None:
    model = build_model(variant, "full", pretrained=False)
    assert abs(_count(model) - expected) / expected < 0.01
    assert abs(_count(model.spatial.trunk) - 23_508_032) / 23_508_032 < 0.01


def test_dagr_components_have_the_corrected_widths() -> None:
    model = build_model("dagr", "full")
    # projection 2048->1024 plus two d=1024, 1-head, ff=128 layers, computed by hand:
    layer = (
        (3 * 1024 * 1024 + 3 * 1024)
        + (1024 * 1024 + 1024)
        + (1024 * 128 + 128)
        + (128 * 1024 + 1024)
        + 4 * 1024
    )
    assert _count(model.head.temporal) == 2048 * 1024 + 1024 + 2 * layer
    assert model.head.fusion.in_features == 2048 + 1024
    assert model.head.fusion.out_features == 2048
    widths = [m.out_features for m in model.head.regressor.mlp if isinstance(m, torch.nn.Linear)]
    assert widths == [256, 128, 1]
    assert model.head.temporal.encoder.layers[0].self_attn.num_heads == 1


@pytest.mark.parametrize("variant", ["str", "dagr"])
@pytest.mark.parametrize("num_frames", [3, 9])
def test_forward_returns_one_score_per_clip_for_any_length(variant: str, num_frames: int) -> None:
    torch.manual_seed(0)
    model = build_model(variant, "tiny").eval()
    frames = torch.rand(2, num_frames, 3, 64, 96)
    maps = torch.rand(2, num_frames, 64, 96)
    with torch.no_grad():
        scores = model(frames, maps)
    assert scores.shape == (2,)
    assert torch.isfinite(scores).all()


def test_clips_in_a_batch_do_not_mix() -> None:
    """The seeds' reshape scrambled frames across clips; with permute/flatten each clip stands alone."""
    torch.manual_seed(0)
    model = build_model("dagr", "tiny", backbone="resnet18", pool="mean").eval()  # mean pooling, by hand below
    frames = torch.rand(3, 4, 3, 64, 96)
    maps = torch.rand(3, 4, 64, 96)
    with torch.no_grad():
        together = model(frames, maps)
        alone = torch.stack([model(frames[i : i + 1], maps[i : i + 1])[0] for i in range(3)])
        feats = model.spatial(frames, maps)
        weighted = model.spatial.weighting(frames[1:2, 2:3], maps[1:2, 2:3])[0]
        one_frame = model.spatial.trunk((weighted - model.spatial.mean) / model.spatial.std).mean(
            dim=(-2, -1)
        )
    torch.testing.assert_close(together, alone, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(feats[1, 2], one_frame[0], rtol=1e-4, atol=1e-5)


def test_imagenet_normalisation_reaches_the_trunk() -> None:
    model = build_model("str", "tiny", saliency=False).eval()
    seen = {}

    def grab(module, inputs, output) -> None:
        seen["x"] = inputs[0]

    model.spatial.trunk[0].register_forward_hook(grab)
    frames = torch.full((1, 2, 3, 64, 96), 0.5)
    with torch.no_grad():
        model(frames, None)
    expected = (0.5 - torch.tensor([0.485, 0.456, 0.406])) / torch.tensor([0.229, 0.224, 0.225])
    torch.testing.assert_close(seen["x"][0, :, 10, 10], expected)


def test_saliency_weights_max_remap_by_hand() -> None:
    s = torch.tensor([[[0.0, 0.2], [0.4, 0.8]]])
    w = saliency_weights(s, "max", floor=0.1)
    torch.testing.assert_close(w, torch.tensor([[[0.1, 0.25], [0.5, 1.0]]]))


def test_saliency_weights_seed_remap_by_hand() -> None:
    # 2s-1 = [-1, -0.6, -0.2, 0.6]; / 0.6 -> [-1.67, -1, -0.33, 1]; clamp 0.1
    s = torch.tensor([[[0.0, 0.2], [0.4, 0.8]]])
    w = saliency_weights(s, "seed", floor=0.1)
    torch.testing.assert_close(w, torch.tensor([[[0.1, 0.1], [0.1, 1.0]]]))


def test_empty_map_leaves_frame_unweighted() -> None:
    w = saliency_weights(torch.zeros(2, 3, 4, 4), "max", floor=0.1)
    assert torch.equal(w, torch.ones_like(w))


def test_blend_formula_and_alpha_zero_is_identity() -> None:
    cfg = preset("dagr", "tiny").saliency
    frames = torch.rand(1, 2, 3, 4, 4)
    maps = torch.rand(1, 2, 4, 4)
    cfg.alpha = 0.75
    out = SaliencyWeighting(cfg)(frames, maps)
    w = (maps / maps.flatten(-2).amax(-1)[..., None, None]).clamp_min(0.1).unsqueeze(2)
    torch.testing.assert_close(out, 0.25 * frames + 0.75 * frames * w)
    cfg.alpha = 0.0
    torch.testing.assert_close(SaliencyWeighting(cfg)(frames, maps), frames)


def test_saliency_changes_the_score_and_ablation_ignores_maps() -> None:
    torch.manual_seed(0)
    frames = torch.rand(1, 4, 3, 64, 96)
    on = build_model("dagr", "tiny").eval()
    off = build_model("dagr", "tiny", saliency=False).eval()
    off.load_state_dict(on.state_dict())
    flat, peaked = torch.ones(1, 4, 64, 96), torch.zeros(1, 4, 64, 96)
    peaked[..., 20:40, 30:60] = 1.0
    with torch.no_grad():
        assert not torch.allclose(on(frames, flat), on(frames, peaked))
        torch.testing.assert_close(off(frames, None), off(frames, peaked))
        torch.testing.assert_close(off(frames, None), on(frames, flat))  # w = 1 everywhere is a no-op
    with pytest.raises(ValueError, match="saliency"):
        on(frames, None)


def test_sinusoidal_encoding_by_hand() -> None:
    pe = sinusoidal_encoding(11, 8)
    assert pe.shape == (11, 8)
    pos, i = 10, 3  # pair i uses frequency 10000^(-2i/d)
    freq = 10000 ** (-2 * i / 8)
    assert pe[pos, 2 * i].item() == pytest.approx(math.sin(pos * freq), abs=1e-5)
    assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(pos * freq), abs=1e-5)
    assert pe[0, 1].item() == pytest.approx(1.0)


def test_offline_pretrained_raises_a_helpful_error(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline)
    with pytest.raises(WeightsUnavailableError, match=r"ResNet18_Weights\.IMAGENET1K_V1.*weights_path"):
        build_model("dagr", "tiny", pretrained=True, backbone="resnet18")


def test_weights_path_loads_a_local_state_dict(tmp_path) -> None:
    torch.manual_seed(3)
    reference = torchvision.models.resnet18(weights=None)
    path = tmp_path / "resnet18-local.pth"
    torch.save(reference.state_dict(), path)
    model = build_model("dagr", "tiny", pretrained=True, backbone="resnet18", weights_path=str(path))
    torch.testing.assert_close(model.spatial.trunk[0].weight, reference.conv1.weight)
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        build_model("dagr", "tiny", pretrained=True, backbone="resnet18", weights_path=str(tmp_path / "missing.pth"))


def test_bad_config_values_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="variant"):
        preset("vgg", "tiny")
    with pytest.raises(ConfigError, match="backbone"):
        build_model("dagr", "tiny", backbone="resnet7")
