"""Parameters and FLOPs against hand-computed counts."""

from __future__ import annotations

import torch
from torch import nn

from vqa_bench.cost import count_flops, model_cost


def test_conv_and_linear_flops_match_hand_counts():
    # Conv2d 3->8, 3x3, no padding, on 10x10: 8x8 outputs x 8 channels x 27 MACs x 2
    conv = nn.Conv2d(3, 8, 3)
    assert count_flops(conv, torch.zeros(1, 3, 10, 10)) == 2 * 27 * 8 * 8 * 8
    two = nn.Sequential(nn.Linear(16, 4), nn.ReLU(), nn.Linear(4, 1))
    assert count_flops(two, (torch.zeros(1, 16),)) == 2 * 16 * 4 + 2 * 4 * 1


def test_model_cost_reports_why_when_it_cannot_count():
    class NoModel:
        pass

    class NoExample:
        model = nn.Linear(3, 2)

    class Broken:
        model = nn.Linear(3, 2)

        def example_input(self):
            return torch.zeros(1, 5)  # wrong width: the forward pass fails

    assert model_cost(NoModel())["params"] is None and "exposes no `model`" in model_cost(NoModel())["note"]
    no_ex = model_cost(NoExample())
    assert no_ex["params"] == 8 and no_ex["flops"] is None and "example_input" in no_ex["note"]
    broken = model_cost(Broken())
    assert broken["params"] == 8 and broken["flops"] is None and "failed" in broken["note"]


def test_kwargs_input_and_training_mode_restored():
    class Two(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(2, 2)

        def forward(self, x, y=None):
            return self.a(x) + (0 if y is None else y)

    m = Two().train()
    assert count_flops(m, {"x": torch.zeros(3, 2), "y": torch.zeros(3, 2)}) == 2 * 3 * 2 * 2
    assert m.training
