"""TrainConfig: every knob of the one training loop, as a YAML-loadable dataclass."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from vqa_core.errors import ConfigError

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Options of `vqa_core.train.Trainer`.

    `batch_size` is per process (under torchrun the global batch is batch_size x world size x
    grad_accum). The learning-rate schedule spans the whole run and is stepped once per
    optimizer step: linear warmup, then cosine from `lr` to `lr * min_lr_ratio` (the seeds'
    per-epoch cosine restarted every T_max epochs, a bug). `warmup` is a step count (int) or a
    fraction of the run (float in [0, 1)). `max_steps` caps the run (smoke tests): the
    schedule is then laid over `max_steps`. `checkpoint_every` (optimizer steps, 0 = at epoch
    ends only) bounds the work lost to an interrupt inside long epochs. The collate function
    is not a config value (it is code): a `TrainTask` sets its `collate_fn` attribute.
    `patience` stops the run after that many validations without a new best (None: never).
    `find_unused_parameters` is passed to DDP for models with branches a batch may skip.
    `precision` is the numeric precision of training and of the method's scoring forward:
    `fp32`, `bf16` (bfloat16 autocast, no loss scaling; CPU and CUDA) or `fp16` (float16
    autocast with a gradient scaler, CUDA only; training only, scoring stays fp32). `amp: true`
    is the old spelling of `fp16` and still loads (it resolves `precision` to `fp16`).
    """

    epochs: int = 10
    batch_size: int = 8
    lr: float = 1e-4
    weight_decay: float = 0.0
    optimizer: Literal["adamw", "adam", "sgd"] = "adamw"
    momentum: float = 0.9
    betas: tuple[float, float] = (0.9, 0.999)
    scheduler: Literal["cosine", "constant"] = "cosine"
    warmup: int | float = 0
    min_lr_ratio: float = 0.0
    grad_accum: int = 1
    clip_grad_norm: float | None = None
    num_workers: int = 0
    seed: int = 0
    device: str = "auto"
    val_every: int = 1
    val_batch_size: int | None = None
    select_metric: str = "srcc"
    mode: Literal["max", "min"] = "max"
    patience: int | None = None
    max_steps: int | None = None
    checkpoint_every: int = 0
    amp: bool = False
    precision: Literal["fp32", "fp16", "bf16"] = "fp32"
    drop_last: bool = False
    find_unused_parameters: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        if self.precision not in ("fp32", "fp16", "bf16"):
            raise ConfigError(f"TrainConfig.precision must be fp32, fp16 or bf16, got {self.precision!r}")
        if self.amp and self.precision == "bf16":
            raise ConfigError(
                "TrainConfig.amp=true (float16 autocast) conflicts with TrainConfig.precision=bf16; "
                "drop amp (it is the old spelling of precision=fp16) and keep precision=bf16"
            )
        if self.amp:
            self.precision = "fp16"  # the old spelling of fp16
        positive = {"epochs": self.epochs, "batch_size": self.batch_size, "grad_accum": self.grad_accum,
                    "val_every": self.val_every}
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"TrainConfig.{key} must be >= 1, got {value}")
        if self.lr <= 0:
            raise ConfigError(f"TrainConfig.lr must be > 0, got {self.lr}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"TrainConfig.max_steps must be >= 1 or null, got {self.max_steps}")
        if isinstance(self.warmup, float) and not self.warmup.is_integer() and not 0 <= self.warmup < 1:
            raise ConfigError(f"TrainConfig.warmup as a fraction must be in [0, 1), got {self.warmup}")
        if self.warmup < 0:
            raise ConfigError(f"TrainConfig.warmup must be >= 0, got {self.warmup}")
        if not 0 <= self.min_lr_ratio <= 1:
            raise ConfigError(f"TrainConfig.min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")
        if self.checkpoint_every < 0 or self.num_workers < 0:
            raise ConfigError("TrainConfig.checkpoint_every and num_workers must be >= 0")
        if self.patience is not None and self.patience < 1:
            raise ConfigError(f"TrainConfig.patience must be >= 1 or null, got {self.patience}")
        if self.val_batch_size is not None and self.val_batch_size < 1:
            raise ConfigError(f"TrainConfig.val_batch_size must be >= 1 or null, got {self.val_batch_size}")

    def warmup_steps(self, total_steps: int) -> int:
        """Warmup length in optimizer steps for a run of `total_steps`."""
        if isinstance(self.warmup, float) and self.warmup < 1:
            return round(self.warmup * total_steps)
        return int(self.warmup)

    def for_run(self, device: Any, progress: bool) -> TrainConfig:
        """This config on a method's resolved `device`, with progress bars only where both this
        config and the caller (e.g. `fit(progress=False)` from the bench runner) allow them."""
        return replace(self, device=str(device), progress=self.progress and progress)
