"""The run's checkpoints as callbacks: `last.pt` (the whole state, for exact resume) and
`best.pt` (the weights selected on validation), plus reading `last.pt` back.

Formats (unchanged, read by `vqa_core.train.load_checkpoint` with `weights_only=True`):
- `last.pt`: {format: "vqa-zoo/train-state", model, optimizer, scheduler, scaler, state (the
  `RunState` as a dict), rng (the RNG states of every rank), train_config, world_size, n_train};
- `best.pt`: {format: "vqa-zoo/train-best", model, epoch, global_step, select_metric, metric,
  metrics, train_config}.
Only rank 0 writes; every rank meets at a barrier after each write, so no rank runs ahead of a
checkpoint it might have to resume from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vqa_core.config import config_to_dict
from vqa_core.errors import ConfigError, VqaError
from vqa_core.train.callbacks import TrainCallback
from vqa_core.train.checkpoint import load_checkpoint, save_checkpoint
from vqa_core.train.distributed import all_gather_objects, barrier
from vqa_core.train.rng import capture_rng_state, restore_rng_state
from vqa_core.train.state import RunState, TrainState

__all__ = ["BEST", "CKPT_FORMAT", "LAST", "BestCheckpoint", "LastCheckpoint", "restore_run"]

LAST = "last.pt"
BEST = "best.pt"
CKPT_FORMAT = "vqa-zoo/train-state"
BEST_FORMAT = "vqa-zoo/train-best"
# Fields that fix the order of batches; a resume with other values would not continue the run.
_RESUME_FIXED = ("batch_size", "grad_accum", "seed", "drop_last")


def _cpu_weights(state: TrainState) -> dict[str, Any]:
    return {k: v.detach().cpu() for k, v in state.model.state_dict().items()}


class LastCheckpoint(TrainCallback):
    """Writes `last.pt` every `checkpoint_every` optimizer steps and at every epoch end.

    A fresh (not resumed) run first removes an older run's `last.pt`, which must not be resumed.
    `saved_step` is the global step the file on disk holds (for the interrupt message).
    """

    def __init__(self) -> None:
        self.saved_step: int | None = None

    def on_fit_start(self, state: TrainState, resumed: bool) -> None:
        if resumed:
            self.saved_step = state.run.global_step
        elif state.dist.is_main:
            (state.work_dir / LAST).unlink(missing_ok=True)

    def on_step_end(self, state: TrainState, logs: Mapping[str, float]) -> None:
        every = state.config.checkpoint_every
        if every and state.run.global_step % every == 0:
            self.save(state)

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        self.save(state)

    def save(self, state: TrainState) -> None:
        rng_states = all_gather_objects(capture_rng_state())
        if state.dist.is_main:
            save_checkpoint(
                {
                    "format": CKPT_FORMAT,
                    "model": _cpu_weights(state),
                    "optimizer": state.optimizer.state_dict(),
                    "scheduler": state.scheduler.state_dict(),
                    "scaler": state.scaler.state_dict(),
                    "state": state.run.to_dict(),
                    "rng": rng_states,
                    "train_config": config_to_dict(state.config),
                    "world_size": state.dist.world_size,
                    "n_train": state.plan.n_train,
                },
                state.work_dir / LAST,
            )
        self.saved_step = state.run.global_step
        barrier()


class BestCheckpoint(TrainCallback):
    """Model selection on validation only: a new best `select_metric` (max or min, NaN never)
    updates the run's best-so-far and writes `best.pt`; every epoch record gets the best so far.
    A fresh run first removes an older run's `best.pt`, which must not be selected."""

    def on_fit_start(self, state: TrainState, resumed: bool) -> None:
        if not resumed and state.dist.is_main:
            (state.work_dir / BEST).unlink(missing_ok=True)

    def on_validation_end(self, state: TrainState, metrics: Mapping[str, float]) -> None:
        cfg, run = state.config, state.run
        if cfg.select_metric not in metrics:
            raise ConfigError(
                f"TrainConfig.select_metric {cfg.select_metric!r} is not among the validation metrics "
                f"({', '.join(metrics) or 'none'})"
            )
        value = float(metrics[cfg.select_metric])
        if math.isnan(value):
            return
        best = run.best_metric
        if best is not None and not (value > best if cfg.mode == "max" else value < best):
            return
        epoch = run.epoch + 1
        run.best_metric, run.best_epoch, run.best_step = value, epoch, run.global_step
        run.best_metrics = dict(metrics)
        if state.dist.is_main:
            save_checkpoint(
                {
                    "format": BEST_FORMAT,
                    "model": _cpu_weights(state),
                    "epoch": epoch,
                    "global_step": run.global_step,
                    "select_metric": cfg.select_metric,
                    "metric": value,
                    "metrics": dict(metrics),
                    "train_config": config_to_dict(cfg),
                },
                state.work_dir / BEST,
            )
        barrier()

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if state.run.best_epoch is not None:
            record["best_epoch"] = state.run.best_epoch
            record["best_metric"] = state.run.best_metric


def restore_run(state: TrainState, path: Path) -> tuple[RunState, list[str]]:
    """Load `last.pt` into the state's model, optimizer, scheduler, scaler and RNGs; returns
    the saved `RunState` and the config fields that changed without breaking the resume.

    Refuses (ConfigError) when something that fixes the batch order changed: batch_size,
    grad_accum, seed, drop_last, the world size or the training set size.
    """
    ckpt = load_checkpoint(path, map_location="cpu")
    if ckpt.get("format") != CKPT_FORMAT:
        raise VqaError(f"{path} is not a vqa-zoo training checkpoint; delete it or use another work_dir")
    stored = ckpt.get("train_config", {})
    current = config_to_dict(state.config)
    changed = [k for k in _RESUME_FIXED if stored.get(k) != current.get(k)]
    if ckpt.get("world_size") != state.dist.world_size:
        changed.append(f"world_size ({ckpt.get('world_size')} -> {state.dist.world_size})")
    if ckpt.get("n_train") != state.plan.n_train:
        changed.append(f"training set size ({ckpt.get('n_train')} -> {state.plan.n_train})")
    if changed:
        raise ConfigError(
            f"cannot resume from {path}: {', '.join(changed)} changed since it was written, so the run "
            "would not continue where it stopped; use a new work_dir or pass resume=False"
        )
    other = [k for k in current if k not in _RESUME_FIXED and stored.get(k) != current.get(k)]
    state.model.load_state_dict(ckpt["model"])
    state.optimizer.load_state_dict(ckpt["optimizer"])
    state.scheduler.load_state_dict(ckpt["scheduler"])
    state.scaler.load_state_dict(ckpt["scaler"])
    rng = ckpt["rng"]
    restore_rng_state(rng[state.dist.rank] if state.dist.rank < len(rng) else rng[0])
    return RunState.from_dict(ckpt["state"]), other
