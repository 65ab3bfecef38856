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
    class NoNetwork:
        def cost_parts(self):
            return {}

    class Unfitted:
        def cost_parts(self):
            raise RuntimeError("no model to count; call fit() first")

    class Broken:
        def cost_parts(self):
            return {"model": (nn.Linear(3, 2), (torch.zeros(1, 5),))}  # wrong width: the forward fails

    none = model_cost(NoNetwork())
    assert none["params"] is None and none["flops"] is None and "runs no network" in none["note"]
    unfitted = model_cost(Unfitted())
    assert unfitted["flops"] is None and "call fit()" in unfitted["note"]
    broken = model_cost(Broken())
    assert broken["params"] == 8 and broken["flops"] is None and "failed" in broken["note"]


def test_one_part_is_the_whole_cost():
    class One:
        def cost_parts(self):
            return {"model": (nn.Linear(16, 4), (torch.zeros(1, 16),))}

    cost = model_cost(One())
    assert cost == {"params": 68, "trainable_params": 68, "flops": 2 * 16 * 4, "note": "FLOPs per video (batch 1)"}


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
