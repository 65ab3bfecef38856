"""Frozen ST-VQRL token features, extracted once and cached on disk.

A cache entry holds one video's backbone tokens (N, C) and projected tokens (N, D) over all its
evaluation clips. Its key digests the video file's identity (resolved path, size, mtime), the
sampling (clip config and clip count) and the weights (a hash of every backbone and projection
tensor), so a changed file, sampler or checkpoint never reuses a stale entry. Writes are
atomic, so torchrun ranks can fill one cache together (`predict_dataset` shards the videos).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from st_vqrl.config import ClipConfig
from st_vqrl.data import EvalClipDataset
from st_vqrl.pretrain import to_model_input
from vqa_core.train import barrier, predict_dataset

__all__ = ["TokenCache", "default_cache_dir", "extract_tokens", "weights_hash"]


def default_cache_dir() -> Path:
    """`$VQA_ZOO_CACHE/st-vqrl`, else `$XDG_CACHE_HOME/vqa-zoo/st-vqrl`, else `~/.cache/vqa-zoo/st-vqrl`."""
    root = os.environ.get("VQA_ZOO_CACHE")
    if root:
        return Path(root) / "st-vqrl"
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vqa-zoo" / "st-vqrl"


def weights_hash(*modules: nn.Module) -> str:
    """Digest of every tensor (name, shape, bytes) of the given modules."""
    h = hashlib.sha256()
    for module in modules:
        for name, tensor in sorted(module.state_dict().items()):
            t = tensor.detach().to("cpu").contiguous()
            h.update(f"{name}:{tuple(t.shape)}:{t.dtype}".encode())
            h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()[:20]


def _digest(payload: Mapping[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:24]


def _safe(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in str(name))
    return keep[:60] or "video"


class TokenCache:
    """One `.pt` file per (video, sampling, weights): {"tokens": (N, C), "projected": (N, D)} float32."""

    def __init__(self, root: str | Path, weights_id: str, clip: ClipConfig, num_clips: int) -> None:
        self.root = Path(root) / "tokens" / weights_id
        self.sampling = {"clip": asdict(clip), "num_clips": int(num_clips)}

    def path(self, video: str | Path) -> Path:
        p = Path(video).resolve()
        stat = p.stat()
        key = _digest({"video": str(p), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **self.sampling})
        return self.root / f"{_safe(p.stem)}-{key}.pt"

    def write(self, path: Path, entry: Mapping[str, torch.Tensor]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        try:
            torch.save({k: v.detach().to("cpu", torch.float32).contiguous() for k, v in entry.items()}, tmp)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @staticmethod
    def read(path: Path) -> dict[str, torch.Tensor]:
        return torch.load(path, map_location="cpu", weights_only=True)


class _Extractor(nn.Module):
    def __init__(self, backbone: nn.Module, projection: nn.Module) -> None:
        super().__init__()
        self.backbone = backbone
        self.projection = projection


def extract_tokens(
    backbone: nn.Module,
    projection: nn.Module,
    videos: Sequence[str | Path],
    clip: ClipConfig,
    num_clips: int,
    *,
    cache_dir: str | Path | None,
    device: torch.device,
    batch_size: int = 2,
    progress: bool = False,
    description: str = "st-vqrl: tokens",
) -> list[dict[str, torch.Tensor]]:
    """Token sets of `videos` in order; computed for the ones not cached (`cache_dir=None`: no cache).

    Each entry: "tokens" (num_clips * T' * H' * W', C) and "projected" (same count, D).
    """
    videos = [Path(v) for v in videos]
    model = _Extractor(backbone, projection).to(device).eval()

    def run(m: nn.Module, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        k = clips.shape[1]
        tokens = m.backbone(to_model_input(clips.flatten(0, 1)))  # (B*K, C, T', H', W')
        projected = m.projection(tokens)  # (B*K, n, D)
        flat = tokens.flatten(2).transpose(1, 2)  # (B*K, n, C)
        b = clips.shape[0]
        return flat.reshape(b, k * flat.shape[1], -1), projected.reshape(b, k * projected.shape[1], -1)

    if cache_dir is None:
        out = predict_dataset(
            model,
            EvalClipDataset(videos, clip, num_clips),
            lambda m, batch: dict(zip(("tokens", "projected"), run(m, batch["clips"]))),
            batch_size=batch_size,
            device=device,
            progress=progress,
            description=description,
        )
        return [
            {"tokens": torch.from_numpy(out["tokens"][i]), "projected": torch.from_numpy(out["projected"][i])}
            for i in range(len(videos))
        ]

    cache = TokenCache(cache_dir, weights_hash(backbone, projection), clip, num_clips)
    paths = [cache.path(v) for v in videos]
    todo = [i for i, p in enumerate(paths) if not p.is_file()]
    if todo:
        todo_paths = [paths[i] for i in todo]

        def step(m: nn.Module, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
            tokens, projected = run(m, batch["clips"])
            for j, t, p in zip(batch["index"].tolist(), tokens, projected):
                cache.write(todo_paths[j], {"tokens": t, "projected": p})
            return {"done": torch.ones(len(tokens))}

        predict_dataset(
            model,
            _WithIndex(EvalClipDataset([videos[i] for i in todo], clip, num_clips)),
            step,
            batch_size=batch_size,
            device=device,
            progress=progress,
            description=description,
        )
        barrier()
    return [TokenCache.read(p) for p in paths]


class _WithIndex(torch.utils.data.Dataset):
    def __init__(self, dataset: torch.utils.data.Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {**self.dataset[index], "index": index}
