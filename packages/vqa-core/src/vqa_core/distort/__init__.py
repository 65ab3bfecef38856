"""The synthetic distortion bank of ST-VQRL (seed_audit §4.2), through PyAV encoders and FFmpeg filters.

Version 0 is the pristine clip; 1-3 MPEG-2 (qscale 1/20/30); 4-6 H.264 (CRF 5/35/50); 7-9
Gaussian-pyramid blur (2/3/4 levels); 10-12 frame-rate drop to 1/2, 1/3, 1/4 with
motion-compensated interpolation back. Every version keeps the source's frame count, size
and rate and is named `distorted_name(video_id, version)`.
"""

from vqa_core.distort.bank import FAMILY_FUNCTIONS, apply, apply_to_dir
from vqa_core.distort.blur import pyramid_blur, pyramid_blur_frames
from vqa_core.distort.clip_io import LOSSLESS_H264, count_frames, read_yuv_frames, write_frames
from vqa_core.distort.codecs import h264, mpeg2, pristine
from vqa_core.distort.framerate import fps_drop, fps_drop_frames
from vqa_core.distort.versions import (
    BANK_VERSION,
    FAMILIES,
    NUM_VERSIONS,
    VERSIONS,
    DistortionVersion,
    distorted_name,
    parse_distorted_name,
    version_spec,
)

__all__ = [
    "BANK_VERSION",
    "FAMILIES",
    "FAMILY_FUNCTIONS",
    "LOSSLESS_H264",
    "NUM_VERSIONS",
    "VERSIONS",
    "DistortionVersion",
    "apply",
    "apply_to_dir",
    "count_frames",
    "distorted_name",
    "fps_drop",
    "fps_drop_frames",
    "h264",
    "mpeg2",
    "parse_distorted_name",
    "pristine",
    "pyramid_blur",
    "pyramid_blur_frames",
    "read_yuv_frames",
    "version_spec",
    "write_frames",
]
