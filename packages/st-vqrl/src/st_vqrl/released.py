"""The authors' released ST-VQRL / SSL-VQA checkpoints, mapped onto torchvision's Swin3D names.

The released files hold FAST-VQA's `SwinTransformer3D` state dict under the key `model`
(seed_audit §4.3). Its names differ from torchvision's only in the module tree:

| FAST-VQA                                        | torchvision (`FragmentSwin3d`)          |
|-------------------------------------------------|-----------------------------------------|
| `patch_embed.proj.*`, `patch_embed.norm.*`      | same                                    |
| `layers.{i}.blocks.{j}.norm1.*` / `norm2.*`     | `features.{2i}.{j}.norm1.*` / `norm2.*` |
| `layers.{i}.blocks.{j}.attn.qkv.*` / `proj.*`   | `features.{2i}.{j}.attn.qkv.*` / `proj.*` |
| `layers.{i}.blocks.{j}.attn.relative_position_bias_table` (and `_index`) | `features.{2i}.{j}.attn.relative_position_bias_table` (and `_index`) |
| `layers.{i}.blocks.{j}.attn.fragment_position_bias_table` | `features.{2i}.{j}.attn.fragment_position_bias_table` |
| `layers.{i}.blocks.{j}.mlp.fc1.*` / `fc2.*`     | `features.{2i}.{j}.mlp.0.*` / `mlp.3.*` |
| `layers.{i}.downsample.reduction.weight`        | `features.{2i+1}.reduction.weight`      |
| `layers.{i}.downsample.norm.*`                  | `features.{2i+1}.norm.*`                |
| `norm.*`                                        | `norm.*`                                |

Patch merging concatenates the four sub-grids in the same order in both codes, so the
weights mean the same thing. A `module.` (DataParallel) or `backbone.` prefix is stripped.
Any tensor that does not map, or maps to a missing name or a different shape, is an error that
lists them all: a silently partial load (the seed's `strict=False`) is how a random backbone
gets reported as a pretrained one. SSL-VQA reuses `fastvqa_to_torchvision_key` and
`load_released_checkpoint`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from vqa_core.errors import VqaError, WeightsUnavailableError

__all__ = [
    "convert_released_state_dict",
    "fastvqa_to_torchvision_key",
    "load_released_checkpoint",
    "read_released_state_dict",
]

_PREFIXES = ("module.", "backbone.")
_BLOCK = re.compile(r"^layers\.(\d+)\.blocks\.(\d+)\.(.+)$")
_DOWN = re.compile(r"^layers\.(\d+)\.downsample\.(.+)$")
_MLP = {"mlp.fc1.": "mlp.0.", "mlp.fc2.": "mlp.3."}


def fastvqa_to_torchvision_key(key: str) -> str | None:
    """The torchvision Swin3D name of a FAST-VQA `SwinTransformer3D` tensor name (None: unknown)."""
    for prefix in _PREFIXES:
        while key.startswith(prefix):
            key = key[len(prefix) :]
    if key.startswith(("patch_embed.", "norm.")):
        return key
    match = _BLOCK.match(key)
    if match:
        stage, block, rest = int(match[1]), int(match[2]), match[3]
        for old, new in _MLP.items():
            if rest.startswith(old):
                rest = new + rest[len(old) :]
        return f"features.{2 * stage}.{block}.{rest}"
    match = _DOWN.match(key)
    if match:
        return f"features.{2 * int(match[1]) + 1}.{match[2]}"
    return None


def read_released_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The backbone state dict in a released checkpoint (key `model`, or a bare state dict)."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(
            f"released ST-VQRL checkpoint {path} does not exist; download it from the authors' release "
            "(SSL-VQA README, Google Drive) and pass its path"
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise VqaError(f"cannot read released checkpoint {path}: {err}") from err
    state = ckpt.get("model", ckpt) if isinstance(ckpt, Mapping) else None
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise VqaError(f"{path} holds no state dict under 'model' (keys: {list(ckpt)[:8] if isinstance(ckpt, Mapping) else type(ckpt).__name__})")
    return dict(state)


def convert_released_state_dict(
    state: Mapping[str, torch.Tensor], backbone: nn.Module, source: str = "checkpoint"
) -> dict[str, torch.Tensor]:
    """Rename a FAST-VQA state dict to `backbone`'s names; raise listing every tensor that does not fit.

    Checked both ways: every released tensor must land on a backbone tensor of the same shape,
    and every backbone tensor must be provided.
    """
    target = backbone.state_dict()
    out: dict[str, torch.Tensor] = {}
    unknown, absent, mismatched = [], [], []
    for key, value in state.items():
        name = fastvqa_to_torchvision_key(key)
        if name is None:
            unknown.append(key)
        elif name not in target:
            absent.append(f"{key} -> {name}")
        elif tuple(target[name].shape) != tuple(value.shape):
            mismatched.append(f"{key} {tuple(value.shape)} -> {name} {tuple(target[name].shape)}")
        else:
            out[name] = value
    missing = sorted(set(target) - set(out))
    problems = []
    if unknown:
        problems.append(f"{len(unknown)} tensor(s) with no torchvision name: {', '.join(unknown)}")
    if absent:
        problems.append(
            f"{len(absent)} tensor(s) mapped to names this backbone does not have (is frag_bias or the size "
            f"different from the release?): {', '.join(absent)}"
        )
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es): {', '.join(mismatched)}")
    if missing:
        problems.append(f"{len(missing)} backbone tensor(s) not in the checkpoint: {', '.join(missing)}")
    if problems:
        raise VqaError(f"cannot load {source} into the Swin3D backbone:\n  " + "\n  ".join(problems))
    return out


def load_released_checkpoint(path: str | Path | Mapping[str, torch.Tensor], backbone: nn.Module) -> nn.Module:
    """Load the authors' released ST-VQRL checkpoint (file or state dict) into `backbone` in place.

    The release was trained with FAST-VQA's gate; build the backbone with
    `frag_gate="fastvqa"` (size `full`, `frag_bias=True`) to compute what the authors computed.
    """
    if isinstance(path, Mapping):
        state, source = dict(path), "the given state dict"
    else:
        state, source = read_released_state_dict(path), str(path)
    backbone.load_state_dict(convert_released_state_dict(state, backbone, source), strict=True)
    return backbone
