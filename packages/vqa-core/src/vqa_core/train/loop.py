"""The epoch loop: train, validate, hand each event to the callbacks.

Gradient accumulation done right: each micro-batch loss is weighted by its share of the
samples of its optimizer step (1/accum for full groups, exact at the epoch tail), DDP's
all-reduce is skipped (`no_sync`) on the non-stepping micro-batches, and there is one optimizer
and one scheduler step per group. The shuffle order comes from (seed, epoch) and a resumed
epoch skips the micro-batches already done, so a resumed run replays the same batches.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, Sampler

from vqa_core.errors import VqaError
from vqa_core.train.callbacks import TrainCallback
from vqa_core.train.distributed import all_gather_objects
from vqa_core.train.inference import predict_dataset
from vqa_core.train.precision import Precision
from vqa_core.train.progress import make_progress
from vqa_core.train.rng import derive_seed, seed_worker
from vqa_core.train.state import TrainState
from vqa_core.train.task import TrainTask

__all__ = ["run_epochs", "train_loader"]


class _SkipSampler(Sampler[int]):
    """The first `skip` indices of `base` are left out (resuming inside an epoch)."""

    def __init__(self, base: Sampler[int], skip: int) -> None:
        self.base = base
        self.skip = skip

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.base), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.base) - self.skip, 0)  # type: ignore[arg-type]


def train_loader(state: TrainState, task: TrainTask, first_micro: int) -> DataLoader:
    """The DataLoader of the epoch in progress, starting at micro-batch `first_micro`.

    Its worker seeds derive from (seed, epoch, rank); memory is pinned for CUDA transfers.
    """
    cfg, epoch = state.config, state.run.epoch
    return DataLoader(
        state.train_dataset,
        batch_size=cfg.batch_size,
        sampler=_SkipSampler(state.sampler, first_micro * cfg.batch_size),
        num_workers=cfg.num_workers,
        collate_fn=task.collate_fn,
        drop_last=cfg.drop_last,
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(derive_seed(cfg.seed, epoch, state.dist.rank, 2)),
        pin_memory=state.device.type == "cuda",
    )


def run_epochs(state: TrainState, task: TrainTask, callbacks: TrainCallback) -> None:
    """Train until the run is done (state is updated in place; callbacks write the files)."""
    cfg = state.config
    with make_progress(state.progress and state.dist.is_main) as bar:
        state.console = bar.console
        try:
            while not state.done:
                epoch_start = time.perf_counter()
                stop = _train_epoch(state, task, callbacks, bar)
                record = _epoch_record(state, epoch_start)
                epoch = state.run.epoch
                last_epoch = stop or epoch + 1 == cfg.epochs
                if state.has_val and ((epoch + 1) % cfg.val_every == 0 or last_epoch):
                    metrics = _validate(state, task)
                    record.update({f"val_{k}": v for k, v in metrics.items()})
                    callbacks.on_validation_end(state, metrics)
                state.run.history.append(record)
                state.run.next_epoch()
                callbacks.on_epoch_end(state, record)
                if stop or state.run.finished:
                    break
        finally:
            state.console = None


def _train_epoch(state: TrainState, task: TrainTask, callbacks: TrainCallback, bar: Any) -> bool:
    """One epoch (or its rest, when resuming); True when the run's step budget ran out."""
    cfg, run, plan = state.config, state.run, state.plan
    state.sampler.set_epoch(run.epoch)
    if hasattr(state.train_dataset, "set_epoch"):
        state.train_dataset.set_epoch(run.epoch)
    first_micro = run.step_in_epoch * cfg.grad_accum
    loader = train_loader(state, task, first_micro)
    bar_task = bar.add_task(f"epoch {run.epoch + 1}/{cfg.epochs}", total=plan.micro_per_epoch, completed=first_micro)
    state.wrapped.train()
    stop = False
    for micro, batch in enumerate(loader, start=first_micro):
        group_samples, is_step = plan.group_samples(micro, cfg.grad_accum)
        size = plan.micro_sizes[micro]
        skip_sync = state.dist.distributed and not is_step
        batch = task.move_batch(batch, state.device)
        with state.wrapped.no_sync() if skip_sync else contextlib.nullcontext():  # type: ignore[operator]
            with state.precision.autocast():
                loss, logs = task.training_step(state.wrapped, batch)
            if not torch.isfinite(loss.detach()).all():
                raise VqaError(
                    f"training loss is {loss.item()} at epoch {run.epoch + 1}, step {run.global_step}: "
                    "lower TrainConfig.lr, enable clip_grad_norm or check the data"
                )
            state.scaler.scale(loss * (size / group_samples)).backward()
        run.loss_sum += float(loss.detach()) * size
        run.sample_count += size
        for key, value in logs.items():
            run.log_sums[key] = run.log_sums.get(key, 0.0) + float(value) * size
        bar.advance(bar_task)
        if not is_step:
            continue
        _optimizer_step(state)
        bar.update(bar_task, status=f"loss {run.loss_sum / max(run.sample_count, 1):.4g}")
        callbacks.on_step_end(state, dict(logs, loss=float(loss.detach())))
        if run.global_step >= plan.total_steps:
            stop = True
            break
    bar.remove_task(bar_task)
    return stop


def _optimizer_step(state: TrainState) -> None:
    cfg, optimizer, scaler = state.config, state.optimizer, state.scaler
    if cfg.clip_grad_norm is not None:
        scaler.unscale_(optimizer)
        nn.utils.clip_grad_norm_(state.model.parameters(), cfg.clip_grad_norm)
    scaler.step(optimizer)
    scaler.update()
    optimizer.zero_grad(set_to_none=True)
    state.last_lr = float(optimizer.param_groups[0]["lr"])
    state.scheduler.step()
    state.run.step_in_epoch += 1
    state.run.global_step += 1


def _epoch_record(state: TrainState, start: float) -> dict[str, Any]:
    """The epoch's history line: losses averaged over every rank's samples, lr, seconds."""
    run = state.run
    totals = all_gather_objects((run.loss_sum, run.sample_count, dict(run.log_sums)))
    count = sum(t[1] for t in totals)
    record: dict[str, Any] = {
        "epoch": run.epoch + 1,
        "step": run.global_step,
        "train_loss": sum(t[0] for t in totals) / max(count, 1),
    }
    for key in run.log_sums:
        record[f"train_{key}"] = sum(t[2].get(key, 0.0) for t in totals) / max(count, 1)
    lr = state.last_lr if state.last_lr is not None else float(state.optimizer.param_groups[0]["lr"])
    record["lr"] = lr
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record


def _validate(state: TrainState, task: TrainTask) -> dict[str, float]:
    cfg, val = state.config, state.val_dataset
    outputs = predict_dataset(
        state.model,
        val,
        task.validation_step,
        batch_size=cfg.val_batch_size or cfg.batch_size,
        num_workers=cfg.num_workers,
        collate_fn=task.collate_fn,
        device=state.device,
        move_batch=task.move_batch,
        progress=state.progress and state.dist.is_main,
        description="validate",
        precision=Precision.for_scoring(cfg, state.device),  # validation scores as scoring will
    )
    n_val = len(val)  # type: ignore[arg-type]
    if len(outputs["index"]) != n_val:
        raise VqaError(f"validation covered {len(outputs['index'])} of {n_val} items")
    return {k: float(v) for k, v in task.validation_metrics(outputs).items()}
