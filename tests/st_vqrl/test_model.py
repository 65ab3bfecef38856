"""Backbone shapes and sizes, the fragment-gated bias, the heads, Kinetics weights handling."""

from __future__ import annotations

import itertools

import pytest
import torch
from torchvision.models.video import swin3d_t

from st_vqrl import FragmentBiasAttention, ProjectionHead, VQAHead, build_backbone, count_parameters
from vqa_core import WeightsUnavailableError


def test_full_size_matches_the_audit():
    # meta tensors: shapes and counts without allocating or initialising 28M weights
    with torch.device("meta"):
        model = build_backbone("full", pretrained=False, frag_bias=True)
        plain = build_backbone("full", frag_bias=False)
        reference = sum(p.numel() for p in swin3d_t().parameters()) - (768 * 400 + 400)
    # torchvision's swin3d_t without its 768->400 classifier, plus one extra (15*13*13, heads)
    # table per block of stages 1-3 (2, 2 and 6 blocks with 3, 6 and 12 heads).
    tables = 15 * 13 * 13 * (2 * 3 + 2 * 6 + 6 * 12)
    assert count_parameters(model) == reference + tables
    assert round(count_parameters(model) / 1e6, 2) == 28.08  # seed_audit §4.1
    assert count_parameters(VQAHead(768)) == 49_281  # seed_audit §4.1
    assert count_parameters(plain) == reference


@pytest.mark.parametrize(("frames", "tokens_t"), [(32, 16), (64, 32)])
def test_full_tokens_shape(frames, tokens_t):
    with torch.device("meta"):
        out = build_backbone("full")(torch.empty(1, 3, frames, 224, 224))
    assert out.shape == (1, 768, tokens_t, 7, 7)


@pytest.mark.parametrize(("size", "channels"), [("tiny", 128), ("small", 256)])
def test_small_sizes_keep_the_family(size, channels):
    model = build_backbone(size).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 4, 56, 56))
    assert out.shape[:3] == (2, channels, 2)
    assert model.out_channels == channels
    # stages 1-3 carry fragment tables, stage 4 does not
    attn = [type(b.attn) for b in model.features[0]] + [type(b.attn) for b in model.features[6]]
    assert attn[0] is FragmentBiasAttention and attn[-1] is not FragmentBiasAttention


def test_fresh_fragment_table_computes_what_torchvision_computes():
    torch.manual_seed(0)
    plain = build_backbone("tiny", frag_bias=False).eval()
    torch.manual_seed(0)
    gated = build_backbone("tiny", frag_bias=True).eval()
    x = torch.randn(2, 3, 4, 56, 56)
    with torch.no_grad():
        assert torch.equal(plain(x), gated(x))
        for block in gated.features[0]:
            block.attn.fragment_position_bias_table.add_(1.0)
        assert not torch.allclose(plain(x), gated(x))


def test_each_clip_is_attended_independently():
    model = build_backbone("tiny").eval()
    with torch.no_grad():
        for block in model.features[0]:
            block.attn.fragment_position_bias_table.normal_()
        x = torch.randn(3, 3, 4, 56, 56)
        together = model(x)
        alone = torch.cat([model(x[i : i + 1]) for i in range(3)])
    torch.testing.assert_close(together, alone, rtol=1e-5, atol=1e-5)


def _expected_gate(size, fragments, window, shift, mode):
    """Hand-made gate: loop over windows and token pairs, fragment = floor(coord * F / size)."""
    t, h, w = size
    coords = {}
    for d, y, x in itertools.product(range(t), range(h), range(w)):
        sy, sx = (y + shift[1]) % h, (x + shift[2]) % w  # torch.roll by -shift (time: no fragments)
        coords[(d, y, x)] = (sy * fragments[0] // h, sx * fragments[1] // w)
    windows = []
    for wd, wy, wx in itertools.product(range(t // window[0]), range(h // window[1]), range(w // window[2])):
        tokens = [
            coords[(wd * window[0] + a, wy * window[1] + b, wx * window[2] + c)]
            for a, b, c in itertools.product(range(window[0]), range(window[1]), range(window[2]))
        ]
        rows = []
        for fa in tokens:
            row = []
            for fb in tokens:
                dist = abs(fa[0] - fb[0]) + abs(fa[1] - fb[1])
                row.append(float(dist > 0) if mode == "same_fragment" else float(dist))
            rows.append(row)
        windows.append(rows)
    return torch.tensor(windows).unsqueeze(1)


@pytest.mark.parametrize("mode", ["same_fragment", "fastvqa"])
@pytest.mark.parametrize("shift", [(0, 0, 0), (1, 2, 2)])
def test_fragment_gate_by_hand(mode, shift):
    attn = FragmentBiasAttention(8, [2, 4, 4], list(shift), 2, fragments=(4, 4), gate=mode)
    gate = attn.fragment_gate((2, 8, 8), [2, 4, 4], list(shift), torch.device("cpu"))
    assert torch.equal(gate, _expected_gate((2, 8, 8), (4, 4), (2, 4, 4), shift, mode))


def test_heads():
    tokens = torch.randn(2, 32, 2, 3, 3)
    head = VQAHead(32).eval()
    with torch.no_grad():
        assert torch.allclose(head(tokens), head.quality_map(tokens).mean(dim=(1, 2, 3, 4)))
    assert ProjectionHead(32, 64)(tokens).shape == (2, 18, 64)
    assert (ProjectionHead(32, 64)(tokens) >= 0).all()


def test_kinetics_weights_offline_error_names_the_weight(monkeypatch):
    from torchvision.models.video import Swin3D_T_Weights

    def offline(*args, **kwargs):
        raise OSError("no network")

    monkeypatch.setattr(type(Swin3D_T_Weights.KINETICS400_V1), "get_state_dict", offline)
    with pytest.raises(WeightsUnavailableError, match=r"KINETICS400_V1.*weights_path"):
        build_backbone("full", pretrained=True)


def test_kinetics_weights_from_a_local_file(tmp_path):
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in swin3d_t().state_dict().items()}
    # distinct constant tensors: cheap, and a wrong mapping cannot go unnoticed
    state = {k: torch.full(shape, float(i)) for i, (k, shape) in enumerate(shapes.items())}
    path = tmp_path / "swin3d_t-7615ae03.pth"
    torch.save(state, path)
    model = build_backbone("full", pretrained=True, weights_path=path)
    block = model.features[2][1].attn
    assert torch.equal(block.qkv.weight, state["features.2.1.attn.qkv.weight"])
    # the fragment table starts as the pretrained ordinary table
    assert torch.equal(block.fragment_position_bias_table, state["features.2.1.attn.relative_position_bias_table"])
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        build_backbone("full", pretrained=True, weights_path=tmp_path / "missing.pth")
