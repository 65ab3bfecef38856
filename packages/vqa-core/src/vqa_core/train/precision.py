"""Numeric precision of a training run: where autocast applies and whether losses are scaled.

One place decides it, from the config and the device, so the loop only says
`with state.precision.autocast():` and `state.scaler.scale(loss)`. Today the only option is
`TrainConfig.amp`: float16 autocast with a gradient scaler, on CUDA only (elsewhere the run
stays in float32 and says so). Another mode (bfloat16 autocast, which needs no scaler) is a
new branch in `Precision.from_config`, nothing else.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

__all__ = ["Precision"]


@dataclass(frozen=True)
class Precision:
    """`dtype` is the autocast dtype (None: plain float32); `scaled` says whether the loss goes
    through a `GradScaler` (needed for float16, whose small gradients underflow)."""

    device_type: str
    dtype: torch.dtype | None = None
    scaled: bool = False
    #: why a requested mode was not used (e.g. amp on a CPU), for the run's log; "" if none
    fallback: str = ""

    @classmethod
    def from_config(cls, config: Any, device: torch.device) -> Precision:
        if config.amp and device.type == "cuda":
            return cls(device.type, torch.float16, scaled=True)
        if config.amp:
            return cls(device.type, fallback=f"amp requested but device is {device}; training in float32")
        return cls(device.type)

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    def autocast(self) -> torch.autocast:
        """The autocast context of the forward pass and loss (a no-op in float32)."""
        return torch.autocast(device_type=self.device_type, dtype=self.dtype or torch.float16, enabled=self.enabled)

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A scaler that scales only when this precision needs it (its state is saved in last.pt)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.scaled)
