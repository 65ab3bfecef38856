"""Numeric precision of a training run and of a method's scoring forward.

One place decides it, from the config and the device, so the loop only says
`with state.precision.autocast():` and `state.scaler.scale(loss)`, and `score_dataset` /
`predict_dataset` only say `with precision.autocast():` around the forward.
`TrainConfig.precision` picks the mode:

- `fp32`: no autocast, no scaling;
- `bf16`: bfloat16 autocast on CPU and CUDA. bfloat16 has float32's exponent range, so small
  gradients do not underflow and no `GradScaler` is needed;
- `fp16` (`amp: true` is its old spelling): float16 autocast with a gradient scaler, CUDA only
  (elsewhere the run stays in float32 and says so). Scoring keeps float32 under fp16
  (`for_scoring`): fp16 was a training speed option and its runs were always scored in fp32.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import torch

from vqa_core.errors import ConfigError

__all__ = ["Precision", "with_precision"]

#: devices whose autocast runs bfloat16 (torch supports both; others fall back to float32)
BF16_DEVICES = ("cpu", "cuda")


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
        """The training precision of a `TrainConfig` on `device`."""
        device = torch.device(device)
        mode = _mode(config)
        if mode == "fp16" and device.type == "cuda":
            return cls(device.type, torch.float16, scaled=True)
        if mode == "fp16":
            return cls(
                device.type,
                fallback=f"precision fp16 (amp) requested but device is {device}; training in float32",
            )
        if mode == "bf16" and device.type in BF16_DEVICES:
            return cls(device.type, torch.bfloat16)
        if mode == "bf16":
            return cls(
                device.type, fallback=f"precision bf16 requested but device is {device}; running in float32"
            )
        return cls(device.type)

    @classmethod
    def for_scoring(cls, config: Any, device: torch.device | str) -> Precision:
        """The precision of a method's scoring forward: bf16 when `config` (its TrainConfig)
        says bf16, else float32 (fp16 / amp configs score in float32, as they always did)."""
        device = torch.device(device)
        if _mode(config) == "bf16":
            return cls.from_config(config, device)
        return cls(device.type)

    @property
    def enabled(self) -> bool:
        return self.dtype is not None

    @property
    def name(self) -> str:
        """`fp32`, `bf16` or `fp16`: the mode actually used."""
        return {torch.bfloat16: "bf16", torch.float16: "fp16"}.get(self.dtype, "fp32")  # type: ignore[arg-type]

    def autocast(self) -> torch.autocast:
        """The autocast context of the forward pass and loss (a disabled one in float32)."""
        return torch.autocast(
            device_type=self.device_type, dtype=self.dtype or torch.float16, enabled=self.enabled
        )

    def grad_scaler(self) -> torch.amp.GradScaler:
        """A scaler that scales only when this precision needs it (its state is saved in last.pt)."""
        return torch.amp.GradScaler(self.device_type, enabled=self.scaled)


def _mode(config: Any) -> str:
    """The precision a TrainConfig asks for (a config object without `precision`: its `amp`)."""
    mode = getattr(config, "precision", "fp32")
    if getattr(config, "amp", False) and mode == "fp32":
        return "fp16"
    return mode


def with_precision(config: Any, mode: str) -> Any:
    """A copy of a method's `config` whose every `TrainConfig` (wherever it is nested: `trainer`,
    `pretrain.trainer`, ...) has `precision=mode` (and `amp` off, its old fp16 spelling).

    What `vqa score --precision` applies to a checkpoint's stored config: scoring reads the
    precision from the method's own TrainConfig, wherever that method keeps it, so setting all
    of them needs no method to say where its one lives.
    """
    from vqa_core.train.train_config import TrainConfig

    if mode not in ("fp32", "fp16", "bf16"):
        raise ConfigError(f"precision must be fp32, fp16 or bf16, got {mode!r}")
    if isinstance(config, TrainConfig):
        return dataclasses.replace(config, amp=False, precision=mode)
    if not dataclasses.is_dataclass(config) or isinstance(config, type):
        return config
    changes = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        new = with_precision(value, mode)
        if new is not value:
            changes[f.name] = new
    return dataclasses.replace(config, **changes) if changes else config
