"""Parameters and FLOPs of a method's model, counted by torch itself.

A method opts in by exposing its network and one input of the shape it scores a video with:
a `model` attribute (an `nn.Module`) and an `example_input()` method returning a tensor, a
tuple of positional arguments, or a dict of keyword arguments. FLOPs are counted with
`torch.utils.flop_counter.FlopCounterMode` on one forward pass of that input (one video,
batch 1), so they are the cost of scoring one video. Whatever cannot be counted is reported
as `None` with the reason, never guessed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def _as_module(obj: Any) -> nn.Module | None:
    model = getattr(obj, "model", None)
    if callable(model) and not isinstance(model, nn.Module):
        try:
            model = model()
        except TypeError:
            return None
    return model if isinstance(model, nn.Module) else None


def model_cost(method: Any) -> dict[str, Any]:
    """{"params", "trainable_params", "flops", "note"} for a fitted or freshly built method."""
    model = _as_module(method)
    if model is None:
        return {
            "params": None,
            "trainable_params": None,
            "flops": None,
            "note": f"n/a: {type(method).__name__} exposes no `model` nn.Module",
        }
    params = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    example = getattr(method, "example_input", None)
    if example is None:
        return {
            "params": params,
            "trainable_params": trainable,
            "flops": None,
            "note": f"FLOPs n/a: {type(method).__name__} exposes no example_input()",
        }
    try:
        flops = count_flops(model, example())
    except Exception as err:  # counting is a report, never a reason to fail the benchmark
        return {
            "params": params,
            "trainable_params": trainable,
            "flops": None,
            "note": f"FLOPs n/a: the forward pass on example_input() failed ({type(err).__name__}: {err})",
        }
    return {
        "params": params,
        "trainable_params": trainable,
        "flops": flops,
        "note": "FLOPs per video (batch 1)",
    }


def count_flops(model: nn.Module, example: Any) -> int:
    """FLOPs of one forward pass (a multiply-add counts 2, torch's convention)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            if isinstance(example, dict):
                model(**example)
            elif isinstance(example, tuple | list):
                model(*example)
            else:
                model(example)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())
