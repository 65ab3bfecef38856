"""The bitrate floor's statistic: bits per pixel per frame, read from the container.

At a fixed encoder, fewer bits per pixel mean coarser quantisation, so a video's bit budget
relative to its size and frame rate is a quality proxy that needs no decoding at all. It is
also a content proxy (detailed, fast-moving scenes cost more bits), which is why it is a floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from vqa_core.errors import VideoDecodeError
from vqa_core.video import probe
from vqa_core.video.container import open_video

__all__ = ["BitsPerPixel", "bits_per_pixel"]


@dataclass(frozen=True)
class BitsPerPixel:
    """Bits per displayed pixel per frame, and where the bit count came from.

    `source` is "stream" (the video stream's bit rate / (fps x width x height)) or "file_size"
    (file bytes x 8 / (width x height x frames), audio and container overhead included).
    """

    value: float
    source: str


def _stream_bit_rate(path: Path) -> float | None:
    with open_video(path) as (_, stream):
        rate = stream.bit_rate or stream.codec_context.bit_rate
    return float(rate) if rate and rate > 0 else None


def bits_per_pixel(path: str | Path, source: str = "auto") -> BitsPerPixel:
    """Bits per pixel per frame of a video file; `source` "auto" (stream rate, else file size) or "file_size".

    Raises `VideoDecodeError` naming the file when it cannot be opened or has no decodable frame.
    """
    p = Path(path)
    info = probe(p)  # displayed size, a checked frame count and fps; proves a frame decodes
    pixels = info.width * info.height
    if pixels <= 0 or info.num_frames <= 0:
        raise VideoDecodeError(
            f"{p}: no pixels to count ({info.width}x{info.height}, {info.num_frames} frames)"
        )
    if source == "auto" and info.fps > 0:
        rate = _stream_bit_rate(p)
        if rate is not None:
            return BitsPerPixel(rate / (info.fps * pixels), "stream")
    try:
        size = p.stat().st_size
    except OSError as err:
        raise VideoDecodeError(f"{p}: cannot read the file size ({err})") from err
    return BitsPerPixel(size * 8.0 / (pixels * info.num_frames), "file_size")
