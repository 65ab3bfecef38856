"""SC-VQA's training views as the seed draws them: crop the decoded frame, flip both ways, jitter, resize.

The seed decodes frames at their own size and applies RandomResizedCrop(224, scale 0.2-1), horizontal
and vertical flips and ColorJitter(0.4, 0.4, 0.4) (seed_audit §3.2). Squashing frames to 224x224 first
and cropping that would upscale a crop by up to 1/sqrt(0.2) = 2.2x: a blur, i.e. a quality change the
label does not know about. `SeedViews` crops from the frame as decoded (native size) and resizes the
crop once to `size`, with one draw per clip (frames and maps share the geometry; jitter touches the
frames only), where the seed drew per frame and per map.
"""

from __future__ import annotations

from dataclasses import replace

import kornia.augmentation as K
import torch

from vqa_core.transforms import ClipAugment, ClipAugmentConfig

__all__ = ["SeedViews"]


class SeedViews:
    """`ClipAugment` (crop to `size`, horizontal flip, jitter) plus a clip-consistent vertical flip.

    Call as ClipAugment: `(frames (T, 3, H, W) in [0, 1], maps (T, H, W) | None, seed=)` ->
    `(frames (T, 3, *size), maps (T, *size) | None)`. `size` is (height, width).
    """

    def __init__(self, config: ClipAugmentConfig, size: tuple[int, int], vflip_p: float) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.augment = ClipAugment(replace(config, size=self.size))
        self.vflip_p = float(vflip_p)
        self._vflip = K.RandomVerticalFlip(p=self.vflip_p, same_on_batch=True)

    def __call__(
        self,
        frames: torch.Tensor,
        saliency: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        if (generator is None) == (seed is None):
            raise ValueError("pass exactly one of generator= (a torch.Generator) or seed= (an int)")
        if generator is not None:
            seed = int(torch.randint(0, 2**62, (1,), generator=generator))
        frames, maps = self.augment(frames, saliency, seed=int(seed))
        if self.vflip_p > 0:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(seed) ^ 0x5EED)  # a draw of its own, independent of the crop's
                params = self._vflip.forward_parameters(frames.shape)
            frames = self._vflip(frames, params=params)
            if maps is not None:
                maps = self._vflip(maps.unsqueeze(1), params=params).squeeze(1)
        return frames, maps
