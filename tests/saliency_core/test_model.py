"""SaliencyUNet3D: shapes for odd sizes, the seed's parameter counts, register behaviour, layout."""

import pytest
import torch

from saliency_core.config import model_preset
from saliency_core.layout import channels_first_to_frames, frames_to_channels_first
from saliency_core.model import SaliencyUNet3D, build_model


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def full_params(**kwargs) -> int:
    with torch.device("meta"):  # shapes only: no 96M weights to allocate and initialise
        return n_params(build_model("full", **kwargs))


def test_full_model_matches_seed_parameter_counts():
    # seed_audit §1.1, computed by hand from the seed code: 96,235,905 / 96,243,333 / 96,250,761
    assert full_params(registers="none") == 96_235_905
    assert full_params(registers="concat", num_registers=4) == 96_243_333
    assert full_params(registers="concat", num_registers=8) == 96_250_761
    attention = full_params(registers="attention", num_registers=4)
    assert abs(attention - 96_235_905) / 96_235_905 < 0.01


@pytest.mark.parametrize("registers", ["none", "concat", "attention"])
@pytest.mark.parametrize("shape", [(1, 3, 1, 17, 23), (2, 3, 5, 33, 47), (1, 3, 4, 32, 48), (1, 3, 7, 9, 9)])
def test_any_clip_size_gives_logits_of_the_same_size(registers, shape):
    torch.manual_seed(0)
    model = build_model("tiny", registers=registers).eval()
    with torch.no_grad():
        out = model(torch.rand(*shape))
    assert out.shape == (shape[0], 1, *shape[2:])
    assert torch.isfinite(out).all()


def test_tiny_model_is_small():
    assert n_params(build_model("tiny", registers="none")) < 100_000


def two_scenes() -> tuple[torch.Tensor, torch.Tensor]:
    """Two clips on the same background with the bright object in opposite corners."""
    g = torch.Generator().manual_seed(1)
    background = torch.rand(1, 3, 4, 32, 48, generator=g) * 0.2
    a, b = background.clone(), background.clone()
    a[..., 2:14, 2:18] = 1.0
    b[..., 18:30, 28:46] = 1.0
    return a, b


def calibrated(model: torch.nn.Module, batch: torch.Tensor) -> torch.nn.Module:
    """Give BatchNorm the running statistics of real-looking input, as training would, then eval."""
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.momentum = None  # cumulative average
    with torch.no_grad():
        for _ in range(3):
            model(batch)
    return model.eval()


def test_attention_tokens_depend_on_the_input():
    torch.manual_seed(0)
    a, b = two_scenes()
    model = calibrated(build_model("tiny", registers="attention", num_registers=4), torch.cat([a, b]))
    with torch.no_grad():
        _, ta = model(a, return_tokens=True)
        _, tb = model(b, return_tokens=True)
        _, tab = model(torch.cat([a, b]), return_tokens=True)
    assert ta.shape == (1, 4, model.config.token_dim)
    assert (ta - tb).abs().max() > 0.05 * ta.abs().mean()
    # per-video: batching two clips gives each its own tokens
    torch.testing.assert_close(tab[0], ta[0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(tab[1], tb[0], atol=1e-5, rtol=1e-4)


def test_concat_tokens_are_the_seed_constant():
    torch.manual_seed(0)
    a, b = two_scenes()
    model = calibrated(build_model("tiny", registers="concat", num_registers=4), torch.cat([a, b]))
    with torch.no_grad():
        _, ta = model(a, return_tokens=True)
        _, tb = model(b, return_tokens=True)
    assert ta.shape == (1, 4, 4)
    torch.testing.assert_close(ta, tb)
    assert model.enc1[0].in_channels == 3 + 4


def test_concat_token_channels_are_piecewise_constant_in_time():
    model = build_model("tiny", registers="concat", num_registers=4)
    with torch.no_grad():
        x, _ = model.concat_registers(torch.zeros(1, 3, 8, 5, 6))
    tok = x[0, :4]  # (N, T, H, W)
    assert torch.equal(tok, tok[:, :, :1, :1].expand_as(tok))  # spatially constant
    for t in range(8):  # frame t uses slot floor(t * N / T)
        slot = t * 4 // 8
        torch.testing.assert_close(tok[:, t, 0, 0], tok[:, 2 * slot, 0, 0])


def test_attention_registers_start_as_identity_on_features():
    torch.manual_seed(0)
    model = build_model("tiny", registers="attention")
    feat = torch.randn(2, model.config.channels[-1], 2, 3, 4)
    out, _ = model.attention_registers(feat)
    torch.testing.assert_close(out, feat)


def test_register_modes_are_validated():
    with pytest.raises(ValueError, match="registers"):
        SaliencyUNet3D(model_preset("tiny").__class__(registers="tokens"))


def test_wrong_layout_is_rejected_with_a_hint():
    model = build_model("tiny", registers="none")
    with pytest.raises(ValueError, match="frames_to_channels_first"):
        model(torch.rand(1, 4, 3, 32, 48))


def test_permute_fixes_the_seed_reshape_bug():
    b, t, c, h, w = 2, 5, 3, 4, 6
    x = torch.arange(b * t * c * h * w, dtype=torch.float32).reshape(b, t, c, h, w)
    right = frames_to_channels_first(x)
    wrong = x.reshape(b, c, t, h, w)
    assert right.shape == wrong.shape == (b, c, t, h, w)
    for ti in range(t):
        for ci in range(c):
            assert torch.equal(right[:, ci, ti], x[:, ti, ci])
    assert not torch.equal(right, wrong)
    # the reshape puts frame 0's channel 1 at (channel 0, time 1): time and colour are scrambled
    assert torch.equal(wrong[:, 0, 1], x[:, 0, 1])
    assert torch.equal(channels_first_to_frames(right), x)


def test_partial_yaml_starts_from_a_preset(tmp_path):
    from saliency_core.config import LossConfig, SaliencyConfig
    from vqa_core.config import load_config

    presets = SaliencyConfig.PRESETS
    path = tmp_path / "c.yaml"
    path.write_text("preset: small\nmodel: {registers: concat, num_registers: 8}\nloss: literature\n")
    config = load_config(SaliencyConfig, path)
    assert config.model.registers == "concat" and config.model.num_registers == 8
    assert config.model.channels == presets["small"].model.channels
    assert config.loss == LossConfig.PRESETS["literature"]
    assert config.trainer == presets["small"].trainer
    from vqa_core.errors import ConfigError

    path.write_text("preset: small\nmodel: {registerz: none}\n")
    with pytest.raises(ConfigError, match="registerz"):
        load_config(SaliencyConfig, path)
