"""The 13 versions of the ST-VQRL synthetic distortion bank, and how their files are named.

The seed kept the pristine copy under the source's name but wrote distorted copies as
`{j+1}.mp4` in per-version folders, then looked distorted versions up by the source's name
(seed_audit §4.2). Here one function names every version, pristine included, and every
writer and reader goes through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vqa_core.errors import ConfigError

__all__ = [
    "BANK_VERSION",
    "FAMILIES",
    "NUM_VERSIONS",
    "VERSIONS",
    "DistortionVersion",
    "distorted_name",
    "parse_distorted_name",
    "version_spec",
]


@dataclass(frozen=True)
class DistortionVersion:
    """One row of the bank: `family` at `level` (1 = mildest, 3 = strongest; 0 for pristine).

    `parameter` is the knob handed to the family function: MPEG-2 qscale, H.264 CRF,
    pyramid depth, or the frame-rate divisor.
    """

    version: int
    family: str
    level: int
    parameter: int
    description: str


FAMILIES = ("pristine", "mpeg2", "h264", "pyramid_blur", "fps_drop")
# Bump when a change of the bank's code alters the pixels it writes for the same input; caches of
# distorted files (the demo builders') record it and rebuild when it changes.
BANK_VERSION = 2  # 2: x264 on its C kernels (portable_encoder_options)

# MPEG-2 qscale 1/20/30, H.264 CRF 5/35/50, 2/3/4 pyramid levels and fps/2, /3, /4 follow the
# seed's `LSVQ Synthetic/` scripts so ST-VQRL sees the distortions it was designed around.
VERSIONS: tuple[DistortionVersion, ...] = (
    DistortionVersion(0, "pristine", 0, 0, "pristine (lossless copy)"),
    DistortionVersion(1, "mpeg2", 1, 1, "MPEG-2, qscale 1"),
    DistortionVersion(2, "mpeg2", 2, 20, "MPEG-2, qscale 20"),
    DistortionVersion(3, "mpeg2", 3, 30, "MPEG-2, qscale 30"),
    DistortionVersion(4, "h264", 1, 5, "H.264, CRF 5"),
    DistortionVersion(5, "h264", 2, 35, "H.264, CRF 35"),
    DistortionVersion(6, "h264", 3, 50, "H.264, CRF 50"),
    DistortionVersion(7, "pyramid_blur", 1, 2, "Gaussian pyramid, 2 levels down and up"),
    DistortionVersion(8, "pyramid_blur", 2, 3, "Gaussian pyramid, 3 levels down and up"),
    DistortionVersion(9, "pyramid_blur", 3, 4, "Gaussian pyramid, 4 levels down and up"),
    DistortionVersion(10, "fps_drop", 1, 2, "frame rate / 2, motion-interpolated back"),
    DistortionVersion(11, "fps_drop", 2, 3, "frame rate / 3, motion-interpolated back"),
    DistortionVersion(12, "fps_drop", 3, 4, "frame rate / 4, motion-interpolated back"),
)
NUM_VERSIONS = len(VERSIONS)

_NAME = re.compile(r"^(?P<video_id>.+)_v(?P<version>\d{2})\.mp4$")


def version_spec(version: int) -> DistortionVersion:
    """The bank row of `version`, with an error that lists the valid range."""
    if not isinstance(version, int) or not 0 <= version < NUM_VERSIONS:
        raise ConfigError(
            f"unknown distortion version {version!r}: valid versions are 0..{NUM_VERSIONS - 1} "
            "(0 pristine, 1-3 MPEG-2, 4-6 H.264, 7-9 pyramid blur, 10-12 frame-rate drop)"
        )
    return VERSIONS[version]


def distorted_name(video_id: str, version: int) -> str:
    """File name of `version` of `video_id`; the pristine copy is version 0 and named the same way."""
    version_spec(version)
    if not video_id or "/" in video_id or "\\" in video_id:
        raise ConfigError(f"video id {video_id!r} must be a non-empty file-name stem without path separators")
    return f"{video_id}_v{version:02d}.mp4"


def parse_distorted_name(name: str) -> tuple[str, int]:
    """Inverse of `distorted_name`: `(video_id, version)`."""
    match = _NAME.match(name)
    if match is None or int(match["version"]) >= NUM_VERSIONS:
        raise ConfigError(f"{name!r} is not a distortion-bank file name ('<video_id>_vNN.mp4', NN in 00..12)")
    return match["video_id"], int(match["version"])
