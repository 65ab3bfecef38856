"""The authors' released SSL-VQA / QASA-VQA checkpoints, mapped onto this package's models.

Both releases are `{primary, auxillary (sic), ...}` (seed_audit §4.5, §5.3):

| released                                   | here                                   |
|--------------------------------------------|----------------------------------------|
| `primary`: `backbone.<FAST-VQA Swin3D>`    | `primary.backbone.*` via st-vqrl's map |
| `primary`: `vqa_head.fc_hid.*`             | `primary.head.net.1.*`                 |
| `primary`: `vqa_head.fc_last.*`            | `primary.head.net.4.*`                 |
| SSL `auxillary`: `<FAST-VQA Swin3D>`       | `auxiliary.backbone.*` via st-vqrl's map |
| QASA `auxillary`: OpenAI CLIP (`visual.*`, `transformer.*`, ...) | `auxiliary.clip.*` (`openai_to_open_clip`) |

A `module.` (DataParallel) prefix is stripped. Everything must map (strict both ways): a
partial load would silently score with random weights. The released Swin3D was trained with
FAST-VQA's fragment gate: use `stvqrl.backbone.frag_gate: fastvqa` with these files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from st_vqrl.released import convert_released_state_dict
from vqa_core.errors import VqaError, WeightsUnavailableError

__all__ = ["load_released_dual", "primary_state_from_release", "read_release"]

AUX_KEYS = ("auxillary", "auxiliary")


def _strip_module(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state.items()}


def read_release(path: str | Path) -> dict[str, dict[str, torch.Tensor]]:
    """`{"primary": ..., "auxiliary": ...}` state dicts from a released file."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailableError(
            f"released checkpoint {path} does not exist; download it from the authors' release (SSL-VQA / "
            "QASA-VQA README, Google Drive) and set init_from to its path"
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise VqaError(f"cannot read released checkpoint {path}: {err}") from err
    return split_release(ckpt, str(path))


def split_release(ckpt: object, source: str = "checkpoint") -> dict[str, dict[str, torch.Tensor]]:
    if not isinstance(ckpt, Mapping) or "primary" not in ckpt or not any(k in ckpt for k in AUX_KEYS):
        keys = list(ckpt)[:8] if isinstance(ckpt, Mapping) else type(ckpt).__name__
        raise VqaError(f"{source} is not an SSL-VQA/QASA-VQA release: expected keys primary, auxillary; got {keys}")
    aux = next(ckpt[k] for k in AUX_KEYS if k in ckpt)
    return {"primary": _strip_module(ckpt["primary"]), "auxiliary": _strip_module(aux)}


def primary_state_from_release(state: Mapping[str, torch.Tensor], primary: nn.Module, source: str) -> dict:
    """FAST-VQA `BaseEvaluator` names -> `PrimaryModel` names (strict)."""
    backbone = {k: v for k, v in state.items() if k.startswith("backbone.")}
    head_map = {"vqa_head.fc_hid.": "net.1.", "vqa_head.fc_last.": "net.4."}
    head: dict[str, torch.Tensor] = {}
    unknown = []
    for key, value in state.items():
        if key.startswith("backbone."):
            continue
        for old, new in head_map.items():
            if key.startswith(old):
                head[new + key[len(old):]] = value
                break
        else:
            unknown.append(key)
    if unknown:
        raise VqaError(f"{source}: primary tensors with no counterpart: {', '.join(unknown)}")
    out = {f"backbone.{k}": v for k, v in convert_released_state_dict(backbone, primary.backbone, source).items()}
    target = primary.head.state_dict()
    if set(head) != set(target) or any(tuple(head[k].shape) != tuple(target[k].shape) for k in target):
        raise VqaError(
            f"{source}: the VQA head does not fit (released {sorted((k, tuple(v.shape)) for k, v in head.items())}, "
            f"expected {sorted((k, tuple(v.shape)) for k, v in target.items())}); check head_hidden"
        )
    out.update({f"head.{k}": v for k, v in head.items()})
    return out


def load_released_dual(source: str | Path | Mapping, model: nn.Module) -> nn.Module:
    """Load a released `{primary, auxillary}` file or dict into a `DualModel` in place."""
    if isinstance(source, Mapping):
        parts, name = split_release(source), "the given release dict"
    else:
        parts, name = read_release(source), str(source)
    model.primary.load_state_dict(primary_state_from_release(parts["primary"], model.primary, name), strict=True)
    if model.kind == "niqe":
        state = convert_released_state_dict(parts["auxiliary"], model.auxiliary.backbone, f"{name} (auxillary)")
        model.auxiliary.backbone.load_state_dict(state, strict=True)
    else:
        from ssl_vqa.clip_quality import openai_to_open_clip

        state = openai_to_open_clip(parts["auxiliary"])
        try:
            model.auxiliary.clip.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise VqaError(f"{name}: the CLIP auxiliary does not fit open_clip's layout: {err}") from err
        model.auxiliary.refresh_text_embeddings()
    return model
