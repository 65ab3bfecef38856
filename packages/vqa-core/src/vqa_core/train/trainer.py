"""The one training loop of vqa-zoo.

A method supplies a `TrainTask` (model, loss, batch function); the Trainer does the rest:

- devices and DDP: the same script runs alone or under `torchrun` (DistributedSampler, rank-0
  checkpoint writes followed by a barrier, validation outputs gathered from every rank);
- gradient accumulation done right (see `vqa_core.train.loop`);
- one warmup + cosine schedule over the whole run, stepped per optimizer step;
- model selection on validation only: `best.pt` (weights) and `last.pt` (full state);
- exact resume: `last.pt` holds model, optimizer, scheduler, scaler, epoch, optimizer step
  inside the epoch, best-so-far, history and the RNG states of every rank; the shuffle order
  is derived from (seed, epoch), so a resumed run replays the same batches. Exactness holds for
  `num_workers=0`, or with workers when the dataset's randomness derives from (epoch, index)
  (a dataset with `set_epoch(epoch)` is told the epoch);
- rich progress bars (rank 0 only, `progress=False` to silence), one log line per epoch,
  `history.jsonl` in the work dir.

How it is put together: `fit` builds one `TrainState` (config, devices, model and its DDP
wrapper, optimizer, scheduler, scaler, precision, datasets, the run's counters) and hands it
to the epoch loop (`vqa_core.train.loop`); checkpointing (`LastCheckpoint`, `BestCheckpoint`),
early stopping and history are callbacks over that state (`vqa_core.train.callbacks`).

Work dir layout: `last.pt`, `best.pt`, `history.jsonl`, `train_config.yaml`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import Dataset, DistributedSampler

from vqa_core.config import dump_config, load_config
from vqa_core.errors import ConfigError, VqaError
from vqa_core.train.callbacks import CallbackList, EarlyStopping, History
from vqa_core.train.checkpoint import load_checkpoint
from vqa_core.train.checkpointing import BEST, LAST, BestCheckpoint, LastCheckpoint, restore_run
from vqa_core.train.distributed import DistInfo, barrier, init_distributed
from vqa_core.train.loop import run_epochs
from vqa_core.train.precision import Precision
from vqa_core.train.rng import derive_seed, seed_everything
from vqa_core.train.schedule import build_scheduler
from vqa_core.train.state import RunPlan, TrainState, log_main
from vqa_core.train.task import TrainTask
from vqa_core.train.train_config import TrainConfig

__all__ = ["FitResult", "Trainer", "build_optimizer"]


@dataclass
class FitResult:
    """Outcome of `Trainer.fit`. Epochs are 1-based, as in the log lines."""

    best_metric: float | None
    best_epoch: int | None
    best_step: int | None
    history: list[dict[str, Any]]
    best_checkpoint: Path | None
    last_checkpoint: Path
    global_step: int
    metrics: dict[str, float] = field(default_factory=dict)  # validation metrics of the best epoch

    def summary(self) -> dict[str, Any]:
        """The part of the result a method's `fit` returns: selection, its metrics and the history."""
        return {
            "best_epoch": self.best_epoch,
            "best_metric": self.best_metric,
            "val_metrics": self.metrics,
            "history": self.history,
        }


def build_optimizer(config: TrainConfig, params: Any) -> torch.optim.Optimizer:
    """The optimizer named in `config` over `params` (a parameter list or param groups)."""
    params = list(params)
    if not params:
        raise ConfigError("the task's param_groups() returned no trainable parameters")
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, betas=config.betas)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay, betas=config.betas)
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay, momentum=config.momentum)
    raise ConfigError(f"TrainConfig.optimizer {config.optimizer!r} must be adamw, adam or sgd")


