"""SC-VQA's cost for the benchmark: the VQA network against a hand count, plus the saliency UNet3D."""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

import pytest
import torch

from sc_vqa.config import preset
from sc_vqa.method import ScMethod
from vqa_bench.cost import count_flops, model_cost


def _method(num_frames: int = 4, **saliency) -> ScMethod:
    cfg = preset("tiny")
    cfg = replace(cfg, data=replace(cfg.data, num_frames=num_frames), saliency=replace(cfg.saliency, **saliency))
    method = ScMethod(cfg, device="cpu")
    torch.manual_seed(0)
    method.model = method.new_network().eval()
    return method


def _hand_count(method: ScMethod) -> int:
    """FLOPs of ScVQA on one clip, written out layer by layer (a multiply-add is 2)."""
    cfg = method.config
    m, d = cfg.model, cfg.data
    h, w = method.cost_frame_size  # native-size reading counts at data.cost_size
    t, hw = d.num_frames, h * w
    c_in = 4 if cfg.saliency.enabled and cfg.saliency.fusion == "channel" else 3
    feat = m.conv_channels * m.pool_size**2
    flops = 2 * c_in * 9 * m.conv_channels * hw * t  # 3x3 conv, padding 1, every frame
    flops += 2 * t * 4 * m.hidden * (feat + m.hidden)  # LSTM: input and hidden products per step
    flops += 2 * t * m.hidden * 2  # attention scores (Linear(h, 1)) and the weighted sum
    flops += 2 * m.hidden * m.embed_dim
    widths = [m.embed_dim, *m.regressor_hidden, 1]
    flops += sum(2 * a * b for a, b in pairwise(widths))
    return flops


def test_model_cost_counts_the_network_and_the_saliency_model():
    method = _method()
    cost = model_cost(method)
    assert isinstance(cost["flops"], int) and cost["flops"] > 0
    parts = cost["parts"]
    assert parts["model"]["flops"] == _hand_count(method)
    assert parts["model"]["params"] == sum(p.numel() for p in method.model.parameters())
    assert parts["saliency model"]["flops"] > 0
    assert cost["flops"] == parts["model"]["flops"] + parts["saliency model"]["flops"]
    assert cost["params"] == parts["model"]["params"] + parts["saliency model"]["params"]
    assert "saliency model" in cost["note"] and "per video" in cost["note"]


def test_doubling_the_frames_doubles_the_per_frame_work():
    short, long = _method(num_frames=4), _method(num_frames=8)
    cost_short, cost_long = model_cost(short), model_cost(long)
    assert cost_long["parts"]["model"]["flops"] == _hand_count(long)
    # the tiny UNet3D runs on 4-frame windows: 4 frames -> 1 window, 8 -> 2
    assert short.saliency_stage_config().model.clip_len == 4
    sal_short = cost_short["parts"]["saliency model"]["flops"]
    assert cost_long["parts"]["saliency model"]["flops"] == 2 * sal_short
    # 5 frames pad to 2 windows, as predict_maps pads the last one
    assert count_flops(*_method(num_frames=5).cost_parts()["saliency model"]) == 2 * sal_short


def test_saliency_model_counted_is_what_predict_maps_runs():
    from saliency_core import predict_maps

    method = _method(num_frames=6)
    sal = method._saliency_architecture().eval()
    method.use_saliency_model(sal)
    counted = model_cost(method)["parts"]["saliency model"]["flops"]
    clip = torch.rand(6, *method.cost_frame_size, 3)

    class PredictMaps(torch.nn.Module):  # predict_maps itself, as the counted forward
        def __init__(self) -> None:
            super().__init__()
            self.sal = sal

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return predict_maps(self.sal, x)

    # the same windows, batched 4 at a time there (bilinear resizes and sigmoid count 0 in torch)
    assert counted == count_flops(PredictMaps(), clip) > 0


@pytest.mark.parametrize("saliency", [{"enabled": False}, {"source": "folder", "maps_dir": "."}])
def test_no_saliency_network_no_extra_part(saliency):
    method = _method(**saliency)
    cost = model_cost(method)
    assert "parts" not in cost and cost["note"] == "FLOPs per video (batch 1)"
    assert cost["flops"] == _hand_count(method)
