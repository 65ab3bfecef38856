"""QASA-VQA's auxiliary: CLIP's image tower scoring a video against antonym prompt pairs.

score(video) = sum over pairs (pos, neg) of sigmoid((cos(f, t_pos) - cos(f, t_neg)) / tau),
with f the L2-normalised mean of the frame embeddings and t the L2-normalised prompt
embeddings, so the score lies in [0, number of pairs]. The text tower stays frozen (its prompt
embeddings are computed once, and again whenever weights are loaded); the image tower trains.

Weights come through open_clip (`create_model("ViT-B-32", pretrained="openai")`); offline, a
clear `WeightsUnavailableError` says how to provide the file. The OpenAI checkpoint layout
(`visual.*`, `transformer.*`, `token_embedding`, ...) is open_clip's own, minus three
metadata entries, so `openai_to_open_clip` is a short key map (used for the authors' released
QASA-VQA `auxillary` too).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from vqa_core.errors import ConfigError, WeightsUnavailableError
from vqa_core.transforms import normalize

__all__ = ["ClipQualityScorer", "build_clip_model", "openai_to_open_clip"]

OPENAI_METADATA_KEYS = ("input_resolution", "context_length", "vocab_size")


def openai_to_open_clip(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """OpenAI CLIP state dict (or a DataParallel copy) -> open_clip `CLIP` state dict.

    The parameter names are identical; OpenAI's file adds three integer entries
    (`input_resolution`, `context_length`, `vocab_size`) and stores most weights in float16.
    """
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        name = key[len("module."):] if key.startswith("module.") else key
        if name in OPENAI_METADATA_KEYS:
            continue
        out[name] = value.float() if torch.is_floating_point(value) else value
    return out


def _read_openai_file(path: Path) -> dict[str, Tensor]:
    """OpenAI's released `ViT-B-32.pt` is a TorchScript archive; a plain state dict works too."""
    if not path.is_file():
        raise WeightsUnavailableError(f"CLIP weights file {path} does not exist")
    try:
        return dict(torch.jit.load(str(path), map_location="cpu").state_dict())
    except Exception:  # not a TorchScript archive: a plain (or wrapped) state dict
        pass
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise WeightsUnavailableError(f"cannot read CLIP weights {path}: {err}") from err
    if isinstance(state, Mapping) and "state_dict" in state:
        state = state["state_dict"]
    if not isinstance(state, Mapping):
        raise WeightsUnavailableError(f"{path} holds no CLIP state dict")
    return dict(state)


def build_clip_model(
    arch: str, pretrained: str | None = None, weights_path: str | None = None, custom: Mapping[str, Any] | None = None
) -> nn.Module:
    """An open_clip CLIP model (QuickGELU, float32).

    `arch="custom"` builds `open_clip.CLIP(**custom)` with random init (tiny/small presets).
    `weights_path` (a local OpenAI/open_clip file) wins over `pretrained` (an open_clip tag).
    """
    import open_clip

    if arch == "custom":
        if not custom:
            raise ConfigError("a custom CLIP needs its open_clip config dict (clip.custom)")
        cfg = dict(custom)
        return open_clip.CLIP(
            embed_dim=int(cfg["embed_dim"]),
            vision_cfg=dict(cfg["vision_cfg"]),
            text_cfg=dict(cfg["text_cfg"]),
            quick_gelu=bool(cfg.get("quick_gelu", True)),
        )
    if weights_path:
        raw = _read_openai_file(Path(weights_path).expanduser())
        model = open_clip.create_model(arch, pretrained=None, force_quick_gelu=True)
        state = openai_to_open_clip(raw)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as err:
            raise WeightsUnavailableError(f"{weights_path} does not fit open_clip {arch}: {err}") from err
        return model.float()
    if not pretrained:
        return open_clip.create_model(arch, pretrained=None, force_quick_gelu=True).float()
    try:
        return open_clip.create_model(arch, pretrained=pretrained, force_quick_gelu=True).float()
    except Exception as err:  # download failures surface as RuntimeError / OSError / HTTP errors
        raise WeightsUnavailableError(
            f"cannot load CLIP {arch} weights {pretrained!r} through open_clip: {err}. Offline, copy OpenAI's "
            f"{arch.replace('-', '/')} file (ViT-B-32.pt) to this machine and set clip.weights_path to it, "
            "or put open_clip's file in its cache; or set clip.pretrained: null (random init)"
        ) from err


class ClipQualityScorer(nn.Module):
    """CLIP image tower + frozen prompt embeddings -> antonym-pair quality score of a frame set.

    `forward(frames)` takes (B, T, 3, H, W) floats in [0, 1] already resized to the tower's
    `image_size` and returns (B,) scores; `frame_embeddings` gives the normalised mean embedding.
    """

    def __init__(self, clip_model: nn.Module, pairs: Sequence[Sequence[str]], template: str, tau: float) -> None:
        super().__init__()
        self.clip = clip_model
        self.tau = float(tau)
        self.prompts = [template.format(word) for pair in pairs for word in pair]
        size = getattr(getattr(clip_model, "visual", None), "image_size", 224)
        self.image_size = int(size[0] if isinstance(size, tuple | list) else size)
        for name, param in self.clip.named_parameters():
            if not name.startswith("visual."):
                param.requires_grad_(False)
        self.register_buffer("text_embeddings", torch.zeros(len(self.prompts), self._embed_dim()))
        self.refresh_text_embeddings()

    def _embed_dim(self) -> int:
        proj = getattr(self.clip, "text_projection", None)
        if isinstance(proj, Tensor):
            return int(proj.shape[-1])
        return int(self.clip.visual.output_dim)

    @torch.no_grad()
    def refresh_text_embeddings(self) -> None:
        """Recompute the frozen prompt embeddings (after the text tower's weights changed)."""
        import open_clip

        tokens = open_clip.tokenize(self.prompts).to(self.text_embeddings.device)
        was_training = self.clip.training
        self.clip.eval()
        emb = self.clip.encode_text(tokens).float()
        self.clip.train(was_training)
        self.text_embeddings.copy_(nn.functional.normalize(emb, dim=-1))

    def train(self, mode: bool = True) -> ClipQualityScorer:
        super().train(mode)
        self.clip.transformer.eval()  # the frozen text tower never trains (dropout off)
        return self

    def frame_embeddings(self, frames: Tensor) -> Tensor:
        """(B, T, 3, S, S) in [0, 1] -> (B, D) L2-normalised mean frame embedding."""
        if frames.ndim != 5 or frames.shape[2] != 3:
            raise ValueError(f"expected frames (B, T, 3, H, W), got shape {tuple(frames.shape)}")
        b, t = frames.shape[:2]
        x = normalize(frames.reshape(b * t, *frames.shape[2:]), "clip")
        emb = self.clip.encode_image(x).float().reshape(b, t, -1).mean(dim=1)
        return nn.functional.normalize(emb, dim=-1)

    def forward(self, frames: Tensor) -> Tensor:
        cos = self.frame_embeddings(frames) @ self.text_embeddings.t()  # (B, 2 * pairs)
        pos, neg = cos[:, 0::2], cos[:, 1::2]
        return torch.sigmoid((pos - neg) / self.tau).sum(dim=1)
