"""Saliency training data: clips of frames with their maps (and fixations) at the same indices.

The seeds paired frames and maps by sorted-zip order, so sampled frames met the first maps
(seed_audit §1.2, §6 item 9). Here a clip is a list of frame indices, and frames, maps and
fixations are all read at exactly those indices:

- a video file frame source (DHF1K's AVIs) is decoded at the indices; map files are numbered
  from `map_index_base` (DHF1K numbers frames from 1);
- a folder of frame images (DIEM's `img_00001.jpg`, demo-saliency's `000012.png`) is paired with
  the maps by the number in the file names.

Randomness (clip start, augmentation) derives from (seed, epoch, index), so a resumed run and
DataLoader workers see exactly the same samples.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from saliency_core.config import DataConfig, SaliencyConfig
from vqa_core.datasets import ManifestItem, saliency_paths
from vqa_core.errors import DatasetError
from vqa_core.train import derive_seed
from vqa_core.transforms import ClipAugment

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def file_number(path: Path) -> int | None:
    """The last number in a file name (`0012.png` -> 12, `eyeMap_00003.jpg` -> 3), or None."""
    match = _NUMBER.search(path.stem)
    return int(match.group(1)) if match else None


def numbered_files(folder: Path, suffixes: Sequence[str] = IMAGE_SUFFIXES) -> dict[int, Path]:
    """Number -> file for the numbered files of `folder` with one of `suffixes`."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: folder not found")
    out: dict[int, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() in suffixes:
            number = file_number(path)
            if number is not None:
                out[number] = path
    return out


def read_gray(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A map image as float32 `(H, W)` in [0, 1], resized (bilinear, antialiased) to `size`."""
    try:
        with Image.open(path) as img:
            arr = np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    except OSError as err:
        raise DatasetError(f"{path}: cannot read the map image ({err})") from err
    if arr.shape != tuple(size):
        t = torch.from_numpy(arr)[None, None]
        arr = F.interpolate(t, size=size, mode="bilinear", align_corners=False, antialias=True)[0, 0].numpy()
    return arr


def read_rgb(path: Path, size: tuple[int, int]) -> np.ndarray:
    """A frame image as uint8 `(H, W, 3)`, resized to `size`."""
    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
            if img.size != (size[1], size[0]):
                img = img.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            return np.asarray(img, dtype=np.uint8)
    except OSError as err:
        raise DatasetError(f"{path}: cannot read the frame image ({err})") from err


def read_fixations(path: Path, size: tuple[int, int]) -> np.ndarray:
    """Binary fixations `(H, W)` float32 {0, 1}, each fixated pixel mapped into the `size` grid.

    Reads an image (> 0 is a fixation) or a MATLAB file (DIEM's `fixMap_*.mat`, the first 2-D
    array in it). Resizing maps coordinates, so no fixation is lost or blurred.
    """
    if path.suffix.lower() == ".mat":
        from scipy.io import loadmat

        try:
            content = loadmat(path)
        except (OSError, ValueError) as err:
            raise DatasetError(f"{path}: cannot read the fixation .mat file ({err})") from err
        arrays = [v for k, v in content.items() if not k.startswith("__") and getattr(v, "ndim", 0) == 2]
        if not arrays:
            raise DatasetError(f"{path}: no 2-D fixation array inside (keys: {sorted(content)})")
        fix = np.asarray(arrays[0]) > 0
    else:
        try:
            with Image.open(path) as img:
                fix = np.asarray(img.convert("L")) > 0
        except OSError as err:
            raise DatasetError(f"{path}: cannot read the fixation image ({err})") from err
    out = np.zeros(size, dtype=np.float32)
    ys, xs = np.nonzero(fix)
    if ys.size:
        h0, w0 = fix.shape
        yy = np.minimum((ys * size[0]) // h0, size[0] - 1)
        xx = np.minimum((xs * size[1]) // w0, size[1] - 1)
        out[yy, xx] = 1.0
    return out


@dataclass
class SaliencyClipSource:
    """One saliency video: where its frames, maps and fixations are, and which frames have maps."""

    item: ManifestItem
    frames: dict[int, Path] | None  # frame number -> image; None when the source is a video file
    maps: dict[int, Path]
    fixations: dict[int, Path] | None
    index_base: int  # map number of decoded frame 0 (video sources only)

    @classmethod
    def from_item(cls, item: ManifestItem, dataset: str = "") -> SaliencyClipSource:
        source, maps_dir, fix_dir = saliency_paths(item)
        maps = numbered_files(maps_dir)
        if not maps:
            raise DatasetError(f"{maps_dir}: no numbered map images (clip {item.video_id})")
        fixations = None
        if fix_dir is not None and fix_dir.is_dir():
            fixations = numbered_files(fix_dir, (*IMAGE_SUFFIXES, ".mat"))
            if not fixations and (fix_dir / "maps").is_dir():  # some DHF1K copies nest them
                fixations = numbered_files(fix_dir / "maps", (*IMAGE_SUFFIXES, ".mat"))
            fixations = fixations or None
        frames = numbered_files(source) if source.is_dir() else None
        if source.is_dir() and not frames:
            raise DatasetError(f"{source}: no numbered frame images (clip {item.video_id})")
        if not source.exists():
            raise DatasetError(f"{source}: frame source of clip {item.video_id} not found")
        base = item.extra.get("map_index_base")
        if base is None:
            base = 1 if dataset.lower() == "dhf1k" else 0
        return cls(item, frames, maps, fixations, int(base))

    @property
    def numbers(self) -> list[int]:
        """Frame numbers that have both a frame and a map, in order (the samplable frames)."""
        if self.frames is None:
            return sorted(n for n in self.maps if n - self.index_base >= 0)
        return sorted(set(self.frames) & set(self.maps))

    def read(
        self, numbers: Sequence[int], size: tuple[int, int], with_fixations: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Frames uint8 `(T, H, W, 3)`, maps `(T, H, W)` and fixations (or None) at `numbers`."""
        if self.frames is None:
            from vqa_core.video import read_clip

            frames = read_clip(self.item.path, [n - self.index_base for n in numbers], size=size)
        else:
            frames = np.stack([read_rgb(self.frames[n], size) for n in numbers])
        maps = np.stack([read_gray(self.maps[n], size) for n in numbers])
        fix = None
        if with_fixations and self.fixations is not None:
            fix = np.stack(
                [read_fixations(self.fixations[n], size) if n in self.fixations else np.zeros(size, np.float32)
                 for n in numbers]
            )
        return frames, maps, fix


def clip_numbers(numbers: Sequence[int], start: int, clip_len: int, stride: int) -> list[int]:
    """`clip_len` frame numbers from position `start` every `stride`, padded with the last one."""
    last = len(numbers) - 1
    return [numbers[min(start + k * stride, last)] for k in range(clip_len)]


def clip_starts(num: int, clip_len: int, stride: int, count: int) -> list[int]:
    """`count` evenly spaced start positions covering a list of `num` frames."""
    span = max(num - (clip_len - 1) * stride, 1)
    if count == 1:
        return [(span - 1) // 2]
    return sorted({round(i * (span - 1) / (count - 1)) for i in range(count)})


class SaliencyClipDataset(Dataset):
    """Clips of `model.clip_len` frames at `model.height x model.width` with maps and fixations.

    `train=True`: `clips_per_video` random clips per video per epoch (tell it the epoch with
    `set_epoch`, as the Trainer does), clip-consistent augmentation applied jointly to frames,
    maps and fixations. `train=False`: fixed, evenly spaced clips, no augmentation.
    Items are dicts: `frames` (3, T, H, W) float in [0, 1], `maps` (T, H, W), `fixations`
    (T, H, W) (zeros when the dataset has none), `has_fixations`, `frame_indices` (T,), `video_index`.
    """

    def __init__(
        self,
        items: Sequence[ManifestItem],
        config: SaliencyConfig,
        train: bool,
        dataset: str = "",
        with_fixations: bool | None = None,
    ) -> None:
        if not items:
            raise DatasetError(f"no {'training' if train else 'validation'} clips")
        self.config = config
        self.train = train
        self.sources = [SaliencyClipSource.from_item(item, dataset) for item in items]
        self.size = (config.model.height, config.model.width)
        data: DataConfig = config.data
        self.with_fixations = (not train or config.loss.nss > 0) if with_fixations is None else with_fixations
        self.epoch = 0
        self._augment = ClipAugment(config.augment) if train and data.augment else None
        self._index: list[tuple[int, int | None]] = []
        for v, src in enumerate(self.sources):
            if train:
                self._index += [(v, None)] * data.clips_per_video
            else:
                count = len(src.numbers)
                starts = clip_starts(count, config.model.clip_len, data.frame_stride, data.val_clips_per_video)
                self._index += [(v, s) for s in starts]

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self._index)

    def clip(self, index: int) -> tuple[SaliencyClipSource, list[int]]:
        """The video and frame numbers of item `index` (in this epoch)."""
        v, start = self._index[index]
        src = self.sources[v]
        numbers = src.numbers
        clip_len, stride = self.config.model.clip_len, self.config.data.frame_stride
        if start is None:
            span = max(len(numbers) - (clip_len - 1) * stride, 1)
            rng = np.random.default_rng(derive_seed(self.config.trainer.seed, self.epoch, index, 7))
            start = int(rng.integers(0, span))
        return src, clip_numbers(numbers, start, clip_len, stride)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        src, numbers = self.clip(index)
        frames_np, maps_np, fix_np = src.read(numbers, self.size, self.with_fixations)
        frames = torch.from_numpy(frames_np).permute(0, 3, 1, 2).float().div_(255.0)  # (T, 3, H, W)
        maps = torch.from_numpy(maps_np)
        has_fix = fix_np is not None
        fix = torch.from_numpy(fix_np) if has_fix else torch.zeros_like(maps)
        if self._augment is not None:
            seed = derive_seed(self.config.trainer.seed, self.epoch, index, 11)
            aug_frames, maps = self._augment(frames, maps, seed=seed)
            if has_fix:  # same seed, same crop and flip
                _, fix = self._augment(frames, fix, seed=seed)
                fix = (fix > 0).float()
            frames = aug_frames
        return {
            "frames": frames.permute(1, 0, 2, 3).contiguous(),
            "maps": maps.clamp(min=0.0),
            "fixations": fix,
            "has_fixations": torch.tensor(has_fix),
            "frame_indices": torch.tensor(numbers),
            "video_index": torch.tensor(self._index[index][0]),
        }

