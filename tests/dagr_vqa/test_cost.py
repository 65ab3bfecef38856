"""DAGR/STR-VQA's cost for the benchmark: the VQA network plus the saliency UNet3D that makes its maps."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from dagr_vqa.config import preset
from dagr_vqa.method import DagrMethod, StrMethod
from saliency_core import predict_maps
from vqa_bench.cost import count_flops, model_cost


def _method(cls=DagrMethod, num_frames: int = 4, **saliency):
    cfg = preset(cls.name, "tiny")
    cfg = replace(cfg, data=replace(cfg.data, num_frames=num_frames), saliency=replace(cfg.saliency, **saliency))
    cfg = replace(cfg, model=replace(cfg.model, pretrained=False))
    method = cls(cfg, device="cpu")
    torch.manual_seed(0)
    method.model = method._new_model().eval()
    return method


class _PredictMaps(torch.nn.Module):
    """saliency_core.predict_maps as a forward: what scoring a new video runs before the network."""

    def __init__(self, sal: torch.nn.Module) -> None:
        super().__init__()
        self.sal = sal

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return predict_maps(self.sal, clip)


@pytest.mark.parametrize("cls", [DagrMethod, StrMethod])
def test_cost_covers_the_network_and_the_saliency_model(cls):
    method = _method(cls, num_frames=6)
    cost = model_cost(method)
    parts = cost["parts"]
    assert set(parts) == {"model", "saliency model"}
    assert parts["model"]["flops"] == count_flops(method.model, method.example_input()) > 0
    d = method.config.data
    sal = method.saliency_model or method.extra_costs()["saliency model"][0]
    clip = torch.rand(d.num_frames, d.height, d.width, 3)
    assert parts["saliency model"]["flops"] == count_flops(_PredictMaps(sal), clip) > 0
    assert cost["flops"] == parts["model"]["flops"] + parts["saliency model"]["flops"]
    assert "saliency model" in cost["note"]


def test_saliency_flops_follow_the_windows():
    def saliency_flops(num_frames: int) -> int:
        return count_flops(*_method(num_frames=num_frames).extra_costs()["saliency model"])

    assert saliency_flops(8) == 2 * saliency_flops(4)  # the tiny UNet3D's clip_len is 4: 1 window, then 2


def test_saliency_off_has_no_extra_part():
    cost = model_cost(_method(enabled=False))
    assert "parts" not in cost and cost["flops"] > 0 and cost["note"] == "FLOPs per video (batch 1)"
