"""Parameters and FLOPs of a method's networks, counted by torch itself.

A method declares its networks through one hook, `Method.cost_parts()`: every network that runs
to score one new video, with the positional inputs of that run (one video, batch 1), e.g.
`{"model": (net, (frames, maps)), "saliency model": (unet, (windows,))}`. FLOPs are counted
with `torch.utils.flop_counter.FlopCounterMode` on one forward pass of each part; the totals add
the parts, and `parts` and the note give each network's share, so a figure a paper reports for
its VQA network alone ("model") can still be compared. `trainable_params` counts the "model"
part (what `fit` trains), or every part when none is called "model". A method without networks
(`{}`) gets n/a; whatever cannot be counted is reported as `None` with the reason, never guessed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

MAIN_PART = "model"
SINGLE_NOTE = "FLOPs per video (batch 1)"


def _fmt(x: float) -> str:
    for unit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= unit:
            return f"{x / unit:.2f}{suffix}"
    return str(int(x))


def _unknown(note: str, params: int | None = None, trainable: int | None = None) -> dict[str, Any]:
    return {"params": params, "trainable_params": trainable, "flops": None, "note": note}


def model_cost(method: Any) -> dict[str, Any]:
    """{"params", "trainable_params", "flops", "note"} (+ "parts" when several networks run)
    for a fitted or freshly built method, from its `cost_parts()`."""
    name = type(method).__name__
    try:
        declared = dict(method.cost_parts())
    except Exception as err:  # counting is a report, never a reason to fail the benchmark
        return _unknown(f"n/a: {name}.cost_parts() failed ({type(err).__name__}: {err})")
    if not declared:
        return _unknown(f"n/a: {name} runs no network (cost_parts() is empty)")
    bad = [label for label, part in declared.items() if not (isinstance(part, tuple) and isinstance(part[0], nn.Module))]
    if bad:
        return _unknown(f"n/a: {name}.cost_parts() entries {bad} are not (nn.Module, inputs) pairs")
    params = {label: sum(p.numel() for p in m.parameters()) for label, (m, _) in declared.items()}
    counted = [m for label, (m, _) in declared.items() if label == MAIN_PART] or [m for m, _ in declared.values()]
    trainable = sum(p.numel() for m in counted for p in m.parameters() if p.requires_grad)
    flops: dict[str, int] = {}
    for label, (module, inputs) in declared.items():
        try:
            flops[label] = count_flops(module, inputs)
        except Exception as err:
            return _unknown(
                f"FLOPs n/a: the forward pass of {label!r} on its cost_parts() inputs failed "
                f"({type(err).__name__}: {err})",
                sum(params.values()),
                trainable,
            )
    cost = {"params": sum(params.values()), "trainable_params": trainable, "flops": sum(flops.values()), "note": SINGLE_NOTE}
    if len(declared) > 1:
        cost["parts"] = {label: {"params": params[label], "flops": flops[label]} for label in declared}
        shares = " + ".join(f"{label} {_fmt(f)}" for label, f in flops.items())
        cost["note"] = f"{SINGLE_NOTE}: {shares}; params include every part, trainable_params the {MAIN_PART}'s"
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
