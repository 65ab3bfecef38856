"""Callbacks of the training loop, and the ones every run has: early stopping and history.

The loop (`vqa_core.train.loop`) trains and validates; everything around it (writing
checkpoints, selecting the best epoch, stopping early, keeping the history) is a callback
over the `TrainState`, called at fixed points:

    on_fit_start(state, resumed)    before the first epoch (resumed: state came from last.pt)
    on_step_end(state, logs)        after each optimizer step
    on_validation_end(state, metrics)   after a validation pass
    on_epoch_end(state, record)     after an epoch (record: its history line; the run state
                                    already points at the next epoch)

Every run's callbacks, in this order: `BestCheckpoint` (selection, best.pt), `EarlyStopping`,
`LastCheckpoint` (last.pt), `History` (history.jsonl and the epoch log line), then the user's.
The order is part of the behaviour: last.pt is written after the epoch's selection and
stopping decision, so a resume continues exactly.

User callbacks given to `Trainer(callbacks=...)` are either `TrainCallback` subclasses (hooks
above) or any object with `on_step_end(trainer, global_step, logs)` and/or
`on_epoch_end(trainer, record)`, the hooks vqa-zoo has always offered (they receive the
Trainer). An exception raised in a callback stops the run; the last checkpoint stays resumable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from vqa_core.atomic import atomic_write_text
from vqa_core.train.state import TrainState

__all__ = ["HISTORY", "CallbackList", "EarlyStopping", "History", "TrainCallback", "epoch_line"]

HISTORY = "history.jsonl"


class TrainCallback:
    """Base class of loop callbacks: override the hooks you need (see the module docstring)."""

    def on_fit_start(self, state: TrainState, resumed: bool) -> None:
        """Before the first epoch of this fit (also when resuming)."""

    def on_step_end(self, state: TrainState, logs: Mapping[str, float]) -> None:
        """After an optimizer step; `logs` are the task's scalars plus `loss`."""

    def on_validation_end(self, state: TrainState, metrics: Mapping[str, float]) -> None:
        """After validating; `metrics` are the task's validation metrics."""

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        """After an epoch; `record` is its history line (callbacks may add keys)."""


class _TrainerHooks(TrainCallback):
    """Adapter for the duck-typed hooks `on_step_end(trainer, step, logs)` / `on_epoch_end(trainer, record)`."""

    def __init__(self, target: Any, trainer: Any) -> None:
        self.target = target
        self.trainer = trainer

    def on_step_end(self, state: TrainState, logs: Mapping[str, float]) -> None:
        if hasattr(self.target, "on_step_end"):
            self.target.on_step_end(self.trainer, state.run.global_step, dict(logs))

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if hasattr(self.target, "on_epoch_end"):
            self.target.on_epoch_end(self.trainer, record)


class CallbackList(TrainCallback):
    """Calls each callback's hook in order; wraps objects that are not `TrainCallback`s."""

    def __init__(self, callbacks: Sequence[Any], trainer: Any = None) -> None:
        self.callbacks = [cb if isinstance(cb, TrainCallback) else _TrainerHooks(cb, trainer) for cb in callbacks]

    def on_fit_start(self, state: TrainState, resumed: bool) -> None:
        for cb in self.callbacks:
            cb.on_fit_start(state, resumed)

    def on_step_end(self, state: TrainState, logs: Mapping[str, float]) -> None:
        for cb in self.callbacks:
            cb.on_step_end(state, logs)

    def on_validation_end(self, state: TrainState, metrics: Mapping[str, float]) -> None:
        for cb in self.callbacks:
            cb.on_validation_end(state, metrics)

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(state, record)


class EarlyStopping(TrainCallback):
    """Stop when `TrainConfig.patience` validations in a row have not improved on the best one.

    The decision is stored in the run state (`finished`) and in the epoch's record
    (`early_stop: true`), so a rerun of a stopped run does not continue it.
    """

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        cfg, run = state.config, state.run
        if cfg.patience is None or run.best_epoch is None:
            return
        key = f"val_{cfg.select_metric}"
        since = sum(1 for r in run.history if key in r and r["epoch"] > run.best_epoch)
        if since >= cfg.patience:
            record["early_stop"] = True
            run.finished = True


class History(TrainCallback):
    """`history.jsonl` in the work dir (one JSON line per epoch, rewritten from the run state
    at the start so a resumed run never duplicates lines) and one log line per epoch."""

    def on_fit_start(self, state: TrainState, resumed: bool) -> None:
        if state.dist.is_main:
            history = state.run.history
            atomic_write_text(state.work_dir / HISTORY, "".join(json.dumps(r) + "\n" for r in history))

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if state.dist.is_main:
            with (state.work_dir / HISTORY).open("a") as fh:
                fh.write(json.dumps(record) + "\n")
        state.log(epoch_line(record, state.config))


def epoch_line(record: Mapping[str, Any], cfg: Any) -> str:
    """`epoch 2/10  step 40  loss 0.31  lr 1e-4  val srcc 0.81  best srcc 0.81 @ epoch 2  12.3s`."""
    parts = [
        f"epoch {record['epoch']}/{cfg.epochs}",
        f"step {record['step']}",
        f"loss {record['train_loss']:.4g}",
        f"lr {record['lr']:.3g}",
    ]
    vals = [f"{k[4:]} {v:.4g}" for k, v in record.items() if k.startswith("val_") and isinstance(v, float)]
    if vals:
        parts.append("val " + " ".join(vals))
    if record.get("best_epoch") is not None:
        parts.append(f"best {cfg.select_metric} {record['best_metric']:.4g} @ epoch {record['best_epoch']}")
    parts.append(f"{record['seconds']:.1f}s")
    return "  ".join(parts)
