"""Learning-rate schedule over the whole run, stepped per optimizer step.

The seeds used CosineAnnealingLR with T_max of 10-50 *epochs* over runs of hundreds of epochs,
so the rate bounced up and down periodically; here one warmup + one cosine spans the run.
"""

from __future__ import annotations

import math

import torch
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["build_scheduler", "lr_factor"]


def lr_factor(step: int, total_steps: int, warmup_steps: int = 0, min_ratio: float = 0.0,
              kind: str = "cosine") -> float:
    """Multiplier of the base LR for optimizer step `step` (0-based) of `total_steps`.

    Linear warmup from 1/warmup to 1 over `warmup_steps`, then cosine from 1 towards
    `min_ratio`, which is reached at `total_steps` (just after the last step, so no step is
    wasted at the floor); "constant" keeps 1 after warmup.
    """
    if warmup_steps > 0 and step < warmup_steps:
        return (step + 1) / warmup_steps
    if kind == "constant":
        return 1.0
    decay_steps = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / decay_steps, 1.0)
    return min_ratio + (1.0 - min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))


def build_scheduler(optimizer: torch.optim.Optimizer, total_steps: int, warmup_steps: int = 0,
                    min_ratio: float = 0.0, kind: str = "cosine") -> LambdaLR:
    """A LambdaLR following `lr_factor`; call `.step()` after every optimizer step."""
    return LambdaLR(optimizer, lambda step: lr_factor(step, total_steps, warmup_steps, min_ratio, kind))
