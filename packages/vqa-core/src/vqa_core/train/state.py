"""The state of one training run: what the loop and every callback read and change.

Two layers, because they live differently:
- `RunState` is the part that survives a kill: counters, best-so-far, history and the running
  sums of the epoch in progress. It is a plain dict in `last.pt` (`to_dict` / `from_dict`), so
  its field names are an on-disk format: rename nothing.
- `TrainState` is everything a fit holds while it runs: the config, the devices, the bare
  model and its training wrapper (DDP), optimizer, scheduler, gradient scaler, precision,
  datasets and sampler, the shape of the run (`RunPlan`) and the `RunState`. Callbacks get it
  instead of a Trainer's private attributes, so checkpointing, early stopping and history are
  ordinary callbacks and a new concern (another precision, pinned memory) is one field here.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch import nn
from torch.utils.data import Dataset, DistributedSampler

from vqa_core.errors import ConfigError
from vqa_core.train.distributed import DistInfo
from vqa_core.train.precision import Precision
from vqa_core.train.train_config import TrainConfig

__all__ = ["RunPlan", "RunState", "TrainState", "log_main"]

logger = logging.getLogger("vqa_core.train")


@dataclass
class RunState:
    """Where a run stands; saved in `last.pt` and restored on resume (an on-disk format)."""

    epoch: int = 0  # 0-based epoch in progress (== epochs when done)
    step_in_epoch: int = 0  # optimizer steps done inside `epoch`
    global_step: int = 0
    best_metric: float | None = None
    best_epoch: int | None = None
    best_step: int | None = None
    best_metrics: dict[str, float] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    loss_sum: float = 0.0  # running sums of the epoch in progress (this rank)
    sample_count: int = 0
    log_sums: dict[str, float] = field(default_factory=dict)
    finished: bool = False  # stopped early on validation patience

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunState:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})

    def next_epoch(self) -> None:
        """Move to the start of the next epoch, clearing the epoch's running sums."""
        self.epoch, self.step_in_epoch = self.epoch + 1, 0
        self.loss_sum, self.sample_count, self.log_sums = 0.0, 0, {}


@dataclass(frozen=True)
class RunPlan:
    """The shape of a run, fixed by the data size, the config and the world size.

    `micro_sizes[j]` is the number of samples in micro-batch j of an epoch on this rank (the
    last one may be short); accumulation weights each micro-batch loss by its share of the
    samples of its optimizer step.
    """

    n_train: int
    per_rank: int
    micro_per_epoch: int
    total_steps: int
    micro_sizes: tuple[int, ...]

    @classmethod
    def build(cls, config: TrainConfig, n_train: int, per_rank: int) -> RunPlan:
        b = config.batch_size
        micro = per_rank // b if config.drop_last else math.ceil(per_rank / b)
        if micro == 0:
            raise ConfigError(
                f"{per_rank} training items per process is fewer than batch_size={b} with "
                "drop_last=true: no batch to train on; lower batch_size or set drop_last=false"
            )
        total = config.epochs * math.ceil(micro / config.grad_accum)
        if config.max_steps is not None:
            total = min(total, config.max_steps)
        sizes = tuple(min(b, per_rank - j * b) for j in range(micro))
        return cls(n_train=n_train, per_rank=per_rank, micro_per_epoch=micro, total_steps=total, micro_sizes=sizes)

    def group_samples(self, micro: int, grad_accum: int) -> tuple[int, bool]:
        """(samples in the optimizer step micro-batch `micro` belongs to, whether it ends that step)."""
        group = micro // grad_accum
        end = min((group + 1) * grad_accum, self.micro_per_epoch)
        return sum(self.micro_sizes[group * grad_accum : end]), micro + 1 == end


@dataclass
class TrainState:
    """Everything one `Trainer.fit` holds while it runs (see the module docstring)."""

    config: TrainConfig
    work_dir: Path
    dist: DistInfo
    device: torch.device
    precision: Precision
    model: nn.Module  # the bare model: what is saved, selected and returned
    wrapped: nn.Module  # what `training_step` receives: the DDP wrapper under torchrun, else `model`
    optimizer: torch.optim.Optimizer
    scheduler: Any
    scaler: torch.amp.GradScaler
    train_dataset: Dataset
    val_dataset: Dataset | None
    sampler: DistributedSampler
    plan: RunPlan
    run: RunState = field(default_factory=RunState)
    progress: bool = True
    last_lr: float | None = None  # the lr of the last optimizer step (before the scheduler moved on)
    console: Any = None  # the progress bar's console while the loop runs

    @property
    def has_val(self) -> bool:
        return self.val_dataset is not None and len(self.val_dataset) > 0  # type: ignore[arg-type]

    @property
    def done(self) -> bool:
        """Nothing left to train: all epochs or steps done, or stopped early."""
        run = self.run
        return run.finished or run.epoch >= self.config.epochs or run.global_step >= self.plan.total_steps

    def log(self, message: str) -> None:
        log_main(self.dist, self.progress, self.console, message)


def log_main(dist: DistInfo, progress: bool, console: Any, message: str) -> None:
    """Log on rank 0 only: to the `vqa_core.train` logger, and on screen when progress is shown."""
    if not dist.is_main:
        return
    logger.info(message)
    if console is not None:
        console.print(message)
    elif progress:
        Console(stderr=True).print(message, highlight=False)
