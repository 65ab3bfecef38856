"""What ST-VQRL reads: scenes of distortion versions for pretraining, fragment clips for evaluation.

Pretraining item (seed_audit §4.3, with its bugs fixed): one scene, the pristine plus `k`
distinct distorted versions drawn from the 12, two clips of `clip_len` frames from disjoint
temporal halves (`disjoint_clip_indices`; the seed's `SampleFrames(num_clips=2)`, whose clips
can overlap or coincide on short videos, is `clip_windows="seed"`), the *same* frame indices and the
*same* fragment positions for every version, so versions differ only by their distortion.
Randomness comes from (seed, epoch, index), so resumed runs and worker processes replay it.

Scenes come from the demo's manifest (`scene` / `version` columns) or from a folder written by
`vqa st-vqrl make-synthetic` (`vqa_core.distort.distorted_name` file names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from st_vqrl.config import ClipConfig
from vqa_core.datasets import ManifestItem
from vqa_core.datasets.manifest import raw_format_of
from vqa_core.distort import NUM_VERSIONS, parse_distorted_name
from vqa_core.errors import ConfigError, DatasetError, VideoDecodeError
from vqa_core.sampling import SampleFrames, apply_fragments, fragment_offsets, spatial_fragments
from vqa_core.video import probe, read_clip

__all__ = [
    "EvalClipDataset",
    "PretrainDataset",
    "Scene",
    "disjoint_clip_indices",
    "eval_clips",
    "scenes_from_folder",
    "scenes_from_items",
]

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".mpg", ".ts", ".flv")


@dataclass
class Scene:
    """One source clip and its distortion versions: `paths[v]` for version v (0 = pristine)."""

    scene_id: str
    paths: dict[int, Path] = field(default_factory=dict)
    num_frames: int | None = None
    raw: dict[int, Any] = field(default_factory=dict)  # version -> RawFormat of a headerless .yuv

    @property
    def distorted(self) -> list[int]:
        return sorted(v for v in self.paths if v != 0)


def _check_scenes(scenes: list[Scene], k: int, source: str) -> list[Scene]:
    usable = [s for s in scenes if 0 in s.paths and len(s.distorted) >= k]
    if not usable:
        raise DatasetError(
            f"{source}: no scene has a pristine version (v00) and at least k={k} distorted versions "
            f"({len(scenes)} scene(s) found); build them with `vqa st-vqrl make-synthetic` or lower pretrain.k"
        )
    return sorted(usable, key=lambda s: s.scene_id)


def scenes_from_items(items: Sequence[ManifestItem], k: int, source: str = "manifest") -> list[Scene]:
    """Group manifest items by their `scene` and `version` columns (the demo's layout)."""
    scenes: dict[str, Scene] = {}
    for item in items:
        extra = item.extra or {}
        if "scene" not in extra or "version" not in extra:
            raise DatasetError(
                f"{source}: item {item.video_id} ({item.path}) has no 'scene'/'version' columns; ST-VQRL "
                "pretraining needs distortion versions grouped by scene"
            )
        scene = scenes.setdefault(str(extra["scene"]), Scene(str(extra["scene"])))
        scene.paths[int(extra["version"])] = Path(item.path)
        if raw_format_of(item) is not None:
            scene.raw[int(extra["version"])] = raw_format_of(item)
        if isinstance(extra.get("num_frames"), int) and extra["num_frames"] > 0:
            n = int(extra["num_frames"])
            scene.num_frames = n if scene.num_frames is None else min(scene.num_frames, n)
    return _check_scenes(list(scenes.values()), k, source)


def scenes_from_folder(folder: str | Path, k: int) -> list[Scene]:
    """Scenes in a folder of `<scene>_vNN.mp4` files (recursively), as `make-synthetic` writes them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"pretraining folder {folder} does not exist")
    scenes: dict[str, Scene] = {}
    for path in sorted(folder.rglob("*_v[0-9][0-9].mp4")):
        try:
            scene_id, version = parse_distorted_name(path.name)
        except ConfigError:
            continue
        scenes.setdefault(scene_id, Scene(scene_id)).paths[version] = path
    return _check_scenes(list(scenes.values()), k, str(folder))


def _num_frames(scene: Scene) -> int:
    if scene.num_frames is None:
        counts = [int(probe(p, raw=scene.raw.get(v)).num_frames) for v, p in scene.paths.items()]
        scene.num_frames = min(counts)
    if scene.num_frames < 1:
        raise VideoDecodeError(f"scene {scene.scene_id}: a version reports no frames ({scene.paths[0]})")
    return scene.num_frames


def disjoint_clip_indices(
    num_frames: int, clip_len: int, frame_interval: int, rng: np.random.Generator, source: str = "video"
) -> np.ndarray:
    """Two clips, one wholly inside each half of the video: flat int64 indices (2 * clip_len).

    Half h covers frames `[h * n//2, (h + 1) * n//2)`; each clip starts uniformly where its
    `clip_len * frame_interval` span fits in its half, so the two views share no frame for any
    draw. ST-VQRL's positives are "the same distortion at a different time": identical or
    overlapping views would let the objective match pixels instead of distortion.
    """
    half = int(num_frames) // 2
    span = (clip_len - 1) * frame_interval + 1
    if span > half:
        raise DatasetError(
            f"{source}: {num_frames} frames cannot hold two disjoint clips of {clip_len} frames at interval "
            f"{frame_interval} ({span} frames each, {half} per half); use longer videos, a shorter clip.clip_len "
            "or clip.frame_interval, or pretrain.clip_windows=seed (overlapping clips)"
        )
    starts = [h * half + int(rng.integers(0, half - span + 1)) for h in range(2)]
    steps = np.arange(clip_len, dtype=np.int64) * frame_interval
    return np.concatenate([s + steps for s in starts]).astype(np.int64)


class PretrainDataset(Dataset):
    """Item i: `{"clips": uint8 (V, 2, 3, clip_len, S, S)}`, V = k + 1 versions (pristine first).

    View 0 is the clip from the first temporal half, view 1 the one from the second
    (`windows="disjoint"`: no shared frame; `"seed"`: `SampleFrames(num_clips=2)`).
    `draws` > 1 gives each scene that many items per epoch (item i is scene i % len(scenes)),
    each with its own versions, clips and fragments: a held-out check averages over several.
    `scenes_per_epoch`: visit only that many scenes per epoch, a fresh draw (seed, epoch) each
    epoch; `None` visits all of them.
    """

    def __init__(
        self,
        scenes: Sequence[Scene],
        clip: ClipConfig,
        k: int,
        seed: int = 0,
        draws: int = 1,
        *,
        windows: str = "disjoint",
        scenes_per_epoch: int | None = None,
    ) -> None:
        if not 1 <= k < NUM_VERSIONS:
            raise ConfigError(f"k must be in 1..{NUM_VERSIONS - 1}, got {k}")
        if draws < 1:
            raise ConfigError(f"draws (items per scene) must be >= 1, got {draws}")
        self.scenes = list(scenes)
        self.draws = int(draws)
        self.clip = clip
        self.k = int(k)
        self.seed = int(seed)
        self.epoch = 0
        if windows not in ("disjoint", "seed"):
            raise ConfigError(f"windows must be 'disjoint' or 'seed', got {windows!r}")
        self.windows = windows
        if scenes_per_epoch is not None and int(scenes_per_epoch) < 1:
            raise ConfigError(f"scenes_per_epoch must be >= 1, got {scenes_per_epoch}")
        self.scenes_per_epoch = None if scenes_per_epoch is None else int(scenes_per_epoch)
        self.sampler = SampleFrames(clip.clip_len, clip.frame_interval, num_clips=2)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    @property
    def per_epoch(self) -> int:
        """Scenes visited per epoch."""
        n = len(self.scenes)
        return n if self.scenes_per_epoch is None else min(self.scenes_per_epoch, n)

    def __len__(self) -> int:
        return self.per_epoch * self.draws

    def scene(self, index: int) -> Scene:
        """The scene of item `index` in the current epoch."""
        if self.per_epoch == len(self.scenes):
            return self.scenes[index % len(self.scenes)]
        order = np.random.default_rng([self.seed, self.epoch, 104729]).permutation(len(self.scenes))
        return self.scenes[int(order[index % self.per_epoch])]

    def frame_indices(self, scene: Scene, rng: np.random.Generator) -> np.ndarray:
        """Both clips' frame indices (flat, view 0 then view 1)."""
        if self.windows == "seed":
            return self.sampler(_num_frames(scene), train=True, rng=rng)
        return disjoint_clip_indices(
            _num_frames(scene), self.clip.clip_len, self.clip.frame_interval, rng, f"scene {scene.scene_id}"
        )

    def versions(self, index: int, rng: np.random.Generator) -> list[int]:
        scene = self.scene(index)
        chosen = rng.choice(scene.distorted, size=self.k, replace=False)
        return [0, *sorted(int(v) for v in chosen)]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        rng = np.random.default_rng([self.seed, self.epoch, index])
        versions = self.versions(index, rng)
        scene = self.scene(index)
        indices = self.frame_indices(scene, rng)
        frames = []
        for v in versions:
            clip = read_clip(scene.paths[v], indices, raw=scene.raw.get(v))  # (2L, H, W, 3) uint8
            if frames and clip.shape != frames[0].shape:
                raise DatasetError(
                    f"scene {scene.scene_id}: {scene.paths[v]} decodes to {clip.shape[1:3]} but "
                    f"{scene.paths[0]} to {frames[0].shape[1:3]}; versions must share their geometry"
                )
            frames.append(clip)
        video = torch.from_numpy(np.stack(frames)).permute(0, 4, 1, 2, 3)  # (V, 3, 2L, H, W)
        length = self.clip.clip_len
        _, _, _, h, w = video.shape
        offsets = fragment_offsets(
            h, w, length, grid=self.clip.grid, patch=self.clip.patch, aligned=self.clip.aligned, rng=rng
        )
        views = [apply_fragments(video[:, :, i * length : (i + 1) * length], offsets) for i in range(2)]
        return {"clips": torch.stack(views, dim=1).contiguous()}


def eval_clips(video: str | Path | ManifestItem, clip: ClipConfig, num_clips: int) -> torch.Tensor:
    """Deterministic evaluation input: `num_clips` centred clips, centred fragments; uint8 (K, 3, L, S, S).

    A `ManifestItem` of a headerless .yuv brings its raw geometry (`raw_*` columns), as every
    method reads raw video (a bare path to a .yuv cannot be decoded)."""
    path, raw = (video.path, raw_format_of(video)) if isinstance(video, ManifestItem) else (Path(video), None)
    sampler = SampleFrames(clip.clip_len, clip.frame_interval, num_clips=num_clips)
    n = int(probe(path, raw=raw).num_frames)
    if n < 1:
        raise VideoDecodeError(f"{path}: the video reports no frames")
    frames = read_clip(path, sampler(n, train=False), raw=raw)
    video = torch.from_numpy(frames).permute(3, 0, 1, 2)  # (3, K*L, H, W)
    parts = video.reshape(3, num_clips, clip.clip_len, *video.shape[-2:]).transpose(0, 1)
    return spatial_fragments(parts, grid=clip.grid, patch=clip.patch, aligned=clip.aligned).contiguous()


class EvalClipDataset(Dataset):
    """`{"clips": uint8 (K, 3, L, S, S)}` per video (a path, or a manifest item with its raw format)."""

    def __init__(self, paths: Sequence[str | Path | ManifestItem], clip: ClipConfig, num_clips: int) -> None:
        self.paths = [p if isinstance(p, ManifestItem) else Path(p) for p in paths]
        self.clip = clip
        self.num_clips = int(num_clips)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"clips": eval_clips(self.paths[index], self.clip, self.num_clips)}


def video_files(folder: str | Path) -> list[Path]:
    """Video files in a folder (recursively), sorted."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"video folder {folder} does not exist")
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
