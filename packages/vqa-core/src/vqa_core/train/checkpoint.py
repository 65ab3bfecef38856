"""Training checkpoints: atomic writes, weights_only reads.

`last.pt` holds the whole training state (model, optimizer, scheduler, scaler, position in
the run, best-so-far, history, RNG states) so a killed run resumes exactly; `best.pt` holds
the model weights selected on validation. Both contain only tensors and plain containers, so
they load with `torch.load(weights_only=True)`: no pickled code runs when a checkpoint is read.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vqa_core.errors import VqaError

__all__ = ["load_checkpoint", "load_model_weights", "save_checkpoint"]


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> Path:
    """torch.save to a temp file in the same folder, then rename: never a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with `weights_only=True`; a clear VqaError names a missing or bad file."""
    path = Path(path)
    if not path.is_file():
        raise VqaError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise VqaError(f"cannot read checkpoint {path} (corrupt or not a vqa-zoo checkpoint): {err}") from err
    if not isinstance(obj, dict):
        raise VqaError(f"checkpoint {path} holds a {type(obj).__name__}, expected a dict")
    return obj


def load_model_weights(model: nn.Module, path: str | Path, strict: bool = True) -> dict[str, Any]:
    """Load the `model` entry of a trainer checkpoint (best.pt or last.pt) into `model`."""
    ckpt = load_checkpoint(path)
    if "model" not in ckpt:
        raise VqaError(f"checkpoint {path} has no 'model' entry (keys: {', '.join(ckpt)})")
    try:
        model.load_state_dict(ckpt["model"], strict=strict)
    except RuntimeError as err:
        raise VqaError(f"checkpoint {path} does not fit {type(model).__name__}: {err}") from err
    return ckpt
