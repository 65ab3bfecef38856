"""Parameters and FLOPs of a method's model, counted by torch itself.

A method opts in by exposing its network and one input of the shape it scores a video with:
a `model` attribute (an `nn.Module`) and an `example_input()` method returning a tensor, a
tuple of positional arguments, or a dict of keyword arguments. FLOPs are counted with
`torch.utils.flop_counter.FlopCounterMode` on one forward pass of that input (one video,
batch 1), so they are the cost of scoring one video. Whatever cannot be counted is reported
as `None` with the reason, never guessed.

Two optional hooks cover methods whose scoring is more than `model(example_input())`:
- `scoring_module()`: the module whose forward on `example_input()` is one video's scoring pass
  when `model.forward` is the training pass (SSL-VQA's dual model scores through `score`);
- `extra_costs()`: `{label: (module, input)}` for other networks that run when a new video is
  scored (the saliency UNet3D whose maps the VQA network reads). Their FLOPs and parameters are
  added to the totals, and `parts` and the note give each network's share, so a figure that
  a paper reports for the VQA network alone can still be compared.
`trainable_params` stays the method's own `model` (what its `fit` trains).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

MAIN_PART = "model"


def _as_module(obj: Any) -> nn.Module | None:
    model = getattr(obj, "model", None)
    if callable(model) and not isinstance(model, nn.Module):
        try:
            model = model()
        except TypeError:
            return None
    return model if isinstance(model, nn.Module) else None


def _fmt(x: float) -> str:
    for unit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= unit:
            return f"{x / unit:.2f}{suffix}"
    return str(int(x))


def model_cost(method: Any) -> dict[str, Any]:
    """{"params", "trainable_params", "flops", "note"} (+ "parts" with extra networks) for a
    fitted or freshly built method."""
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
    scoring = getattr(method, "scoring_module", None)
    try:
        flops = count_flops(scoring() if scoring is not None else model, example())
    except Exception as err:  # counting is a report, never a reason to fail the benchmark
        return {
            "params": params,
            "trainable_params": trainable,
            "flops": None,
            "note": f"FLOPs n/a: the forward pass on example_input() failed ({type(err).__name__}: {err})",
        }
    cost = {"params": params, "trainable_params": trainable, "flops": flops, "note": "FLOPs per video (batch 1)"}
    extras = getattr(method, "extra_costs", None)
    if extras is None:
        return cost
    try:
        parts = {
            label: {"params": sum(p.numel() for p in m.parameters()), "flops": count_flops(m, x)}
            for label, (m, x) in extras().items()
        }
    except Exception as err:
        cost["note"] += (
            f"; an extra network that runs when scoring could not be counted ({type(err).__name__}: {err}), "
            "so these totals leave it out"
        )
        return cost
    if not parts:
        return cost
    parts = {MAIN_PART: {"params": params, "flops": flops}, **parts}
    cost["params"] = sum(p["params"] for p in parts.values())
    cost["flops"] = sum(p["flops"] for p in parts.values())
    cost["parts"] = parts
    shares = " + ".join(f"{label} {_fmt(p['flops'])}" for label, p in parts.items())
    cost["note"] = f"FLOPs per video (batch 1): {shares}; params include every part, trainable_params the model's"
    return cost


def _rnn_flops(input_shape: Any, weights: Any) -> int:
    """Every weight matrix of a recurrent layer (input, hidden, projection; each layer and
    direction) multiplies one vector per time step and batch item: 2 x steps x its size. A padded
    input is (T, B, I), a packed one (sum of the lengths, I); biases are not products."""
    steps = int(input_shape[0]) * int(input_shape[1]) if len(input_shape) == 3 else int(input_shape[0])
    return 2 * steps * sum(int(w[0]) * int(w[1]) for w in weights if len(w) == 2)


def _recurrent_flops(input_shape: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """aten.lstm / aten.gru: args (hx, params, ...) when padded, (batch_sizes, hx, params, ...) when packed."""
    return _rnn_flops(input_shape, args[1] if len(input_shape) == 3 else args[2])


def _onednn_lstm_layer_flops(
    input_shape: Any, w_ih: Any, w_hh: Any, *args: Any, out_shape: Any = None, **kwargs: Any
) -> int:
    """aten.mkldnn_rnn_layer (oneDNN's LSTM on CPU, one layer and direction per call)."""
    return _rnn_flops(input_shape, [w_ih, w_hh])


def _cudnn_rnn_flops(input_shape: Any, weights: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """aten._cudnn_rnn (an LSTM/GRU on a GPU): all layers' and directions' weights in one list."""
    return _rnn_flops(input_shape, weights)


def _cpu_attention_flops(query: Any, key: Any, value: Any, *args: Any, out_shape: Any = None, **kwargs: Any) -> int:
    """aten._scaled_dot_product_flash_attention_for_cpu: torch's own SDPA count (QK^T and AV)."""
    from torch.utils.flop_counter import sdpa_flop_count

    return sdpa_flop_count(query, key, value)


def _counted_ops() -> dict[Any, Any]:
    """Kernels torch's counter has no formula for, so they would count 0: recurrent layers
    (a fused LSTM, oneDNN's per-layer kernel, cuDNN's RNN) and the CPU flash attention of
    `F.scaled_dot_product_attention` (CLIP's and the transformers' attention products)."""
    aten = torch.ops.aten
    return {
        aten.lstm: _recurrent_flops,
        aten.gru: _recurrent_flops,
        aten.mkldnn_rnn_layer: _onednn_lstm_layer_flops,
        aten._cudnn_rnn: _cudnn_rnn_flops,
        aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention_flops,
    }


def count_flops(model: nn.Module, example: Any) -> int:
    """FLOPs of one forward pass (a multiply-add counts 2, torch's convention).

    Inference fast paths that the counter cannot see into are turned off while counting:
    `nn.MultiheadAttention` and `nn.TransformerEncoderLayer` in eval mode run one fused kernel
    that counts 0, so the slow path (the same maths in linear layers and attention products)
    runs instead; LSTM, GRU and CPU attention kernels get formulas of their own (`_counted_ops`).
    """
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    fastpath = torch.backends.mha.get_fastpath_enabled()
    # Parameters stop requiring grad while counting: the counter's module tracker hooks every
    # tensor input that requires grad, and under no_grad a view of a parameter (register tokens
    # expanded to the batch, fed to a LayerNorm) requires grad yet has no grad_fn, which fails.
    grads = [(p, p.requires_grad) for p in model.parameters()]
    model.eval()
    try:
        for p, _ in grads:
            p.requires_grad_(False)
        torch.backends.mha.set_fastpath_enabled(False)
        with torch.no_grad(), FlopCounterMode(display=False, custom_mapping=_counted_ops()) as counter:
            if isinstance(example, dict):
                model(**example)
            elif isinstance(example, tuple | list):
                model(*example)
            else:
                model(example)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        model.train(was_training)
        for p, flag in grads:
            p.requires_grad_(flag)
    return int(counter.get_total_flops())
