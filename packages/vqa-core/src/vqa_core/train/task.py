"""TrainTask: what a method hands to the one training loop (model, loss, batch function).

The Trainer owns everything generic (devices, DDP, accumulation, schedule, checkpoints,
resume, progress, selection); a task owns only what differs between methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = ["TrainTask", "quality_validation_metrics"]


class TrainTask(ABC):
    """Model, loss and batch function of one method.

    `training_step` and `validation_step` receive the batch already moved to the device
    (tensors inside dicts, lists and tuples are moved; override `move_batch` for anything else).
    `model` is the bare module on the train step's device; under DDP `training_step` receives
    the DDP wrapper, so call it (`model(x)`), not `model.module`.
    """

    #: collate function for the train/val DataLoaders (None: torch's default_collate).
    collate_fn: Callable[[list[Any]], Any] | None = None

    @abstractmethod
    def build_model(self) -> nn.Module:
        """A fresh model (the trainer seeds the RNGs first, so this is deterministic)."""

    @abstractmethod
    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        """Loss of one micro-batch (a mean over its items) and scalars to log."""

    def validation_step(self, model: nn.Module, batch: Any) -> Mapping[str, torch.Tensor]:
        """Per-item outputs of one batch (first dimension = items), e.g. {"pred", "target"}.

        The trainer adds an `index` entry with the dataset indices, gathers the outputs of all
        ranks, drops DistributedSampler padding and sorts by index before `validation_metrics`.
        """
        raise NotImplementedError(f"{type(self).__name__} has no validation_step; pass val_dataset=None")

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        """Metrics over the whole validation set (each item exactly once)."""
        raise NotImplementedError(f"{type(self).__name__} has no validation_metrics")

    def param_groups(self, model: nn.Module) -> Iterable[dict[str, Any]] | Iterable[nn.Parameter]:
        """Parameters (or optimizer groups with their own lr/weight_decay) to optimise."""
        return [p for p in model.parameters() if p.requires_grad]

    def move_batch(self, batch: Any, device: torch.device) -> Any:
        """Move a collated batch to `device` (non_blocking for pinned CUDA transfers)."""
        return move_to_device(batch, device)


def move_to_device(batch: Any, device: torch.device) -> Any:
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, Mapping):
        return {k: move_to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, tuple) and hasattr(batch, "_fields"):
        return type(batch)(*(move_to_device(v, device) for v in batch))
    if isinstance(batch, (list, tuple)):
        return type(batch)(move_to_device(v, device) for v in batch)
    return batch


def quality_validation_metrics(outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
    """SRCC, PLCC, ... of `outputs["pred"]` against `outputs["target"]`, for a quality-score task.

    On a validation set where they are undefined (constant predictions early in training, or
    fewer items than the metrics need) SRCC and PLCC are NaN, which the Trainer never selects,
    instead of an exception that would stop the run.
    """
    from vqa_core.metrics import quality_metrics

    try:
        m = quality_metrics(outputs["pred"], outputs["target"])
    except (ValueError, TypeError):
        return {"srcc": float("nan"), "plcc": float("nan"), "n": float(len(outputs["pred"]))}
    return {k: float(v) for k, v in m.items() if isinstance(v, int | float)}
