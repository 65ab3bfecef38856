"""Method checkpoints on disk: self-describing `.pt` (weights_only-safe) or `.safetensors` files.

A checkpoint records the method name, its config (a plain dict), the calibration and library
versions next to the method's state, so `Method.load(path)` needs nothing else. `.safetensors`
keeps the tensors in the file body and everything else as JSON strings in its metadata.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

from vqa_core.errors import VqaError
from vqa_core.train.checkpoint import save_checkpoint

__all__ = ["CHECKPOINT_FORMAT", "CHECKPOINT_VERSION", "read_method_checkpoint", "write_method_checkpoint"]

CHECKPOINT_FORMAT = "vqa-zoo/method-checkpoint"
CHECKPOINT_VERSION = 1


def write_method_checkpoint(path: Path, meta: Mapping[str, Any], state: Mapping[str, Any]) -> Path:
    """Write `meta` (plain data) and `state` (tensors and plain containers) to `path`."""
    meta = {"format": CHECKPOINT_FORMAT, "format_version": CHECKPOINT_VERSION, **meta, "versions": _versions()}
    if path.suffix == ".safetensors":
        _save_safetensors(path, meta, state)
    else:
        save_checkpoint({**meta, "state": state}, path)
    return path


def read_method_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a method checkpoint (format check included) without building the method."""
    path = Path(path)
    if not path.is_file():
        raise VqaError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        ckpt = _load_safetensors(path)
    else:  # weights_only, and our own words for a foreign file (never PyTorch's unsafe advice)
        from vqa_core.train.checkpoint import load_checkpoint

        ckpt = load_checkpoint(path)
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise VqaError(f"{path} is not a vqa-zoo method checkpoint (no '{CHECKPOINT_FORMAT}' header)")
    if int(ckpt.get("format_version", 0)) > CHECKPOINT_VERSION:
        raise VqaError(
            f"{path} uses checkpoint format {ckpt['format_version']}, newer than this vqa-core "
            f"({CHECKPOINT_VERSION}); upgrade vqa-core"
        )
    return ckpt


def _versions() -> dict[str, str]:
    out = {"torch": str(torch.__version__)}
    for dist in ("vqa-core",):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _flatten(state: Mapping[str, Any], prefix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, Any] = {}
    for key, value in state.items():
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            tensors[name] = value.detach().cpu().contiguous()
        elif isinstance(value, Mapping):
            sub_t, sub_p = _flatten(value, name + "/")
            tensors.update(sub_t)
            plain.update(sub_p)
        else:
            plain[name] = value
    return tensors, plain


def _unflatten(tensors: Mapping[str, torch.Tensor], plain: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in [*tensors.items(), *plain.items()]:
        parts = name.split("/")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _save_safetensors(path: Path, meta: dict[str, Any], state: Mapping[str, Any]) -> None:
    from safetensors.torch import save_file

    tensors, plain = _flatten(state)
    try:
        metadata = {k: json.dumps(v) for k, v in meta.items()}
        metadata["state_plain"] = json.dumps(plain)
    except TypeError as err:
        raise VqaError(f"cannot write {path}: non-JSON value in the method state: {err}") from err
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_safetensors(path: Path) -> dict[str, Any]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
    except Exception as err:
        raise VqaError(f"cannot read checkpoint {path}: {err}") from err
    meta = {k: json.loads(v) for k, v in metadata.items() if k != "state_plain"}
    meta["state"] = _unflatten(tensors, json.loads(metadata.get("state_plain", "{}")))
    return meta

