"""Device selection: `"auto"` everywhere, never a hard-coded `cuda:1`.

The seeds pinned devices (`cuda:1`, `device_ids=[2,1,0]`) and crashed on CPU-only machines.
Here every entry point takes a device string and resolves it once; asking for a device that
is not there fails with a message saying what is available, instead of a CUDA stack trace.
"""

from __future__ import annotations

import os

import torch

from vqa_core.errors import ConfigError

__all__ = ["available_devices", "resolve_device"]


def available_devices() -> list[str]:
    """Devices this process can use, best first (e.g. ["cuda:0", "cuda:1", "cpu"])."""
    found = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if _mps_available():
        found.append("mps")
    found.append("cpu")
    return found


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Turn "auto" | "cpu" | "cuda" | "cuda:N" | "mps" (or a torch.device) into a usable device.

    "auto" picks CUDA when present (under torchrun: the GPU of this process's LOCAL_RANK),
    then Apple MPS, then the CPU.
    """
    if spec is None:
        spec = "auto"
    if isinstance(spec, torch.device):
        spec = str(spec)
    if not isinstance(spec, str):
        raise ConfigError(f"device must be a string such as 'auto', 'cpu' or 'cuda:0', got {spec!r}")
    text = spec.strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            local_rank = int(os.environ.get("LOCAL_RANK", "0"))
            return torch.device("cuda", local_rank % torch.cuda.device_count())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(text)
    except (RuntimeError, ValueError) as err:
        raise ConfigError(
            f"device {spec!r} is not a device name; use 'auto', 'cpu', 'cuda', 'cuda:N' or 'mps' "
            f"(available here: {', '.join(available_devices())})"
        ) from err
    if device.type == "cpu":
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(
                f"device {spec!r} requested but CUDA is not available in this environment "
                f"(available: {', '.join(available_devices())}); use --device auto or cpu"
            )
        count = torch.cuda.device_count()
        index = device.index if device.index is not None else 0
        if index >= count:
            raise ConfigError(
                f"device {spec!r} requested but only {count} CUDA device(s) are visible "
                f"(cuda:0..cuda:{count - 1}); check CUDA_VISIBLE_DEVICES"
            )
        return torch.device("cuda", index)
    if device.type == "mps":
        if not _mps_available():
            raise ConfigError(
                f"device {spec!r} requested but Apple MPS is not available "
                f"(available: {', '.join(available_devices())})"
            )
        return device
    raise ConfigError(
        f"device {spec!r} is not supported by vqa-zoo; use one of {', '.join(available_devices())} or 'auto'"
    )


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())
