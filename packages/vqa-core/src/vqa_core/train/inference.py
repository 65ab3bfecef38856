"""Inference over a dataset, sharded across torchrun ranks and gathered by dataset index.

Used by the Trainer for validation and by the bench and `vqa score` for prediction: each
rank scores its DistributedSampler shard, outputs are gathered, padding is dropped and the
result is in dataset order on every rank.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, DistributedSampler
from torch.utils.data._utils.collate import default_collate

from vqa_core.train.distributed import dist_info, gather_indexed_outputs
from vqa_core.train.progress import make_progress
from vqa_core.train.rng import seed_worker
from vqa_core.train.task import move_to_device

__all__ = ["IndexedDataset", "predict_dataset"]

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
) -> dict[str, np.ndarray]:
    """Run `step_fn(model, batch) -> {name: per-item tensor}` over every item exactly once.

    Returns numpy arrays in dataset order, with an `index` entry, identical on every rank.
    `model` is put in eval mode for the call and restored afterwards.
    """
    info = dist_info()
    if device is None:
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
    device = torch.device(device)
    move = move_batch or move_to_device
    sampler = DistributedSampler(
        IndexedDataset(dataset), num_replicas=info.world_size, rank=info.rank, shuffle=False, drop_last=False
    )
    loader = DataLoader(
        IndexedDataset(dataset),
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        collate_fn=IndexedCollate(collate_fn),
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(0),
        pin_memory=device.type == "cuda",
    )
    was_training = model.training
    model.eval()
    chunks: dict[str, list[np.ndarray]] = {}
    try:
        with make_progress(progress and info.is_main, transient=True) as bar:
            task_id = bar.add_task(description, total=len(loader))
            for indices, batch in loader:
                out = dict(step_fn(model, move(batch, device)))
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


def _to_numpy(value: Any) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach()
        if value.is_floating_point() and value.dtype not in (torch.float32, torch.float64):
            value = value.float()
        return value.cpu().numpy()
    return np.asarray(value)
