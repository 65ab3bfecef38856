"""Compression distortions: the clip re-encoded by MPEG-2 or H.264, and the lossless pristine copy."""

from __future__ import annotations

from pathlib import Path

from vqa_core.distort.clip_io import LOSSLESS_H264, read_yuv_frames, write_frames
from vqa_core.distort.versions import VERSIONS

__all__ = ["h264", "mpeg2", "pristine"]

_MPEG2_QSCALE = {v.level: v.parameter for v in VERSIONS if v.family == "mpeg2"}
_H264_CRF = {v.level: v.parameter for v in VERSIONS if v.family == "h264"}


def _check_level(level: int, table: dict[int, int], family: str) -> int:
    if level not in table:
        from vqa_core.errors import ConfigError

        raise ConfigError(f"{family}: level {level!r} is not one of {sorted(table)}")
    return table[level]


def pristine(src: str | Path, dst: str | Path) -> Path:
    """Version 0: the source frames, stored losslessly, so every version shares one container and naming."""
    frames, rate = read_yuv_frames(src)
    return write_frames(dst, frames, rate, "libx264", LOSSLESS_H264)


def mpeg2(src: str | Path, dst: str | Path, level: int) -> Path:
    """Versions 1-3: MPEG-2 at a fixed quantiser (qscale 1 / 20 / 30), no rate control."""
    qscale = _check_level(level, _MPEG2_QSCALE, "mpeg2")
    frames, rate = read_yuv_frames(src)
    # MPEG-2 bitstreams only code a few frame rates; "experimental" lets the encoder write the
    # nearest one in the bitstream while the mp4 timestamps keep the source's true rate.
    return write_frames(dst, frames, rate, "mpeg2video", {"strict": "experimental"}, qscale=qscale)


def h264(src: str | Path, dst: str | Path, level: int) -> Path:
    """Versions 4-6: x264 at CRF 5 / 35 / 50 (medium preset, as the ffmpeg tool defaults)."""
    crf = _check_level(level, _H264_CRF, "h264")
    frames, rate = read_yuv_frames(src)
    return write_frames(dst, frames, rate, "libx264", {"crf": str(crf), "preset": "medium"})
