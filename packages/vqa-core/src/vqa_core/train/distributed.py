"""torch.distributed plumbing: the same script runs alone or under `torchrun` unchanged.

`torchrun` sets WORLD_SIZE / RANK / LOCAL_RANK; `init_distributed` sees them and joins the
process group (gloo on CPU, nccl on CUDA). Without them everything degrades to one process
with no process group, and the gather helpers return their input.

Validation and inference gather per-item outputs keyed by dataset index: DistributedSampler
pads the last shard with repeated items, so results are de-duplicated by index and sorted,
and every item counts exactly once (the seeds computed val metrics on one shard only).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from vqa_core.device import resolve_device
from vqa_core.errors import ConfigError

__all__ = [
    "DistInfo",
    "all_gather_objects",
    "barrier",
    "cleanup_distributed",
    "dist_info",
    "gather_indexed_outputs",
    "init_distributed",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def dist_info() -> DistInfo:
    """The current process's place (rank 0 of 1 when no process group is running)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    return DistInfo()


def init_distributed(device: str | torch.device = "auto") -> tuple[DistInfo, torch.device]:
    """Join the torchrun job if there is one; return this process's DistInfo and device.

    Under torchrun with CUDA each process takes `cuda:LOCAL_RANK`; an explicit "cuda:N" is
    rejected there because every rank would fight for the same GPU.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    resolved = resolve_device(device)
    if world_size <= 1:
        return dist_info(), resolved
    if resolved.type == "cuda":
        if isinstance(device, str) and ":" in device:
            raise ConfigError(
                f"device {device!r} pins one GPU but torchrun started {world_size} processes; use 'auto' or 'cuda'"
            )
        resolved = torch.device("cuda", local_rank)
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        backend = "nccl" if resolved.type == "cuda" else "gloo"
        dist.init_process_group(backend=backend, init_method="env://")
    return dist_info(), resolved


def cleanup_distributed() -> None:
    """Leave the process group (call once at the end of a torchrun script)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def barrier() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.barrier()


def all_gather_objects(obj: Any) -> list[Any]:
    """[obj of rank 0, obj of rank 1, ...]; `[obj]` without a process group."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [obj]
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, obj)
    return gathered


def broadcast_object(obj: Any, src: int = 0) -> Any:
    """Rank `src`'s `obj` on every rank."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def gather_indexed_outputs(outputs: Mapping[str, np.ndarray], index_key: str = "index") -> dict[str, np.ndarray]:
    """Concatenate per-item outputs of all ranks, keep each dataset index once, sort by index."""
    parts = all_gather_objects({k: np.asarray(v) for k, v in outputs.items()})
    parts = [p for p in parts if p and len(p.get(index_key, ())) > 0]
    if not parts:
        return {k: np.asarray(v) for k, v in outputs.items()}
    keys = list(parts[0])
    merged = {k: np.concatenate([p[k] for p in parts], axis=0) for k in keys}
    _, first = np.unique(merged[index_key], return_index=True)  # sorted unique indices
    return {k: v[first] for k, v in merged.items()}
