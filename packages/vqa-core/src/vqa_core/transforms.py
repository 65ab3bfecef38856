"""Clip-level image transforms: consistent augmentation, per-backbone normalisation, resizing.

Augmentation draws its random parameters once per clip and applies them to every frame and
to the saliency map, so a clip stays temporally coherent and the map stays aligned with
the pixels it describes (the seeds augmented each frame independently and left the map
untouched). kornia supplies the operations and the parameter sampling; vqa-zoo only fixes
the parameters across the clip and seeds them without touching torch's global RNG state.

Normalisation is explicit per backbone, because the seeds mixed them up (no ImageNet
normalisation before ResNet-50, ImageNet statistics before CLIP):

| kind       | expects           | mean / std                                    | used by                 |
|------------|-------------------|-----------------------------------------------|-------------------------|
| "imagenet" | float in [0, 1]   | (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225) | ResNet-50 (torchvision) |
| "clip"     | float in [0, 1]   | OpenAI CLIP (0.4815, 0.4578, 0.4082) / (0.2686, 0.2613, 0.2758) | CLIP ViT-B/32 |
| "fastvqa"  | float in [0, 255] | ImageNet x 255: (123.675, 116.28, 103.53) / (58.395, 57.12, 57.375) | FAST-VQA Swin3D, ST-VQRL, SSL-VQA |

uint8 input is accepted by every kind and scaled to the range that kind expects.

`local_contrast_normalize` is the other input a network can get: BRISQUE's mean-subtracted
contrast-normalised (MSCN) coefficients, per channel, for trunks trained from scratch (see there).

Shapes: frames are (T, 3, H, W) float in [0, 1]; saliency maps are (T, H, W) float.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

import kornia.augmentation as K
import kornia.filters
import torch
from torchvision.transforms.v2 import functional as TF

from vqa_core import mscn
from vqa_core.errors import ConfigError

__all__ = [
    "NORMALIZATION",
    "ClipAugment",
    "ClipAugmentConfig",
    "denormalize",
    "fragment_contrast_normalize",
    "local_contrast_normalize",
    "normalize",
    "resize_frames",
]

NormKind = Literal["imagenet", "clip", "fastvqa"]

NORMALIZATION: dict[str, dict[str, tuple[float, float, float] | float]] = {
    "imagenet": {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "max_value": 1.0},
    "clip": {
        "mean": (0.48145466, 0.4578275, 0.40821073),
        "std": (0.26862954, 0.26130258, 0.27577711),
        "max_value": 1.0,
    },
    "fastvqa": {"mean": (123.675, 116.28, 103.53), "std": (58.395, 57.12, 57.375), "max_value": 255.0},
}


def _norm_spec(kind: str) -> dict[str, Any]:
    try:
        return NORMALIZATION[kind]
    except KeyError:
        raise ConfigError(f"unknown normalisation {kind!r}; choose one of {sorted(NORMALIZATION)}") from None


def _stats_shape(x: torch.Tensor, channel_dim: int) -> list[int]:
    dim = channel_dim % x.ndim
    if x.shape[dim] != 3:
        raise ValueError(
            f"normalisation needs 3 colour channels on dim {channel_dim}, got shape {tuple(x.shape)}; "
            "pass channel_dim (e.g. -4 for (C, T, H, W) clips)"
        )
    shape = [1] * x.ndim
    shape[dim] = 3
    return shape


def normalize(x: torch.Tensor, kind: NormKind, channel_dim: int = -3) -> torch.Tensor:
    """Standardise a frame/clip tensor for a backbone (see the table in the module docstring).

    `channel_dim` is -3 for (..., 3, H, W) frames and -4 for (..., 3, T, H, W) clips. Float
    input outside [0, 1] for "imagenet"/"clip" is rejected (it is almost surely 0-255 data).
    """
    spec = _norm_spec(kind)
    shape = _stats_shape(x, channel_dim)
    if x.dtype == torch.uint8:
        x = x.float() * (spec["max_value"] / 255.0)
    elif not x.is_floating_point():
        raise TypeError(f"normalize expects a float or uint8 tensor, got {x.dtype}")
    elif x.numel():
        top = float(x.max())
        if spec["max_value"] == 1.0 and top > 1.0 + 1e-3:
            raise ValueError(
                f"{kind!r} normalisation expects values in [0, 1] but the input reaches {top:.4g}; "
                "divide 0-255 frames by 255 first (or use kind='fastvqa' for FAST-VQA backbones)"
            )
        if spec["max_value"] == 255.0 and 0.0 < top <= 1.0:
            warnings.warn(
                f"'fastvqa' normalisation expects 0-255 values but the input never exceeds {top:.4g}; "
                "multiply [0, 1] frames by 255 first",
                stacklevel=2,
            )
    mean = torch.tensor(spec["mean"], dtype=x.dtype, device=x.device).view(shape)
    std = torch.tensor(spec["std"], dtype=x.dtype, device=x.device).view(shape)
    return (x - mean) / std


def denormalize(x: torch.Tensor, kind: NormKind, channel_dim: int = -3) -> torch.Tensor:
    """Inverse of `normalize` (float output in the kind's input range), for visualisation."""
    spec = _norm_spec(kind)
    shape = _stats_shape(x, channel_dim)
    mean = torch.tensor(spec["mean"], dtype=x.dtype, device=x.device).view(shape)
    std = torch.tensor(spec["std"], dtype=x.dtype, device=x.device).view(shape)
    return x * std + mean


def local_contrast_normalize(x: torch.Tensor) -> torch.Tensor:
    """MSCN coefficients (x - mu) / (sigma + C) of (..., C, H, W) float frames in [0, 1], per channel.

    mu and sigma are the local mean and standard deviation under BRISQUE's 7x7 Gaussian window
    (`vqa_core.mscn`, replicate borders). Why a network wants this: it divides out local luminance and contrast,
    which differ far more between contents than between quality levels, and leaves the local
    structure that blur, blocking and noise change (the statistics BRISQUE models; the same
    input normalisation as Kang et al.'s CNN-IQA, 2014). A trunk trained from random init on a
    few hundred videos learns quality from these coefficients where it learns content from raw
    RGB (benchmarks/README.md, "Offline trunks").
    """
    if not x.is_floating_point() or x.dim() < 3:
        raise ValueError(f"local_contrast_normalize needs float (..., C, H, W) frames in [0, 1], got {x.dtype} {tuple(x.shape)}")
    flat = x.reshape(-1, *x.shape[-3:])
    size = (mscn.KERNEL, mscn.KERNEL)
    sigma = (mscn.SIGMA, mscn.SIGMA)
    mu = kornia.filters.gaussian_blur2d(flat, size, sigma, border_type="replicate")
    second = kornia.filters.gaussian_blur2d(flat * flat, size, sigma, border_type="replicate")
    spread = (second - mu * mu).clamp_min(0.0).sqrt()
    return ((flat - mu) / (spread + mscn.C / 255.0)).reshape(x.shape)


def fragment_contrast_normalize(clips: torch.Tensor, grid: int, patch: int) -> torch.Tensor:
    """`local_contrast_normalize` inside each fragment of (..., 3, T, grid*patch, grid*patch) mosaics.

    uint8 (0-255) or float [0, 1] input. Each patch is normalised on its own (replicate borders),
    so no window spans the seam between two patches that lie far apart in the frame.
    """
    if clips.dim() < 4 or clips.shape[-1] != grid * patch or clips.shape[-2] != grid * patch:
        raise ValueError(
            f"fragment mosaics must be (..., 3, T, {grid * patch}, {grid * patch}) for grid {grid} x patch {patch}, "
            f"got {tuple(clips.shape)}"
        )
    x = clips.float().div(255.0) if clips.dtype == torch.uint8 else clips
    lead, (c, t) = x.shape[:-4], x.shape[-4:-2]
    cells = x.reshape(-1, c, t, grid, patch, grid, patch).permute(0, 2, 3, 5, 1, 4, 6)  # (N, T, G, G, C, P, P)
    cells = local_contrast_normalize(cells)
    return cells.permute(0, 4, 1, 2, 5, 3, 6).reshape(*lead, c, t, grid * patch, grid * patch)


def resize_frames(x: torch.Tensor, size: tuple[int, int], antialias: bool = True) -> torch.Tensor:
    """Bilinear resize of the last two dims of frames (T, C, H, W) or maps (T, H, W) to `size`.

    Antialiasing is on by default so downscaling 1080p frames does not alias (squash-resize to
    224x398 / 224x224 as STR/DAGR/SC/QASA do).
    """
    if x.ndim < 3:
        raise ValueError(f"resize_frames expects (..., H, W) stacks of frames or maps, got {tuple(x.shape)}")
    size = (int(size[0]), int(size[1]))
    if tuple(x.shape[-2:]) == size:
        return x
    work = x if x.is_floating_point() else x.float()
    out = TF.resize(work, list(size), interpolation=TF.InterpolationMode.BILINEAR, antialias=antialias)
    if not x.is_floating_point():
        out = out.round_().clamp_(0, 255).to(x.dtype)
    return out


@dataclass
class ClipAugmentConfig:
    """Clip-consistent augmentation settings (YAML-loadable via `from_dict`).

    Defaults follow SC-VQA's recipe: RandomResizedCrop(224, scale 0.2-1), horizontal flip,
    colour jitter. `size=None` keeps the input size (crop, then resize back).
    """

    size: tuple[int, int] | None = (224, 224)
    crop: bool = True
    scale: tuple[float, float] = (0.2, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)
    hflip_p: float = 0.5
    jitter_p: float = 0.8
    brightness: float = 0.4
    contrast: float = 0.4
    saturation: float = 0.4
    hue: float = 0.1

    def __post_init__(self) -> None:
        if self.size is not None:
            self.size = (int(self.size[0]), int(self.size[1]))
        self.scale = (float(self.scale[0]), float(self.scale[1]))
        self.ratio = (float(self.ratio[0]), float(self.ratio[1]))
        for name in ("hflip_p", "jitter_p"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} is a probability and must be in [0, 1], got {value}")
        if not 0 < self.scale[0] <= self.scale[1] <= 1:
            raise ConfigError(f"scale must satisfy 0 < low <= high <= 1, got {self.scale}")
        if not 0 <= self.hue <= 0.5:
            raise ConfigError(f"hue must be in [0, 0.5], got {self.hue}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClipAugmentConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown augmentation option(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class ClipAugment:
    """Random resized crop, horizontal flip and colour jitter, identical for every frame of a clip.

    The crop and flip are applied to the saliency map too (bilinear, like the frames); colour
    jitter touches the frames only. Randomness comes from `generator` (a torch.Generator) or
    `seed`; torch's global RNG is left exactly as it was.
    """

    def __init__(self, config: ClipAugmentConfig | None = None):
        self.config = config or ClipAugmentConfig()
        c = self.config
        self._flip = K.RandomHorizontalFlip(p=c.hflip_p, same_on_batch=True)
        self._jitter = K.ColorJitter(
            brightness=c.brightness,
            contrast=c.contrast,
            saturation=c.saturation,
            hue=c.hue,
            p=c.jitter_p,
            same_on_batch=True,
        )

    def _crop_for(self, height: int, width: int) -> K.RandomResizedCrop | None:
        c = self.config
        if not c.crop:
            return None
        size = c.size or (height, width)
        return K.RandomResizedCrop(
            size, scale=c.scale, ratio=c.ratio, same_on_batch=True, align_corners=False
        )

    def __call__(
        self,
        frames: torch.Tensor,
        saliency: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Augment frames (T, 3, H, W) in [0, 1] and optionally their saliency maps (T, H, W).

        Returns `(frames, saliency)`; `saliency` is None when none was given.
        """
        if frames.ndim != 4 or frames.shape[1] != 3 or not frames.is_floating_point():
            raise ValueError(
                f"frames must be a float (T, 3, H, W) tensor in [0, 1], got {frames.dtype} {tuple(frames.shape)}"
            )
        t, _, h, w = frames.shape
        if saliency is not None and tuple(saliency.shape) != (t, h, w):
            raise ValueError(
                f"saliency maps must be (T, H, W) = {(t, h, w)} to match the frames, got {tuple(saliency.shape)}"
            )
        if (generator is None) == (seed is None):
            raise ValueError("pass exactly one of generator= (a torch.Generator) or seed= (an int)")
        if generator is not None:
            seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        crop = self._crop_for(h, w)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            crop_params = crop.forward_parameters(frames.shape) if crop is not None else None
            flip_params = self._flip.forward_parameters(frames.shape)
            jitter_params = self._jitter.forward_parameters(frames.shape)
        maps = saliency.unsqueeze(1).to(frames.dtype) if saliency is not None else None
        if crop is not None:
            frames = crop(frames, params=crop_params)
            maps = crop(maps, params=crop_params) if maps is not None else None
        elif self.config.size is not None:
            frames = resize_frames(frames, self.config.size)
            maps = resize_frames(maps, self.config.size) if maps is not None else None
        frames = self._flip(frames, params=flip_params)
        maps = self._flip(maps, params=flip_params) if maps is not None else None
        frames = self._jitter(frames, params=jitter_params).clamp_(0.0, 1.0)
        return frames, (maps.squeeze(1) if maps is not None else None)
