"""The authors' released checkpoint layout (FAST-VQA SwinTransformer3D) -> torchvision names."""

from __future__ import annotations

import pytest
import torch

from st_vqrl import build_backbone, fastvqa_to_torchvision_key, load_released_checkpoint
from vqa_core import VqaError, WeightsUnavailableError


def fastvqa_layout(embed=96, depths=(2, 2, 6, 2), heads=(3, 6, 12, 24), window=(8, 7, 7), frag=(1, 1, 1, 0)):
    """Names and shapes of FAST-VQA's `SwinTransformer3D` state dict, written out from its module tree
    (PatchEmbed3D with norm, BasicLayer.blocks[j] = norm1/attn/norm2/mlp.fc1/fc2, PatchMerging
    downsample after stages 1-3, final norm)."""
    table = (2 * window[0] - 1) * (2 * window[1] - 1) * (2 * window[2] - 1)
    n = window[0] * window[1] * window[2]
    out = {
        "patch_embed.proj.weight": (embed, 3, 2, 4, 4),
        "patch_embed.proj.bias": (embed,),
        "patch_embed.norm.weight": (embed,),
        "patch_embed.norm.bias": (embed,),
    }
    for i, (depth, h) in enumerate(zip(depths, heads)):
        dim = embed * 2**i
        for j in range(depth):
            p = f"layers.{i}.blocks.{j}."
            out.update({
                p + "norm1.weight": (dim,), p + "norm1.bias": (dim,),
                p + "attn.relative_position_bias_table": (table, h),
                p + "attn.relative_position_index": (n, n),
                p + "attn.qkv.weight": (3 * dim, dim), p + "attn.qkv.bias": (3 * dim,),
                p + "attn.proj.weight": (dim, dim), p + "attn.proj.bias": (dim,),
                p + "norm2.weight": (dim,), p + "norm2.bias": (dim,),
                p + "mlp.fc1.weight": (4 * dim, dim), p + "mlp.fc1.bias": (4 * dim,),
                p + "mlp.fc2.weight": (dim, 4 * dim), p + "mlp.fc2.bias": (dim,),
            })
            if frag[i]:
                out[p + "attn.fragment_position_bias_table"] = (table, h)
        if i < len(depths) - 1:
            out[f"layers.{i}.downsample.reduction.weight"] = (2 * dim, 4 * dim)
            out[f"layers.{i}.downsample.norm.weight"] = (4 * dim,)
            out[f"layers.{i}.downsample.norm.bias"] = (4 * dim,)
    out["norm.weight"] = (embed * 8,)
    out["norm.bias"] = (embed * 8,)
    return out


def released_state(prefix=""):
    state = {}
    for i, (name, shape) in enumerate(fastvqa_layout().items()):
        if name.endswith("relative_position_index"):
            state[prefix + name] = None  # filled below with the true index
        else:
            state[prefix + name] = torch.full(shape, float(i))
    return state


@pytest.fixture(scope="module")
def full_backbone():
    return build_backbone("full", frag_gate="fastvqa")


def _fill_index(state, backbone, prefix=""):
    index = backbone.features[0][0].attn.relative_position_index
    for k, v in state.items():
        if v is None:
            state[k] = index.clone()
    return state


def test_key_map_examples():
    assert fastvqa_to_torchvision_key("patch_embed.proj.weight") == "patch_embed.proj.weight"
    assert fastvqa_to_torchvision_key("layers.2.blocks.5.attn.fragment_position_bias_table") == (
        "features.4.5.attn.fragment_position_bias_table"
    )
    assert fastvqa_to_torchvision_key("layers.1.blocks.0.mlp.fc2.bias") == "features.2.0.mlp.3.bias"
    assert fastvqa_to_torchvision_key("layers.2.downsample.reduction.weight") == "features.5.reduction.weight"
    assert fastvqa_to_torchvision_key("module.norm.weight") == "norm.weight"
    assert fastvqa_to_torchvision_key("cls_head.fc.weight") is None


@pytest.mark.parametrize("prefix", ["", "module."])
def test_released_layout_loads_every_tensor(full_backbone, tmp_path, prefix):
    state = _fill_index(released_state(prefix), full_backbone)
    path = tmp_path / "shift_niqe_lsvd_model_30.pth"
    torch.save({"model": state, "epoch": 30}, path)
    load_released_checkpoint(path, full_backbone)
    got = full_backbone.state_dict()
    assert torch.equal(got["features.4.3.mlp.3.weight"], state[prefix + "layers.2.blocks.3.mlp.fc2.weight"])
    assert torch.equal(got["features.5.reduction.weight"], state[prefix + "layers.2.downsample.reduction.weight"])
    assert torch.equal(
        got["features.2.1.attn.fragment_position_bias_table"],
        state[prefix + "layers.1.blocks.1.attn.fragment_position_bias_table"],
    )
    assert torch.equal(got["norm.bias"], state[prefix + "norm.bias"])
    # every released tensor landed somewhere distinct
    assert len(got) == len(state)


def test_unmatched_tensors_are_listed(full_backbone):
    state = _fill_index(released_state(), full_backbone)
    state["cls_head.fc.weight"] = torch.zeros(1)
    del state["layers.3.blocks.1.mlp.fc1.bias"]
    state["layers.0.blocks.0.attn.qkv.bias"] = torch.zeros(7)
    state["layers.3.blocks.0.attn.fragment_position_bias_table"] = torch.zeros(2535, 24)
    with pytest.raises(VqaError) as err:
        load_released_checkpoint(state, full_backbone)
    msg = str(err.value)
    assert "cls_head.fc.weight" in msg
    assert "features.6.1.mlp.0.bias" in msg  # missing from the checkpoint
    assert "layers.0.blocks.0.attn.qkv.bias (7,)" in msg
    assert "layers.3.blocks.0.attn.fragment_position_bias_table" in msg


def test_missing_file(tmp_path, full_backbone):
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        load_released_checkpoint(tmp_path / "nope.pth", full_backbone)
