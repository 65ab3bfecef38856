"""The one training loop of vqa-zoo.

A method supplies a `TrainTask` (model, loss, batch function); the Trainer does the rest:

- devices and DDP: the same script runs alone or under `torchrun` (DistributedSampler, rank-0
  checkpoint writes followed by a barrier, validation outputs gathered from every rank);
- gradient accumulation done right: each micro-batch loss is weighted by its share of the
  samples of its optimizer step (1/accum for full groups, exact at the epoch tail), DDP's
  all-reduce is skipped (`no_sync`) on the non-stepping micro-batches, one optimizer and one
  scheduler step per group;
- one warmup + cosine schedule over the whole run, stepped per optimizer step;
- model selection on validation only: `best.pt` (weights) and `last.pt` (full state);
- exact resume: `last.pt` holds model, optimizer, scheduler, scaler, epoch, optimizer step
  inside the epoch, best-so-far, history and the RNG states of every rank; the shuffle order
  is derived from (seed, epoch), so a resumed run replays the same batches. Exactness holds for
  `num_workers=0`, or with workers when the dataset's randomness derives from (epoch, index)
  (a dataset with `set_epoch(epoch)` is told the epoch);
- rich progress bars (rank 0 only, `progress=False` to silence), one log line per epoch,
  `history.jsonl` in the work dir.

Work dir layout: `last.pt`, `best.pt`, `history.jsonl`, `train_config.yaml`.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from vqa_core.config import config_to_dict, dump_config, load_config
from vqa_core.errors import ConfigError, VqaError
from vqa_core.train.checkpoint import load_checkpoint, save_checkpoint
from vqa_core.train.distributed import DistInfo, all_gather_objects, barrier, init_distributed
from vqa_core.train.inference import predict_dataset
from vqa_core.train.progress import make_progress
from vqa_core.train.rng import capture_rng_state, derive_seed, restore_rng_state, seed_everything, seed_worker
from vqa_core.train.schedule import build_scheduler
from vqa_core.train.task import TrainTask
from vqa_core.train.train_config import TrainConfig

__all__ = ["FitResult", "Trainer", "build_optimizer"]

logger = logging.getLogger("vqa_core.train")

LAST = "last.pt"
BEST = "best.pt"
HISTORY = "history.jsonl"
CKPT_FORMAT = "vqa-zoo/train-state"
# Fields that fix the order of batches; a resume with other values would not continue the run.
_RESUME_FIXED = ("batch_size", "grad_accum", "seed", "drop_last")


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


class _SkipSampler(Sampler[int]):
    """The first `skip` indices of `base` are left out (resuming inside an epoch)."""

    def __init__(self, base: Sampler[int], skip: int) -> None:
        self.base = base
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.base), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.base) - self.skip, 0)  # type: ignore[arg-type]


@dataclass
class _RunState:
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
    def from_dict(cls, data: Mapping[str, Any]) -> _RunState:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


class Trainer:
    """Fits a `TrainTask`'s model; see the module docstring.

    `config` is a TrainConfig, a dict, a YAML path or None (defaults). `callbacks` are objects
    with optional `on_step_end(trainer, global_step, logs)` and `on_epoch_end(trainer, record)`
    methods (an exception raised there stops the run; the last checkpoint stays resumable).
    After `fit`, `trainer.model` is the bare model holding the best weights (or the last ones
    when there was no validation).
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

    @property
    def last_checkpoint(self) -> Path:
        return self.work_dir / LAST

    @property
    def best_checkpoint(self) -> Path:
        return self.work_dir / BEST

    # ------------------------------------------------------------------ public
    def fit(self, train_dataset: Dataset, val_dataset: Dataset | None = None) -> FitResult:
        """Train, validating every `val_every` epochs; resumes from `work_dir/last.pt` if present."""
        cfg = self.config
        self.dist, device = init_distributed(cfg.device)
        self.device = device
        info = self.dist
        amp = cfg.amp and device.type == "cuda"
        if cfg.amp and not amp:
            self._log(f"amp requested but device is {device}; training in float32")
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
        bare = self.task.build_model().to(device)
        optimizer = build_optimizer(cfg, self.task.param_groups(bare))
        sampler = DistributedSampler(
            train_dataset, num_replicas=info.world_size, rank=info.rank, shuffle=True, seed=cfg.seed, drop_last=False
        )
        per_rank = len(sampler)
        micro_per_epoch = per_rank // cfg.batch_size if cfg.drop_last else math.ceil(per_rank / cfg.batch_size)
        if micro_per_epoch == 0:
            raise ConfigError(
                f"{per_rank} training items per process is fewer than batch_size={cfg.batch_size} with "
                "drop_last=true: no batch to train on; lower batch_size or set drop_last=false"
            )
        steps_per_epoch = math.ceil(micro_per_epoch / cfg.grad_accum)
        total_steps = cfg.epochs * steps_per_epoch
        if cfg.max_steps is not None:
            total_steps = min(total_steps, cfg.max_steps)
        scheduler = build_scheduler(
            optimizer, total_steps, cfg.warmup_steps(total_steps), cfg.min_lr_ratio, cfg.scheduler
        )
        scaler = torch.amp.GradScaler(device.type, enabled=amp)

        state = _RunState()
        if self.resume and self.last_checkpoint.is_file():
            state = self._restore(bare, optimizer, scheduler, scaler, n_train)
            if state.finished or state.epoch >= cfg.epochs or state.global_step >= total_steps:
                self._log(f"{self.last_checkpoint}: training already complete ({state.global_step} steps)")
            else:
                self._log(
                    f"resuming from {self.last_checkpoint}: epoch {state.epoch + 1}, "
                    f"step {state.global_step}/{total_steps}"
                )
        else:
            seed_everything(derive_seed(cfg.seed, info.rank, 1))
            if info.is_main:
                self.work_dir.mkdir(parents=True, exist_ok=True)
                # a fresh run must not leave an older run's checkpoints to be resumed or selected
                self.last_checkpoint.unlink(missing_ok=True)
                self.best_checkpoint.unlink(missing_ok=True)
                dump_config(cfg, self.work_dir / "train_config.yaml")
        if info.is_main:
            self._rewrite_history(state.history)
        barrier()

        model: nn.Module = bare
        if info.distributed:
            model = DistributedDataParallel(
                bare,
                device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=cfg.find_unused_parameters,
            )
        self.model, self.optimizer = bare, optimizer

        sizes = self._micro_sizes(per_rank, micro_per_epoch)
        try:
            self._run(model, bare, optimizer, scheduler, scaler, sampler, train_dataset, val_dataset, state,
                      sizes, micro_per_epoch, total_steps, has_val, amp, n_train)
        except KeyboardInterrupt:
            if self.last_checkpoint.is_file():
                self._log(
                    f"interrupted; {self.last_checkpoint} holds step {self._saved_step}: run again with the same "
                    "work_dir to resume from there"
                )
            else:
                self._log("interrupted before the first checkpoint; nothing to resume")
            raise
        finally:
            self._console = None

        best_path: Path | None = None
        if state.best_epoch is not None and self.best_checkpoint.is_file():
            best_path = self.best_checkpoint
            bare.load_state_dict(load_checkpoint(best_path, map_location=device)["model"])
        return FitResult(
            best_metric=state.best_metric,
            best_epoch=state.best_epoch,
            best_step=state.best_step,
            history=list(state.history),
            best_checkpoint=best_path,
            last_checkpoint=self.last_checkpoint,
            global_step=state.global_step,
            metrics=dict(state.best_metrics),
        )

    # ------------------------------------------------------------------ pieces
    def _run(self, model, bare, optimizer, scheduler, scaler, sampler, train_dataset, val_dataset,
             state: _RunState, sizes: list[int], micro_per_epoch: int, total_steps: int, has_val: bool,
             amp: bool, n_train: int) -> None:
        """The epoch loop (state is updated in place; checkpoints are written as it goes)."""
        cfg, info, device = self.config, self.dist, self.device
        assert device is not None
        with make_progress(self.progress and info.is_main) as bar:
            self._console = bar.console
            while state.epoch < cfg.epochs and state.global_step < total_steps and not state.finished:
                epoch = state.epoch
                epoch_start = time.perf_counter()
                sampler.set_epoch(epoch)
                if hasattr(train_dataset, "set_epoch"):
                    train_dataset.set_epoch(epoch)
                first_micro = state.step_in_epoch * cfg.grad_accum
                loader = DataLoader(
                    train_dataset,
                    batch_size=cfg.batch_size,
                    sampler=_SkipSampler(sampler, first_micro * cfg.batch_size),
                    num_workers=cfg.num_workers,
                    collate_fn=self.task.collate_fn,
                    drop_last=cfg.drop_last,
                    worker_init_fn=seed_worker,
                    generator=torch.Generator().manual_seed(derive_seed(cfg.seed, epoch, info.rank, 2)),
                    pin_memory=device.type == "cuda",
                )
                task_id = bar.add_task(
                    f"epoch {epoch + 1}/{cfg.epochs}", total=micro_per_epoch, completed=first_micro
                )
                model.train()
                stop = False
                for micro, batch in enumerate(loader, start=first_micro):
                    group = micro // cfg.grad_accum
                    group_end = min((group + 1) * cfg.grad_accum, micro_per_epoch)
                    group_samples = sum(sizes[group * cfg.grad_accum : group_end])
                    is_step = micro + 1 == group_end
                    sync = contextlib.nullcontext() if (is_step or not info.distributed) else model.no_sync()
                    batch = self.task.move_batch(batch, device)
                    with sync:
                        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                            loss, logs = self.task.training_step(model, batch)
                        if not torch.isfinite(loss.detach()).all():
                            raise VqaError(
                                f"training loss is {loss.item()} at epoch {epoch + 1}, step {state.global_step}: "
                                "lower TrainConfig.lr, enable clip_grad_norm or check the data"
                            )
                        scaler.scale(loss * (sizes[micro] / group_samples)).backward()
                    state.loss_sum += float(loss.detach()) * sizes[micro]
                    state.sample_count += sizes[micro]
                    for key, value in logs.items():
                        state.log_sums[key] = state.log_sums.get(key, 0.0) + float(value) * sizes[micro]
                    bar.advance(task_id)
                    if not is_step:
                        continue
                    if cfg.clip_grad_norm is not None:
                        scaler.unscale_(optimizer)
                        nn.utils.clip_grad_norm_(bare.parameters(), cfg.clip_grad_norm)
                    scaler.step(optimizer)
                    scaler.update()
                    optimizer.zero_grad(set_to_none=True)
                    self._last_lr = float(optimizer.param_groups[0]["lr"])
                    scheduler.step()
                    state.step_in_epoch += 1
                    state.global_step += 1
                    bar.update(task_id, status=f"loss {state.loss_sum / max(state.sample_count, 1):.4g}")
                    if cfg.checkpoint_every and state.global_step % cfg.checkpoint_every == 0:
                        self._save_last(bare, optimizer, scheduler, scaler, state, n_train)
                    for cb in self.callbacks:
                        if hasattr(cb, "on_step_end"):
                            cb.on_step_end(self, state.global_step, dict(logs, loss=float(loss.detach())))
                    if state.global_step >= total_steps:
                        stop = True
                        break
                bar.remove_task(task_id)
                record = self._end_epoch(state, epoch, optimizer, epoch_start)
                last_epoch = stop or epoch + 1 == cfg.epochs
                if has_val and ((epoch + 1) % cfg.val_every == 0 or last_epoch):
                    metrics = self._validate(bare, val_dataset, device)
                    record.update({f"val_{k}": v for k, v in metrics.items()})
                    self._select(bare, state, metrics, epoch)
                if state.best_epoch is not None:
                    record["best_epoch"] = state.best_epoch
                    record["best_metric"] = state.best_metric
                state.history.append(record)
                if self._patience_exhausted(state):
                    record["early_stop"] = True
                    state.finished = stop = True
                state.epoch, state.step_in_epoch = epoch + 1, 0
                state.loss_sum, state.sample_count, state.log_sums = 0.0, 0, {}
                self._save_last(bare, optimizer, scheduler, scaler, state, n_train)
                if info.is_main:
                    with (self.work_dir / HISTORY).open("a") as fh:
                        fh.write(json.dumps(record) + "\n")
                self._log(self._epoch_line(record, cfg))
                for cb in self.callbacks:
                    if hasattr(cb, "on_epoch_end"):
                        cb.on_epoch_end(self, record)
                if stop:
                    break

    def _micro_sizes(self, per_rank: int, micro_per_epoch: int) -> list[int]:
        b = self.config.batch_size
        return [min(b, per_rank - j * b) for j in range(micro_per_epoch)]

    def _validate(self, bare: nn.Module, val_dataset: Dataset, device: torch.device) -> dict[str, float]:
        cfg = self.config
        outputs = predict_dataset(
            bare,
            val_dataset,
            self.task.validation_step,
            batch_size=cfg.val_batch_size or cfg.batch_size,
            num_workers=cfg.num_workers,
            collate_fn=self.task.collate_fn,
            device=device,
            move_batch=self.task.move_batch,
            progress=self.progress and self.dist.is_main,
            description="validate",
        )
        n_val = len(val_dataset)  # type: ignore[arg-type]
        if len(outputs["index"]) != n_val:
            raise VqaError(f"validation covered {len(outputs['index'])} of {n_val} items")
        return {k: float(v) for k, v in self.task.validation_metrics(outputs).items()}

    def _select(self, bare: nn.Module, state: _RunState, metrics: Mapping[str, float], epoch: int) -> None:
        cfg = self.config
        if cfg.select_metric not in metrics:
            raise ConfigError(
                f"TrainConfig.select_metric {cfg.select_metric!r} is not among the validation metrics "
                f"({', '.join(metrics) or 'none'})"
            )
        value = float(metrics[cfg.select_metric])
        if math.isnan(value):
            return
        best = state.best_metric
        better = best is None or (value > best if cfg.mode == "max" else value < best)
        if not better:
            return
        state.best_metric, state.best_epoch, state.best_step = value, epoch + 1, state.global_step
        state.best_metrics = dict(metrics)
        if self.dist.is_main:
            save_checkpoint(
                {
                    "format": "vqa-zoo/train-best",
                    "model": {k: v.detach().cpu() for k, v in bare.state_dict().items()},
                    "epoch": epoch + 1,
                    "global_step": state.global_step,
                    "select_metric": cfg.select_metric,
                    "metric": value,
                    "metrics": dict(metrics),
                    "train_config": config_to_dict(cfg),
                },
                self.best_checkpoint,
            )
        barrier()

    def _patience_exhausted(self, state: _RunState) -> bool:
        """True when `patience` validations in a row have not improved on the best one."""
        patience = self.config.patience
        if patience is None or state.best_epoch is None:
            return False
        key = f"val_{self.config.select_metric}"
        since = sum(1 for r in state.history if key in r and r["epoch"] > state.best_epoch)
        return since >= patience

    def _end_epoch(self, state: _RunState, epoch: int, optimizer: torch.optim.Optimizer, start: float) -> dict:
        totals = all_gather_objects((state.loss_sum, state.sample_count, dict(state.log_sums)))
        count = sum(t[1] for t in totals)
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "step": state.global_step,
            "train_loss": sum(t[0] for t in totals) / max(count, 1),
        }
        for key in state.log_sums:
            record[f"train_{key}"] = sum(t[2].get(key, 0.0) for t in totals) / max(count, 1)
        record["lr"] = self._last_lr if self._last_lr is not None else float(optimizer.param_groups[0]["lr"])
        record["seconds"] = round(time.perf_counter() - start, 3)
        return record

    def _save_last(self, bare, optimizer, scheduler, scaler, state: _RunState, n_train: int) -> None:
        rng_states = all_gather_objects(capture_rng_state())
        if self.dist.is_main:
            save_checkpoint(
                {
                    "format": CKPT_FORMAT,
                    "model": {k: v.detach().cpu() for k, v in bare.state_dict().items()},
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "state": state.to_dict(),
                    "rng": rng_states,
                    "train_config": config_to_dict(self.config),
                    "world_size": self.dist.world_size,
                    "n_train": n_train,
                },
                self.last_checkpoint,
            )
        self._saved_step = state.global_step
        barrier()

    def _restore(self, bare, optimizer, scheduler, scaler, n_train: int) -> _RunState:
        path = self.last_checkpoint
        ckpt = load_checkpoint(path, map_location="cpu")
        if ckpt.get("format") != CKPT_FORMAT:
            raise VqaError(f"{path} is not a vqa-zoo training checkpoint; delete it or use another work_dir")
        stored = ckpt.get("train_config", {})
        current = config_to_dict(self.config)
        changed = [k for k in _RESUME_FIXED if stored.get(k) != current.get(k)]
        if ckpt.get("world_size") != self.dist.world_size:
            changed.append(f"world_size ({ckpt.get('world_size')} -> {self.dist.world_size})")
        if ckpt.get("n_train") != n_train:
            changed.append(f"training set size ({ckpt.get('n_train')} -> {n_train})")
        if changed:
            raise ConfigError(
                f"cannot resume from {path}: {', '.join(changed)} changed since it was written, so the run "
                "would not continue where it stopped; use a new work_dir or pass resume=False"
            )
        other = [k for k in current if k not in _RESUME_FIXED and stored.get(k) != current.get(k)]
        if other:
            self._log(f"resuming {path} with changed settings: {', '.join(other)}")
        bare.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        scaler.load_state_dict(ckpt["scaler"])
        rng = ckpt["rng"]
        restore_rng_state(rng[self.dist.rank] if self.dist.rank < len(rng) else rng[0])
        state = _RunState.from_dict(ckpt["state"])
        self._saved_step = state.global_step
        return state

    def _rewrite_history(self, history: list[dict[str, Any]]) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        path = self.work_dir / HISTORY
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in history))
        tmp.replace(path)

    @staticmethod
    def _epoch_line(record: Mapping[str, Any], cfg: TrainConfig) -> str:
        parts = [f"epoch {record['epoch']}/{cfg.epochs}", f"step {record['step']}", f"loss {record['train_loss']:.4g}",
                 f"lr {record['lr']:.3g}"]
        vals = [f"{k[4:]} {v:.4g}" for k, v in record.items() if k.startswith("val_") and isinstance(v, float)]
        if vals:
            parts.append("val " + " ".join(vals))
        if record.get("best_epoch") is not None:
            parts.append(f"best {cfg.select_metric} {record['best_metric']:.4g} @ epoch {record['best_epoch']}")
        parts.append(f"{record['seconds']:.1f}s")
        return "  ".join(parts)

    _console: Any = None
    _last_lr: float | None = None
    _saved_step: int | None = None

    def _log(self, message: str) -> None:
        if not self.dist.is_main:
            return
        logger.info(message)
        if self._console is not None:
            self._console.print(message)
        elif self.progress:
            Console(stderr=True).print(message, highlight=False)
