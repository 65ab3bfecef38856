"""Headerless raw video (.yuv): frames found by byte offset, converted by swscale.

Raw files (LIVE-Qualcomm, many distortion studies) carry no header, so the caller states the
geometry. Frame `i` starts at byte `i * frame_bytes`; only the requested frames are read, so a
few frames of a multi-gigabyte file cost a few reads. Conversion and resizing go through the
same `frame.reformat` as compressed video (single-threaded, see `resize.SWSCALE_THREADS`), so
both paths give identical colours, every time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vqa_core.errors import VideoDecodeError
from vqa_core.video.container import check_file
from vqa_core.video.resize import SWSCALE_THREADS, Resize


@dataclass(frozen=True)
class RawFormat:
    """Geometry of a headerless video file: coded size, FFmpeg pixel format name, frame rate.

    Any FFmpeg pixel format works (yuv420p, yuv422p, yuv444p, yuv420p10le, nv12, gray,
    yuyv422, rgb24, ...). `color_range="pc"` marks full-range (JPEG) YUV, as scikit-video's
    `yuvj420p` does; the default is limited (TV) range.
    """

    width: int
    height: int
    pix_fmt: str = "yuv420p"
    fps: float = 25.0
    color_range: str = "tv"

    def __post_init__(self) -> None:
        if int(self.width) != self.width or int(self.height) != self.height or self.width < 1 or self.height < 1:
            raise ValueError(f"RawFormat needs positive integer width and height, got {self.width}x{self.height}")
        if not (self.fps > 0 and math.isfinite(self.fps)):
            raise ValueError(f"RawFormat.fps must be a positive number, got {self.fps!r}")
        if self.color_range not in ("tv", "pc"):
            raise ValueError(f"RawFormat.color_range must be 'tv' or 'pc', got {self.color_range!r}")
        try:
            fmt = av.VideoFormat(self.pix_fmt)
        except (ValueError, av.FFmpegError) as err:
            raise ValueError(f"unknown pixel format {self.pix_fmt!r} ({err})") from err
        if fmt.is_bit_stream or fmt.has_palette or fmt.is_bayer:
            raise ValueError(f"pixel format {self.pix_fmt!r} is not a plain raw frame layout")

    @property
    def frame_bytes(self) -> int:
        """Bytes of one tightly packed frame (no row padding), as .yuv files store them."""
        return sum(len(rows) * row for rows, row in self._plane_layout())

    def _plane_layout(self) -> list[tuple[range, int]]:
        """Per plane: (rows, bytes per row)."""
        fmt = av.VideoFormat(self.pix_fmt, self.width, self.height)
        planes = sorted({c.plane for c in fmt.components})
        if len(planes) == 1:  # packed: bytes per pixel come from the padded pixel size
            return [(range(self.height), math.ceil(fmt.padded_bits_per_pixel * self.width / 8))]
        layout = []
        for pl in planes:
            comps = [c for c in fmt.components if c.plane == pl]
            layout.append((range(comps[0].height), sum(math.ceil(c.bits / 8) * c.width for c in comps)))
        return layout

    def frame_from_bytes(self, data: bytes) -> av.VideoFrame:
        """Wrap one frame's bytes in an `av.VideoFrame` (copying rows into FFmpeg's padded planes)."""
        frame = av.VideoFrame(self.width, self.height, self.pix_fmt)
        offset = 0
        for plane, (rows, row) in zip(frame.planes, self._plane_layout()):
            dst = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
            n = len(rows) * row
            src = np.frombuffer(data, dtype=np.uint8, count=n, offset=offset).reshape(len(rows), row)
            dst[: len(rows), :row] = src
            offset += n
        frame.color_range = 2 if self.color_range == "pc" else 1  # AVCOL_RANGE_JPEG / AVCOL_RANGE_MPEG
        return frame


def raw_frame_count(path: str | Path, raw: RawFormat) -> int:
    """Whole frames in the file; a trailing partial frame is ignored."""
    p = check_file(path)
    size = p.stat().st_size
    n = size // raw.frame_bytes
    if n == 0:
        raise VideoDecodeError(
            f"{p}: {size} bytes is less than one {raw.width}x{raw.height} {raw.pix_fmt} frame "
            f"({raw.frame_bytes} bytes); check the width, height and pixel format"
        )
    return n


def read_raw_clip(path: str | Path, indices: np.ndarray, raw: RawFormat, resize: Resize) -> np.ndarray:
    """Frames `indices` of a raw file as uint8 RGB (T, H, W, 3); indices past the end clamp to the last frame."""
    p = Path(path)
    n = raw_frame_count(p, raw)
    h, w = resize.output_size(raw.height, raw.width)
    out = np.empty((len(indices), h, w, 3), dtype=np.uint8)
    if len(indices) == 0:
        return out
    cache: dict[int, np.ndarray] = {}
    with p.open("rb") as fh:
        for k, i in enumerate(np.minimum(indices, n - 1).tolist()):
            if i not in cache:
                fh.seek(i * raw.frame_bytes)
                data = fh.read(raw.frame_bytes)
                if len(data) != raw.frame_bytes:
                    raise VideoDecodeError(f"{p}: short read at frame {i} (file changed while reading?)")
                frame = raw.frame_from_bytes(data)
                cache[i] = frame.reformat(
                    width=w,
                    height=h,
                    format="rgb24",
                    interpolation=resize.interpolation.upper(),
                    threads=SWSCALE_THREADS,
                ).to_ndarray()
            out[k] = cache[i]
    return out
