"""`skipped_weight_init` (what `Method.load` builds networks under): no random draws inside,
the `torch.nn.init` functions restored after, even on an error."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vqa_core.method.weight_init import skipped_weight_init


def test_building_inside_draws_nothing_and_loading_gives_the_saved_weights() -> None:
    saved = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LayerNorm(4), nn.Linear(4, 2)).state_dict()
    torch.manual_seed(0)
    before = torch.get_rng_state()
    with skipped_weight_init():
        net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.LayerNorm(4), nn.Linear(4, 2))
    assert torch.equal(torch.get_rng_state(), before)  # no initial weights were drawn
    net.load_state_dict(saved)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in saved.items())


def test_init_functions_are_restored_after_the_block_and_after_an_error() -> None:
    original = nn.init.trunc_normal_
    with pytest.raises(RuntimeError), skipped_weight_init():
        assert nn.init.trunc_normal_ is not original
        raise RuntimeError("boom")
    assert nn.init.trunc_normal_ is original
    torch.manual_seed(0)
    w = nn.init.normal_(torch.zeros(8))
    assert w.abs().sum() > 0  # real draws again