class Trainer:
    """Fits a `TrainTask`'s model; see the module docstring.

    `config` is a TrainConfig, a dict, a YAML path or None (defaults). `callbacks` are
    `vqa_core.train.TrainCallback`s (hooks over the `TrainState`), or objects with optional
    `on_step_end(trainer, global_step, logs)` and `on_epoch_end(trainer, record)` methods; an
    exception raised there stops the run, and the last checkpoint stays resumable. They run
    after the built-in ones (selection, early stopping, last.pt, history).
    After `fit`, `trainer.model` is the bare model holding the best weights (or the last ones
    when there was no validation) and `trainer.state` the run's final `TrainState`.
    """

    def __init__(
        self,
        task: TrainTask,
        config: TrainConfig | Mapping[str, Any] | str | Path | None = None,
        work_dir: str | Path = "runs/train",
        *,
        callbacks: Sequence[Any] = (),
        progress: bool | None = None,
        resume: bool = True,
    ) -> None:
        self.task = task
        self.config = load_config(TrainConfig, config)
        self.work_dir = Path(work_dir)
        self.callbacks = list(callbacks)
        self.progress = self.config.progress if progress is None else progress
        self.resume = resume
        self.model: nn.Module | None = None
        self.optimizer: torch.optim.Optimizer | None = None
        self.device: torch.device | None = None
        self.dist: DistInfo = DistInfo()
        self.state: TrainState | None = None

    @property
    def last_checkpoint(self) -> Path:
        return self.work_dir / LAST

    @property
    def best_checkpoint(self) -> Path:
        return self.work_dir / BEST

    # ------------------------------------------------------------------ public
    def fit(self, train_dataset: Dataset, val_dataset: Dataset | None = None) -> FitResult:
        """Train, validating every `val_every` epochs; resumes from `work_dir/last.pt` if present."""
        state = self._build_state(train_dataset, val_dataset)
        last = LastCheckpoint()
        callbacks = CallbackList([BestCheckpoint(), EarlyStopping(), last, History(), *self.callbacks], trainer=self)
        resumed = self.resume and self.last_checkpoint.is_file()
        if resumed:
            self._resume(state)
        else:
            seed_everything(derive_seed(self.config.seed, self.dist.rank, 1))
            if self.dist.is_main:
                self.work_dir.mkdir(parents=True, exist_ok=True)
                dump_config(self.config, self.work_dir / "train_config.yaml")
        callbacks.on_fit_start(state, resumed)
        barrier()
        if self.dist.distributed:
            state.wrapped = DistributedDataParallel(
                state.model,
                device_ids=[state.device.index] if state.device.type == "cuda" else None,
                find_unused_parameters=self.config.find_unused_parameters,
            )
        self.model, self.optimizer, self.state = state.model, state.optimizer, state
        try:
            run_epochs(state, self.task, callbacks)
        except KeyboardInterrupt:
            if self.last_checkpoint.is_file():
                self._log(
                    f"interrupted; {self.last_checkpoint} holds step {last.saved_step}: run again with the same "
                    "work_dir to resume from there"
                )
            else:
                self._log("interrupted before the first checkpoint; nothing to resume")
            raise
        return self._result(state)

    # ------------------------------------------------------------------ pieces
    def _build_state(self, train_dataset: Dataset, val_dataset: Dataset | None) -> TrainState:
        """Devices, model, optimizer, schedule and the run's shape; nothing is written yet."""
        cfg = self.config
        self.dist, device = init_distributed(cfg.device)
        self.device = device
        precision = Precision.from_config(cfg, device)
        if precision.fallback:
            self._log(precision.fallback)
        n_train = len(train_dataset)  # type: ignore[arg-type]
        if n_train == 0:
            raise VqaError("the training dataset is empty")
        has_val = val_dataset is not None and len(val_dataset) > 0  # type: ignore[arg-type]
        if has_val and type(self.task).validation_step is TrainTask.validation_step:
            raise ConfigError(
                f"{type(self.task).__name__} has no validation_step, but a validation set was given; "
                "implement validation_step/validation_metrics or pass val_dataset=None"
            )
        seed_everything(cfg.seed)
        model = self.task.build_model().to(device)
        optimizer = build_optimizer(cfg, self.task.param_groups(model))
        sampler = DistributedSampler(
            train_dataset,
            num_replicas=self.dist.world_size,
            rank=self.dist.rank,
            shuffle=True,
            seed=cfg.seed,
            drop_last=False,
        )
        plan = RunPlan.build(cfg, n_train, len(sampler))
        scheduler = build_scheduler(
            optimizer, plan.total_steps, cfg.warmup_steps(plan.total_steps), cfg.min_lr_ratio, cfg.scheduler
        )
        return TrainState(
            config=cfg,
            work_dir=self.work_dir,
            dist=self.dist,
            device=device,
            precision=precision,
            model=model,
            wrapped=model,
            optimizer=optimizer,
            scheduler=scheduler,
            scaler=precision.grad_scaler(),
            train_dataset=train_dataset,
            val_dataset=val_dataset,
            sampler=sampler,
            plan=plan,
            progress=self.progress,
        )

    def _resume(self, state: TrainState) -> None:
        state.run, changed = restore_run(state, self.last_checkpoint)
        if changed:
            self._log(f"resuming {self.last_checkpoint} with changed settings: {', '.join(changed)}")
        if state.done:
            self._log(f"{self.last_checkpoint}: training already complete ({state.run.global_step} steps)")
        else:
            self._log(
                f"resuming from {self.last_checkpoint}: epoch {state.run.epoch + 1}, "
                f"step {state.run.global_step}/{state.plan.total_steps}"
            )

    def _result(self, state: TrainState) -> FitResult:
        """The outcome; the model ends on the selected (best) weights when there are some."""
        run = state.run
        best_path: Path | None = None
        if run.best_epoch is not None and self.best_checkpoint.is_file():
            best_path = self.best_checkpoint
            state.model.load_state_dict(load_checkpoint(best_path, map_location=state.device)["model"])
        return FitResult(
            best_metric=run.best_metric,
            best_epoch=run.best_epoch,
            best_step=run.best_step,
            history=list(run.history),
            best_checkpoint=best_path,
            last_checkpoint=self.last_checkpoint,
            global_step=run.global_step,
            metrics=dict(run.best_metrics),
        )

    def _log(self, message: str) -> None:
        log_main(self.dist, self.progress, None, message)
