"""Frozen ST-VQRL token features, extracted once and cached on disk.

A cache entry holds one video's backbone tokens (N, C) and projected tokens (N, D) over all its
evaluation clips. Its key digests the video file's identity (resolved path, size, mtime), the
sampling (clip config and clip count), the weights (a hash of every backbone and projection
tensor) and `TOKENS_VERSION`, so a changed file, sampler, checkpoint or extraction code never
reuses a stale entry. Writes are atomic, so torchrun ranks can fill one cache together
(`score_dataset` shards the videos). `token_scores` also times each video's decoding and
network pass and reports a video it cannot read instead of raising, for `Method.score`.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import nn

from st_vqrl.config import ClipConfig
from st_vqrl.data import EvalClipDataset
from st_vqrl.pretrain import to_model_input
from vqa_core.datasets import ManifestItem
from vqa_core.train import Precision, score_dataset
from vqa_core.train.distributed import broadcast_object

__all__ = ["TOKENS_VERSION", "TokenCache", "TokenScores", "token_scores", "weights_hash"]

#: Version of the code that computes cached tokens (clip sampling, normalisation, the forward):
#: bump it when that code's output changes, so no cache serves tokens of the older code.
TOKENS_VERSION = 2  # 2: entries hold per-stage statistics


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
    """One `.pt` file per (video, sampling, weights): {"tokens": (N, C), "projected": (N, D),
    "stages": (K, F)} float32."""

    def __init__(self, root: str | Path, weights_id: str, clip: ClipConfig, num_clips: int) -> None:
        self.root = Path(root) / "tokens" / weights_id
        self.sampling = {"clip": asdict(clip), "num_clips": int(num_clips)}

    def path(self, video: str | Path) -> Path:
        p = Path(video).resolve()
        stat = p.stat()
        key = _digest(
            {"video": str(p), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **self.sampling, "version": TOKENS_VERSION}
        )
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
    def __init__(self, backbone: nn.Module, projection: nn.Module, clip: ClipConfig) -> None:
        super().__init__()
        self.backbone = backbone
        self.projection = projection
        self.clip = clip

    def forward(self, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """uint8 (B, K, 3, L, S, S) -> tokens (B, K*n, C), projected tokens (B, K*n, D) and
        per-stage statistics (B, K, F)."""
        b, k = clips.shape[:2]
        tokens, stages = self.backbone.forward_stages(to_model_input(clips.flatten(0, 1), self.clip))  # (B*K, C, T', H', W')
        projected = self.projection(tokens)  # (B*K, n, D)
        flat = tokens.flatten(2).transpose(1, 2)  # (B*K, n, C)
        return (
            flat.reshape(b, k * flat.shape[1], -1),
            projected.reshape(b, k * projected.shape[1], -1),
            stages.reshape(b, k, -1),
        )


class TokenScores(NamedTuple):
    """Per video: its entry (None where it failed), decode and network seconds, the error."""

    entries: list[dict[str, torch.Tensor] | None]
    decode_s: np.ndarray
    model_s: np.ndarray
    errors: list[str | None]


def token_scores(
    backbone: nn.Module,
    projection: nn.Module,
    videos: Sequence[str | Path | ManifestItem],
    clip: ClipConfig,
    num_clips: int,
    *,
    cache_dir: str | Path | None,
    device: torch.device,
    batch_size: int = 2,
    progress: bool = False,
    description: str = "st-vqrl: tokens",
    precision: Precision | None = None,
) -> TokenScores:
    """Token sets of `videos` in order, with timings; computed for the ones not cached
    (`cache_dir=None`: no cache). A cached video's decode seconds are the cache read, its
    model seconds 0. A video that cannot be read gets None and its reason. Each entry:
    "tokens" (num_clips * T' * H' * W', C), "projected" (same count, D) and "stages"
    (num_clips, F), each clip's per-stage mean and std (`FragmentSwin3d.forward_stages`).
    The backbone runs under `precision`'s autocast (None: float32); tokens made in bf16 are
    cached apart from float32 ones (the weights id gets a `-bf16` suffix)."""
    videos = [v if isinstance(v, ManifestItem) else Path(v) for v in videos]  # items keep their raw format
    names = [str(v.path if isinstance(v, ManifestItem) else v) for v in videos]
    n = len(videos)
    model = _Extractor(backbone, projection, clip).to(device).eval()
    entries: list[dict[str, torch.Tensor] | None] = [None] * n
    decode_s, model_s = np.full(n, np.nan), np.full(n, np.nan)
    errors: list[str | None] = [None] * n
    weights_id = weights_hash(backbone, projection)
    if precision is not None and precision.enabled:
        weights_id += f"-{precision.name}"
    cache = TokenCache(cache_dir, weights_id, clip, num_clips) if cache_dir else None
    paths: list[Path | None] = [None] * n
    for i in range(n):
        try:
            paths[i] = cache.path(names[i]) if cache is not None else None
        except OSError as err:
            errors[i] = f"{names[i]}: cannot read the video ({err})"
    # rank 0 says which entries are missing: under torchrun every rank must run the same list
    # (another rank may already be writing entries of this call)
    readable = [i for i in range(n) if errors[i] is None]
    todo = broadcast_object([i for i in readable if paths[i] is None or not paths[i].is_file()])
    for i in sorted(set(readable) - set(todo)):
        start = time.perf_counter()
        entries[i] = TokenCache.read(paths[i])
        decode_s[i], model_s[i] = time.perf_counter() - start, 0.0
    if not todo:
        return TokenScores(entries, decode_s, model_s, errors)

    def forward(batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        tokens, projected, stages = model(batch["clips"])
        if cache is not None:
            for j, t, p, s in zip(batch["job"].tolist(), tokens, projected, stages):
                cache.write(paths[todo[j]], {"tokens": t, "projected": p, "stages": s})
        return {"tokens": tokens, "projected": projected, "stages": stages}

    result = score_dataset(
        _Jobs(EvalClipDataset([videos[i] for i in todo], clip, num_clips)),
        forward,
        batch_size=batch_size,
        device=device,
        names=[names[i] for i in todo],
        progress=progress,
        description=description,
        precision=precision,
    )
    for k, i in enumerate(todo):
        errors[i], decode_s[i], model_s[i] = result.errors[k], result.decode_s[k], result.model_s[k]
        row = result.outputs[k]
        if row is not None:
            entries[i] = {key: torch.from_numpy(np.ascontiguousarray(v)).float() for key, v in row.items()}
    return TokenScores(entries, decode_s, model_s, errors)


class _Jobs(torch.utils.data.Dataset):
    """The wrapped dataset's items with their position as "job"."""

    def __init__(self, dataset: torch.utils.data.Dataset) -> None:
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)  # type: ignore[arg-type]

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {**self.dataset[index], "job": index}
