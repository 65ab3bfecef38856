"""Clip-consistent crops at native scale: the augmentation that keeps a quality label true.

A quality model judges blur, blocking and ringing at the pixel scale they were made at. Resizing a
crop back to a fixed size (RandomResizedCrop) rescales exactly that signal, so the label no longer
holds; a crop taken at native scale and a mirror flip change the content seen, not its quality.
`NativeCrop` draws one crop window and one flip per clip (torchvision's v2 transforms, with the
saliency maps as a `Mask` so they follow the same window) from a seed, without touching torch's
global RNG. Both saliency-guided methods (STR/DAGR-VQA, SC-VQA) train on such crops in their
demo-scale presets and score full frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from vqa_core.errors import ConfigError

__all__ = ["NativeCrop", "NativeCropConfig"]


@dataclass
class NativeCropConfig:
    """A random `size` = (height, width) window of every frame, with horizontal / vertical flips.

    A frame smaller than `size` is reflect-padded (padding repeats content at its own scale).
    """

    size: tuple[int, int] = (128, 128)
    hflip_p: float = 0.5
    vflip_p: float = 0.0

    def __post_init__(self) -> None:
        self.size = (int(self.size[0]), int(self.size[1]))
        if min(self.size) < 1:
            raise ConfigError(f"native crop size must be positive, got {self.size}")
        for name in ("hflip_p", "vflip_p"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"native crop {name} is a probability and must be in [0, 1], got {value}")


class NativeCrop:
    """`(frames (T, 3, H, W), maps (T, H, W) or None, seed) -> cropped (frames, maps)`, no resampling."""

    def __init__(self, config: NativeCropConfig) -> None:
        self.config = config
        self._transform = v2.Compose(
            [
                v2.RandomCrop(config.size, pad_if_needed=True, padding_mode="reflect"),
                v2.RandomHorizontalFlip(config.hflip_p),
                v2.RandomVerticalFlip(config.vflip_p),
            ]
        )

    def __call__(
        self, frames: torch.Tensor, maps: torch.Tensor | None = None, *, seed: int
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if frames.ndim != 4 or frames.shape[1] != 3:
            raise ValueError(f"frames must be (T, 3, H, W), got {tuple(frames.shape)}")
        if maps is not None and (maps.shape[0], *maps.shape[-2:]) != (frames.shape[0], *frames.shape[-2:]):
            raise ValueError(f"maps {tuple(maps.shape)} do not match frames {tuple(frames.shape)}")
        try:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed))
                if maps is None:
                    return self._transform(tv_tensors.Video(frames)).as_subclass(torch.Tensor), None
                out_frames, out_maps = self._transform(tv_tensors.Video(frames), tv_tensors.Mask(maps))
        except RuntimeError as exc:  # reflect padding cannot pad a side by its own length or more
            raise ValueError(
                f"a native crop of {self.config.size} does not fit frames of {tuple(frames.shape[-2:])} "
                f"(reflect padding covers less than the frame size): use a smaller data.train_crop ({exc})"
            ) from exc
        return out_frames.as_subclass(torch.Tensor), out_maps.as_subclass(torch.Tensor)
