"""Small natural-content clips and their distorted copies for the floor tests.

Content: scikit-image's bundled photographs (installed with vqa-core), panned slowly so every
frame differs; distortions: vqa-core's own distortion bank (lossless pristine copy, H.264 at
CRF 35 / 50, Gaussian-pyramid blur at 3 / 4 levels). Labels follow the demo's ordering
(pristine best, strongest distortions worst). Built once per test session (a few seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from vqa_core.datasets import ManifestItem
from vqa_core.distort import apply
from vqa_core.testing import make_video

HEIGHT, WIDTH, FRAMES = 96, 128, 16
SCENES = ("astronaut", "coffee", "chelsea", "immunohistochemistry")
# version of vqa_core's distortion bank -> a label in the demo's spirit (1-5, pristine = 5)
VERSIONS = {0: 5.0, 5: 3.0, 6: 1.5, 8: 2.5, 9: 1.5}
PRISTINE, H264_STRONG, BLUR_STRONG = 0, 6, 9


def natural_frames(scene: str, frames: int = FRAMES, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A slow diagonal pan over a bundled photograph, uint8 RGB (T, H, W, 3)."""
    from skimage import data
    from skimage.transform import resize

    image = getattr(data, scene)()
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    image = image[..., :3]
    big = resize(image, (height + 2 * frames, width + 2 * frames), anti_aliasing=True, preserve_range=True)
    big = big.astype(np.uint8)
    return np.stack([big[2 * t : 2 * t + height, 2 * t : 2 * t + width] for t in range(frames)])


@pytest.fixture(scope="session")
def natural():
    """`natural_frames` for test modules (conftest is not importable under importlib mode)."""
    return natural_frames


@dataclass(frozen=True)
class FloorClips:
    """Items per scene, keyed by distortion version."""

    root: Path
    scenes: dict[str, dict[int, ManifestItem]]

    def items(self, scenes: tuple[str, ...]) -> list[ManifestItem]:
        return [item for s in scenes for item in self.scenes[s].values()]


@pytest.fixture(scope="session")
def floor_clips(tmp_path_factory: pytest.TempPathFactory) -> FloorClips:
    root = tmp_path_factory.mktemp("floor_clips")
    scenes: dict[str, dict[int, ManifestItem]] = {}
    for scene in SCENES:
        source = make_video(root / f"{scene}_src.mp4", frames=natural_frames(scene), options={"crf": "0"})
        scenes[scene] = {}
        for version, mos in VERSIONS.items():
            path = apply(source, root / f"{scene}_v{version:02d}.mp4", version)
            scenes[scene][version] = ManifestItem(
                f"{scene}_v{version:02d}", path, mos, extra={"scene": scene}
            )
    return FloorClips(root, scenes)
