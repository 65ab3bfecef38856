"""Inference over a dataset, sharded across torchrun ranks and gathered by dataset index.

Each rank runs its DistributedSampler shard, outputs are gathered, padding is dropped and the
result is in dataset order on every rank.

- `predict_dataset`: the Trainer's validation and the methods' cache filling; an item that
  fails is an error.
- `score_dataset`: what every method's `score` runs on. Items that cannot be decoded become
  error records (never exceptions, so one bad file cannot sink a folder), and each item gets
  its own decode seconds (timed inside `__getitem__`, in the DataLoader worker) and model
  seconds (its share of its batch's forward), so `vqa score` reports both for every method.
  DataLoader workers, capped at the CPUs this process may use, prefetch and decode the next
  batches while the model runs.

Both take an optional `precision` (`vqa_core.train.Precision`): the forward runs under its
autocast (bf16 when the method's TrainConfig says so, `Precision.for_scoring`), the one place
every learned method's scoring goes through; outputs come back as float32 numpy either way.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from torch.utils.data._utils.collate import default_collate

from vqa_core.errors import VideoDecodeError
from vqa_core.train.distributed import all_gather_objects, dist_info, gather_indexed_outputs
from vqa_core.train.precision import Precision
from vqa_core.train.progress import make_progress
from vqa_core.train.rng import seed_worker
from vqa_core.train.task import move_to_device

__all__ = ["DatasetScores", "IndexedDataset", "ItemFailure", "available_cpus", "predict_dataset", "score_dataset"]

StepFn = Callable[[nn.Module, Any], Mapping[str, torch.Tensor]]


class JobsDataset(Dataset):
    """Job numbers 0..n-1 as items, so `predict_dataset` can shard any per-item work over ranks."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> dict[str, int]:
        return {"job": i}


class IndexedDataset(Dataset):
    """Wraps a dataset so each item carries its index: `(index, item)`."""

    def __init__(self, dataset: Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> tuple[int, Any]:
        return index, self.dataset[index]


class IndexedCollate:
    """Collates `(index, item)` pairs into `(index tensor, collated batch)` (picklable for workers)."""

    def __init__(self, collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        self.collate_fn = collate_fn or default_collate

    def __call__(self, pairs: list[tuple[int, Any]]) -> tuple[torch.Tensor, Any]:
        indices = torch.tensor([i for i, _ in pairs], dtype=torch.long)
        return indices, self.collate_fn([item for _, item in pairs])


@torch.no_grad()
def predict_dataset(
    model: nn.Module,
    dataset: Dataset,
    step_fn: StepFn,
    *,
    batch_size: int = 8,
    num_workers: int = 0,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    device: torch.device | str | None = None,
    move_batch: Callable[[Any, torch.device], Any] | None = None,
    progress: bool = False,
    description: str = "predict",
    precision: Precision | None = None,
) -> dict[str, np.ndarray]:
    """Run `step_fn(model, batch) -> {name: per-item tensor}` over every item exactly once.

    Returns numpy arrays in dataset order, with an `index` entry, identical on every rank.
    `model` is put in eval mode for the call and restored afterwards. `step_fn` runs under
    `precision`'s autocast (None: float32, no autocast).
    """
    info = dist_info()
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    device = torch.device(device)
    move = move_batch or move_to_device
    autocast = _autocast(precision)
    loader = _shard_loader(IndexedDataset(dataset), IndexedCollate(collate_fn), batch_size, num_workers, device)
    was_training = model.training
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {}
    try:
        with make_progress(progress and info.is_main, transient=True) as bar:
            task_id = bar.add_task(description, total=len(loader))
            for indices, batch in loader:
                batch = move(batch, device)
                with autocast():
                    out = dict(step_fn(model, batch))
                out["index"] = indices
                for key, value in out.items():
                    arr = _to_numpy(value)
                    if arr.ndim == 0 or arr.shape[0] != len(indices):
                        raise ValueError(
                            f"{description}: output {key!r} has shape {tuple(arr.shape)}, expected one row per "
                            f"item ({len(indices)} items in the batch)"
                        )
                    chunks.setdefault(key, []).append(arr)
                bar.advance(task_id)
    finally:
        model.train(was_training)
    local = {k: np.concatenate(v, axis=0) for k, v in chunks.items()}
    if not local:
        local = {"index": np.zeros((0,), dtype=np.int64)}
    return gather_indexed_outputs(local)


def _shard_loader(
    dataset: Dataset, collate: Callable[[list[Any]], Any], batch_size: int, num_workers: int, device: torch.device
) -> DataLoader:
    """This rank's share of `dataset`, in order (DistributedSampler pads the last shard), with
    at most `available_cpus()` workers: more only compete for the same cores (and DataLoader
    warns about them on every call)."""
    info = dist_info()
    num_workers = max(0, min(int(num_workers), available_cpus()))
    sampler = DistributedSampler(dataset, num_replicas=info.world_size, rank=info.rank, shuffle=False, drop_last=False)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=collate,
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(0),
        pin_memory=device.type == "cuda",
    )


def _autocast(precision: Precision | None) -> Callable[[], Any]:
    """A factory of the forward's context: `precision.autocast`, or a no-op for None / fp32
    (float32 runs enter no autocast at all, as before the option existed)."""
    if precision is None or not precision.enabled:
        return contextlib.nullcontext
    return precision.autocast


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.is_floating_point() and value.dtype not in (torch.float32, torch.float64):
            value = value.float()
        return value.cpu().numpy()
    return np.asarray(value)


# --------------------------------------------------------------------------- scoring with timings


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask, e.g. a container's or a job's share)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class ItemFailure:
    """An item `score_dataset` could not load: its dataset index and the reason, naming the file."""

    index: int
    reason: str


