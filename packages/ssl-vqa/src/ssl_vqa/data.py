"""Clips for SSL-VQA / QASA-VQA: two fragment views per video, paired labelled + unlabelled items.

Decoding, per-item seeding and failure accounting are vqa-core's `VideoDataset`; this module
only says which frames (a `FragmentSampleFrames` sampler) and what to make of them (`Views`):

- training: the same frames seen through two fragment views, offsets in the first and second
  half of every grid cell (`vqa_core.sampling.two_view_fragments`), normalised for Swin3D; for
  QASA also the frames squash-resized to CLIP's input, all of them and every `view_stride`-th;
- test: `test_clips` deterministic clips with centred fragments (and the CLIP frames).

The shared Trainer iterates one dataset, so `PairedDataset` pairs every labelled video with
unlabelled ones drawn deterministically from (seed, epoch, index): the unlabelled pool is
walked in a fresh seeded permutation per cycle, continuing across epochs, as the seeds'
cyclic unlabelled loader did; the epoch's pristine reference cubes (SSL-VQA) ride along as
indices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, default_collate

from st_vqrl.config import ClipConfig
from st_vqrl.pretrain import to_model_input
from vqa_core.datasets import DecodeFailure, ManifestItem, VideoDataset
from vqa_core.sampling import FragmentSampleFrames, spatial_fragments, two_view_fragments
from vqa_core.transforms import resize_frames

__all__ = [
    "ClipSampler",
    "PairedDataset",
    "TestDataset",
    "Views",
    "collate_batch",
    "collate_pairs",
    "collate_test",
]


@dataclass(frozen=True)
class ClipSampler:
    """`VideoDataset` sampler: FragmentSampleFrames in train (random) or test (centred) mode."""

    sampler: FragmentSampleFrames
    train: bool

    def __call__(self, num_frames: int, rng: np.random.Generator) -> np.ndarray:
        return self.sampler(num_frames, train=self.train, rng=rng if self.train else None)


def make_sampler(cfg: Any, train: bool, geometry: str | None = None) -> ClipSampler:
    """Training clips (random, 1 clip) or test clips (centred, `test_clips`); `geometry` picks the
    clip length and temporal fragments: "train" or "test" (default: the mode's own)."""
    s = cfg.sampling
    geometry = geometry or ("train" if train else "test")
    length, parts = (s.clip_len, s.fragments_t) if geometry == "train" else (s.eval_clip_len, s.eval_fragments_t)
    frames = FragmentSampleFrames(
        fsize_t=length // parts,
        fragments_t=parts,
        frame_interval=s.frame_interval,
        num_clips=1 if train else s.test_clips,
    )
    return ClipSampler(frames, train)


@dataclass(frozen=True)
class Views:
    """`VideoDataset` transform: uint8 (T, H, W, 3) clip -> the tensors a step needs.

    `fragments`: st-vqrl's clip config (fragment grid, patch, alignment and the trunk's input
    normalisation); its `clip_len` is not used, `clip_len` here is the views' length.
    `clip_size`: CLIP's input size (None: no CLIP frames, SSL-VQA). `two_views`: training
    views (`v`, `w`, and `cv`, `cw` for CLIP) or test clips (`clips` (K, 3, T, H, W), `frames`).
    """

    fragments: ClipConfig
    clip_len: int
    two_views: bool
    clip_size: int | None = None
    view_stride: int = 4

    def _input(self, mosaics: torch.Tensor) -> torch.Tensor:
        """uint8 (3, T, S, S) fragment mosaics -> the trunk's input, as ST-VQRL feeds its trunk."""
        return to_model_input(mosaics, self.fragments)

    def _frames(self, clip: torch.Tensor) -> torch.Tensor:
        """(T, H, W, 3) uint8 -> (T, 3, S, S) float in [0, 1], squash-resized (CLIP's input)."""
        assert self.clip_size is not None
        x = clip.permute(0, 3, 1, 2).float().div_(255.0)
        return resize_frames(x, (self.clip_size, self.clip_size)).clamp_(0.0, 1.0)

    def __call__(self, clip: torch.Tensor, seed: int) -> dict[str, torch.Tensor]:
        cthw = clip.permute(3, 0, 1, 2)  # (3, T, H, W) uint8
        f = self.fragments
        kwargs = dict(grid=f.grid, patch=f.patch, aligned=f.aligned)
        out: dict[str, torch.Tensor] = {}
        if self.two_views:
            rng = np.random.default_rng(seed)
            v, w = two_view_fragments(cthw, rng=rng, **kwargs)
            out["v"] = self._input(v)
            out["w"] = self._input(w)
            if self.clip_size is not None:
                frames = self._frames(clip)
                out["cv"] = frames
                out["cw"] = frames[:: self.view_stride]
            return out
        t = cthw.shape[1]
        k = max(t // self.clip_len, 1)
        clips = [
            self._input(spatial_fragments(cthw[:, i * self.clip_len : (i + 1) * self.clip_len], **kwargs))
            for i in range(k)
        ]
        out["clips"] = torch.stack(clips)
        if self.clip_size is not None:
            out["frames"] = self._frames(clip)
        return out


def make_views(cfg: Any, two_views: bool, clip_size: int | None, clip_len: int | None = None) -> Views:
    c = cfg.stvqrl.clip
    view_stride = cfg.clip.view_stride if hasattr(cfg, "clip") else 4
    length = clip_len or (cfg.sampling.clip_len if two_views else cfg.sampling.eval_clip_len)
    return Views(c, length, two_views, clip_size, view_stride)


class TestDataset(Dataset):
    """Deterministic test clips of `items` (validation, prediction; reference cubes with
    `geometry="train"`: the training clips' length and fragments)."""

    def __init__(
        self,
        items: Sequence[ManifestItem],
        cfg: Any,
        clip_size: int | None,
        num_clips: int | None = None,
        geometry: str = "test",
    ):
        sampler = make_sampler(cfg, train=False, geometry=geometry)
        if num_clips is not None:
            s = sampler.sampler
            sampler = ClipSampler(FragmentSampleFrames(s.fsize_t, s.fragments_t, s.frame_interval, num_clips), False)
        s = cfg.sampling
        clip_len = s.clip_len if geometry == "train" else s.eval_clip_len
        self.videos = VideoDataset(items, sampler, transform=make_views(cfg, False, clip_size, clip_len))

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> dict[str, Any] | DecodeFailure:
        item = self.videos[index]
        if isinstance(item, DecodeFailure):
            return item
        return {**item["video"], "target": item["target"]}


def collate_test(batch: Sequence[Mapping[str, Any] | DecodeFailure]) -> dict[str, Any]:
    """Stack test items; an undecodable video is an error here (scores must cover every item)."""
    for item in batch:
        if isinstance(item, DecodeFailure):
            from vqa_core.errors import VideoDecodeError

            raise VideoDecodeError(f"cannot score {item.path}: {item.reason}")
    return default_collate(list(batch))


class PairedDataset(Dataset):
    """Item i = labelled video i + `per_labelled` unlabelled videos + this epoch's reference indices.

    `targets` are the labelled items' training targets (normalised MOS). `num_references` > 0
    adds `ref_index`, the epoch's draw of that many reference cubes out of `reference_total`.
    """

    def __init__(
        self,
        labelled: Sequence[ManifestItem],
        unlabelled: Sequence[ManifestItem],
        targets: Sequence[float],
        cfg: Any,
        clip_size: int | None,
        seed: int = 0,
        per_labelled: int = 1,
        num_references: int = 0,
        reference_total: int = 0,
    ) -> None:
        sampler = make_sampler(cfg, train=True)
        views = make_views(cfg, True, clip_size)
        self.labelled = VideoDataset(labelled, sampler, transform=views, seed=seed)
        self.unlabelled = (
            VideoDataset(unlabelled, sampler, transform=views, seed=seed + 1) if unlabelled and per_labelled else None
        )
        self.targets = torch.as_tensor(list(targets), dtype=torch.float32)
        self.seed = int(seed)
        self.per_labelled = int(per_labelled) if self.unlabelled is not None else 0
        self.num_references = min(int(num_references), int(reference_total))
        self.reference_total = int(reference_total)
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()

    def __len__(self) -> int:
        return len(self.labelled)

    def set_epoch(self, epoch: int) -> None:
        self._epoch.fill_(int(epoch))
        self.labelled.set_epoch(epoch)
        if self.unlabelled is not None:
            self.unlabelled.set_epoch(epoch)

    def unlabelled_indices(self, index: int) -> list[int]:
        """Unlabelled items paired with labelled item `index` in the current epoch."""
        if self.unlabelled is None:
            return []
        n_u = len(self.unlabelled)
        out = []
        for j in range(self.per_labelled):
            pos = (int(self._epoch) * len(self) + int(index)) * self.per_labelled + j
            cycle, slot = divmod(pos, n_u)
            perm = np.random.default_rng(np.random.SeedSequence([self.seed, 7, cycle])).permutation(n_u)
            out.append(int(perm[slot]))
        return out

    def reference_indices(self) -> torch.Tensor:
        """The epoch's reference cubes (the seeds drew 24 of 240 once per epoch)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 11, int(self._epoch)]))
        pick = np.sort(rng.choice(self.reference_total, size=self.num_references, replace=False))
        return torch.from_numpy(pick.astype(np.int64))

    def __getitem__(self, index: int) -> dict[str, Any] | None:
        lab = self.labelled[index]
        if isinstance(lab, DecodeFailure):
            return None
        out: dict[str, Any] = {f"l_{k}": v for k, v in lab["video"].items()}
        out["target"] = self.targets[index]
        if self.unlabelled is not None:
            unl = [self.unlabelled[j] for j in self.unlabelled_indices(index)]
            unl = [u for u in unl if not isinstance(u, DecodeFailure)]
            if len(unl) == self.per_labelled:
                for key in unl[0]["video"]:
                    out[f"u_{key}"] = torch.stack([u["video"][key] for u in unl])
        if self.num_references > 0:
            out["ref_index"] = self.reference_indices()
        return out


def collate_pairs(batch: Sequence[Mapping[str, Any] | None]) -> dict[str, Any]:
    """Stack paired items; failed videos are dropped (logged by `VideoDataset`).

    Unlabelled parts are concatenated (B x per_labelled) and kept only if every item has one.
    """
    items = [b for b in batch if b is not None]
    if not items:
        return {"empty": torch.ones(1)}
    lab_keys = [k for k in items[0] if not k.startswith("u_")]
    out = {k: default_collate([it[k] for it in items]) for k in lab_keys if all(k in it for it in items)}
    u_keys = [k for k in items[0] if k.startswith("u_")]
    if u_keys and all(all(k in it for k in u_keys) for it in items):
        for key in u_keys:
            out[key] = torch.cat([it[key] for it in items])
    return out


def collate_batch(batch: Sequence[Any]) -> dict[str, Any]:
    """The Trainer's one collate function: test items (validation) or paired training items."""
    if any(isinstance(b, DecodeFailure) or (isinstance(b, Mapping) and "clips" in b) for b in batch):
        return collate_test(batch)
    return collate_pairs(batch)
