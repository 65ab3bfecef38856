"""count_flops on layers whose CPU kernels torch's counter cannot see into, against hand counts;
and model_cost's hooks for a scoring pass other than `model(x)` and for extra networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vqa_bench.cost import _cudnn_rnn_flops, count_flops, model_cost


def test_lstm_and_gru_count_every_weight_product():
    # one layer: T*B steps x (4H x I + 4H x H) multiply-adds
    assert count_flops(nn.LSTM(10, 20, batch_first=True), torch.zeros(1, 7, 10)) == 2 * 7 * 80 * (10 + 20)
    # two bidirectional layers: the second reads both directions (2H wide)
    two = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    assert count_flops(two, torch.zeros(7, 3, 10)) == 2 * 21 * (2 * 80 * (10 + 20) + 2 * 80 * (40 + 20))
    packed = nn.utils.rnn.pack_padded_sequence(torch.zeros(7, 3, 10), [7, 5, 2])
    assert count_flops(nn.LSTM(10, 20), (packed,)) == 2 * 14 * 80 * (10 + 20)
    assert count_flops(nn.GRU(10, 20), torch.zeros(7, 3, 10)) == 2 * 21 * 60 * (10 + 20)


def test_cudnn_rnn_formula():
    # input (T, B, I) and the flat weight list of one LSTM layer (w_ih, w_hh, b_ih, b_hh)
    weights = [torch.Size([80, 10]), torch.Size([80, 20]), torch.Size([80]), torch.Size([80])]
    assert _cudnn_rnn_flops(torch.Size([7, 3, 10]), weights) == 2 * 21 * 80 * 30


@pytest.mark.parametrize("need_weights", [True, False])
def test_attention_and_transformer_layers_in_eval_mode(need_weights):
    x = torch.zeros(1, 5, 16)
    projections = 2 * 5 * 16 * 16 * 4  # q, k, v, out
    products = 2 * 2 * 5 * 5 * 16  # QK^T and AV over all heads
    mha = nn.MultiheadAttention(16, 4, batch_first=True)
    assert count_flops(mha, {"query": x, "key": x, "value": x, "need_weights": need_weights}) == projections + products
    layer = nn.TransformerEncoderLayer(16, 4, 32, batch_first=True)
    assert count_flops(layer, x) == projections + products + 2 * 5 * 16 * 32 * 2
    assert torch.backends.mha.get_fastpath_enabled()  # restored


def test_views_of_parameters_and_grad_flags_restored():
    class Tokens(nn.Module):  # register tokens expanded to the batch, then normalised
        def __init__(self) -> None:
            super().__init__()
            self.tokens = nn.Parameter(torch.zeros(1, 4, 8))
            self.norm = nn.LayerNorm(8)
            self.proj = nn.Linear(8, 8)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.proj(self.norm(self.tokens.expand(len(x), -1, -1)))

    m = Tokens()
    m.norm.weight.requires_grad_(False)
    assert count_flops(m, torch.zeros(3, 1)) == 2 * 3 * 4 * 8 * 8
    assert [p.requires_grad for p in m.parameters()] == [True, False, True, True, True]


def test_cost_parts_add_up_and_a_failing_part_is_reported():
    class Method:
        model = nn.Linear(4, 2)  # forward is "training"; scoring runs another module around it
        helper = nn.Linear(6, 3)

        def cost_parts(self):
            scoring = nn.Sequential(self.model, nn.Linear(2, 1))
            return {"model": (scoring, (torch.zeros(1, 4),)), "helper": (self.helper, (torch.zeros(5, 6),))}

    cost = model_cost(Method())
    assert cost["parts"] == {"model": {"params": 13, "flops": 2 * 4 * 2 + 2 * 2}, "helper": {"params": 21, "flops": 2 * 5 * 6 * 3}}
    assert cost["flops"] == 20 + 180 and cost["params"] == 34 and cost["trainable_params"] == 13
    assert "model 20 + helper 180" in cost["note"]

    class Broken(Method):
        def cost_parts(self):
            return {**super().cost_parts(), "helper": (self.helper, (torch.zeros(5, 7),))}

    broken = model_cost(Broken())
    assert broken["flops"] is None and broken["params"] == 34 and "'helper'" in broken["note"]
    assert "failed" in broken["note"] and "parts" not in broken
