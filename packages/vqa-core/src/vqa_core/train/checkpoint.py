"""Training checkpoints: atomic writes, weights_only reads.

`last.pt` holds the whole training state (model, optimizer, scheduler, scaler, position in
the run, best-so-far, history, RNG states) so a killed run resumes exactly; `best.pt` holds
the model weights selected on validation. Both contain only tensors and plain containers, so
they load with `torch.load(weights_only=True)`: no pickled code runs when a checkpoint is read.

A file that does not load that way is "not a vqa-zoo checkpoint", and the message says only
that: PyTorch's own text suggests retrying with `weights_only=False`, which would run whatever
code a hostile file carries, so it is never passed on.
"""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from vqa_core.atomic import atomic_path
from vqa_core.errors import VqaError

__all__ = ["load_checkpoint", "load_model_weights", "save_checkpoint"]


def save_checkpoint(obj: dict[str, Any], path: str | Path) -> Path:
    """torch.save through `vqa_core.atomic.atomic_path`: never a half-written file, the mode a
    new file gets under the umask, and temporaries a killed save left next to it are swept."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return path


def load_checkpoint(path: str | Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint with `weights_only=True`; a clear VqaError names a missing or bad file."""
    path = Path(path)
    if not path.is_file():
        raise VqaError(f"checkpoint {path} does not exist")
    try:
        obj = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:
        raise VqaError(f"{path} is not a vqa-zoo checkpoint ({_why_unreadable(path, err)})") from None
    if not isinstance(obj, dict):
        raise VqaError(f"{path} is not a vqa-zoo checkpoint (it holds a {type(obj).__name__}, not a dict)")
    return obj


def _why_unreadable(path: Path, err: Exception) -> str:
    """The cause in our words; PyTorch's message is not repeated (see the module docstring)."""
    try:
        is_zip = zipfile.is_zipfile(path)
    except OSError:
        return "it cannot be read"
    if not is_zip:
        return "not a PyTorch file, or a truncated one"
    if isinstance(err, pickle.UnpicklingError):
        return "it holds Python objects other than tensors and plain data, which are never loaded"
    return "it is damaged or was written by another program"


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