class DatasetScores(NamedTuple):
    """What `score_dataset` returns, in dataset order: the forward's output row of each item
    (None where it failed), decode and model seconds (NaN where it failed), and the errors."""

    outputs: list[Any]
    decode_s: np.ndarray
    model_s: np.ndarray
    errors: list[str | None]


class TimedItems(Dataset):
    """Item i -> `(i, sample, seconds spent in the dataset's __getitem__)`, or an `ItemFailure`.

    A `VideoDecodeError` / `OSError` raised by the wrapped dataset, or a failure record it
    returns instead of a sample (vqa-core's `DecodeFailure`, anything with `path` and `reason`),
    becomes an `ItemFailure` whose reason names the file (`names[i]` when the message does not).
    """

    def __init__(self, dataset: Dataset, names: Sequence[str] | None = None) -> None:
        self.dataset = dataset
        self.names = list(names) if names is not None else None

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def _reason(self, index: int, message: str) -> str:
        name = self.names[index] if self.names is not None else None
        return message if not name or name in message else f"{name}: {message}"

    def __getitem__(self, index: int) -> tuple[int, Any, float] | ItemFailure:
        start = time.perf_counter()
        try:
            sample = self.dataset[index]
        except (VideoDecodeError, OSError) as err:
            return ItemFailure(index, self._reason(index, str(err)))
        seconds = time.perf_counter() - start
        if hasattr(sample, "reason") and hasattr(sample, "path"):  # a DecodeFailure record
            return ItemFailure(index, self._reason(index, f"{sample.path}: {sample.reason}"))
        return index, sample, seconds


class TimedCollate:
    """`(indices, collated batch or None, decode seconds, failures)` of a list of timed items."""

    def __init__(self, collate_fn: Callable[[list[Any]], Any] | None = None) -> None:
        self.collate_fn = collate_fn or default_collate

    def __call__(self, entries: list[Any]) -> tuple[list[int], Any, list[float], list[ItemFailure]]:
        good = [e for e in entries if not isinstance(e, ItemFailure)]
        failures = [e for e in entries if isinstance(e, ItemFailure)]
        batch = self.collate_fn([sample for _, sample, _ in good]) if good else None
        return [i for i, _, _ in good], batch, [s for _, _, s in good], failures


@torch.no_grad()
def score_dataset(
    dataset: Dataset,
    forward: Callable[[Any], Any],
    *,
    batch_size: int = 1,
    num_workers: int = 0,
    device: torch.device | str = "cpu",
    collate_fn: Callable[[list[Any]], Any] | None = None,
    move_batch: Callable[[Any, torch.device], Any] | None = None,
    names: Sequence[str] | None = None,
    progress: bool = False,
    description: str = "score",
    precision: Precision | None = None,
) -> DatasetScores:
    """Run `forward(batch)` over every item once; decode failures become error records.

    `forward` returns a tensor (one row per item), a mapping of such tensors, or a tuple of
    them; each item's output is its row (numpy), in the same structure. `names[i]` (e.g. the
    file of item i) is put in front of an error message that does not name it. Under torchrun
    each rank scores its shard and every rank gets every item's result. `num_workers` is capped
    at `available_cpus()` (as in `predict_dataset`); workers decode ahead while the model runs.
    `forward` runs under `precision`'s autocast (None: float32, no autocast).
    """
    info = dist_info()
    device = torch.device(device)
    move = move_batch or move_to_device
    autocast = _autocast(precision)
    timed = TimedItems(dataset, names)
    loader = _shard_loader(timed, TimedCollate(collate_fn), batch_size, num_workers, device)
    local: list[tuple[int, Any, float, float, str | None]] = []
    with make_progress(progress and info.is_main, transient=True) as bar:
        task_id = bar.add_task(description, total=len(loader))
        for indices, batch, decode_s, failures in loader:
            local += [(f.index, None, float("nan"), float("nan"), f.reason) for f in failures]
            if indices:
                start = time.perf_counter()
                with autocast():
                    out = forward(move(batch, device))
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                share = (time.perf_counter() - start) / len(indices)
                rows = _item_rows(out, len(indices), description)
                local += [(i, row, d, share, None) for i, row, d in zip(indices, rows, decode_s)]
            bar.advance(task_id)
    merged: dict[int, tuple[Any, float, float, str | None]] = {}
    for part in all_gather_objects(local):
        for index, row, dec, mod, err in part:
            merged.setdefault(index, (row, dec, mod, err))  # padding repeats an item: keep one
    n = len(timed)
    missing = [i for i in range(n) if i not in merged]
    if missing:
        raise RuntimeError(f"{description}: items {missing[:5]} were never scored")
    ordered = [merged[i] for i in range(n)]
    return DatasetScores(
        outputs=[o[0] for o in ordered],
        decode_s=np.array([o[1] for o in ordered], dtype=np.float64),
        model_s=np.array([o[2] for o in ordered], dtype=np.float64),
        errors=[o[3] for o in ordered],
    )


def _item_rows(out: Any, n: int, description: str) -> list[Any]:
    """Split a batched forward output into one entry per item (numpy rows, same structure)."""
    if isinstance(out, Mapping):
        columns = {k: _item_rows(v, n, f"{description}: {k}") for k, v in out.items()}
        return [{k: col[i] for k, col in columns.items()} for i in range(n)]
    if isinstance(out, tuple | list):
        columns = [_item_rows(v, n, description) for v in out]
        return [tuple(col[i] for col in columns) for i in range(n)]
    arr = _to_numpy(out)
    if arr.ndim == 0 or arr.shape[0] != n:
        raise ValueError(f"{description}: output of shape {tuple(arr.shape)}, expected one row per item ({n})")
    return list(arr)
