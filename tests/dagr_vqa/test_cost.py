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
    method.model = method.new_network().eval()
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
    net, inputs = method.cost_parts()["model"]
    assert net is method.model
    frames, maps = inputs
    d = method.config.data
    h, w = method.cost_frame_size  # native-size reading counts at data.cost_size
    assert (h, w) == (tuple(d.cost_size) if d.height is None else (d.height, d.width))
    assert frames.shape == (1, d.num_frames, 3, h, w) and maps.shape == (1, d.num_frames, h, w)
    assert parts["model"]["flops"] == count_flops(method.model, inputs) > 0
    sal = method.saliency_model or method.cost_parts()["saliency model"][0]
    clip = torch.rand(d.num_frames, h, w, 3)
    assert parts["saliency model"]["flops"] == count_flops(_PredictMaps(sal), clip) > 0
    assert cost["flops"] == parts["model"]["flops"] + parts["saliency model"]["flops"]
    assert "saliency model" in cost["note"]


def test_saliency_flops_follow_the_windows():
    def saliency_flops(num_frames: int) -> int:
        return count_flops(*_method(num_frames=num_frames).cost_parts()["saliency model"])

    assert saliency_flops(8) == 2 * saliency_flops(4)  # the tiny UNet3D's clip_len is 4: 1 window, then 2


def test_saliency_off_has_no_extra_part():
    cost = model_cost(_method(enabled=False))
    assert "parts" not in cost and cost["flops"] > 0 and cost["note"] == "FLOPs per video (batch 1)"


def test_an_unfitted_method_counts_its_architecture():
    """FLOPs depend on the architecture only: before fit the untrained network is counted."""
    cfg = preset("dagr", "tiny")
    cost = model_cost(DagrMethod(replace(cfg, model=replace(cfg.model, pretrained=False)), device="cpu"))
    assert cost["flops"] == model_cost(_method(num_frames=cfg.data.num_frames))["flops"] > 0


def test_caveats_name_a_random_trunk():
    cfg = preset("dagr", "tiny")
    assert DagrMethod(cfg, device="cpu").caveats() == ["random-init trunk"]
    frozen = replace(cfg, fit=replace(cfg.fit, freeze_backbone=True))
    assert DagrMethod(frozen, device="cpu").caveats() == ["frozen random trunk"]
    imagenet = replace(cfg, model=replace(cfg.model, backbone="resnet18", pretrained=True))
    assert DagrMethod(imagenet, device="cpu").caveats() == []
