"""Opening a video file with PyAV and reading its timing, with errors a user can act on.

Everything that touches a container goes through `open_video`, so every failure mode (missing
file, empty file, not a video, no video stream, broken header) becomes one `VideoDecodeError`
naming the file and the cause. Nothing here is cached or shared: each call opens its own
container, which keeps the readers safe in DataLoader worker processes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from vqa_core.errors import VideoDecodeError

# A frame rate outside this range is metadata garbage, not a real video.
_MIN_FPS = Fraction(1, 1000)
_MAX_FPS = Fraction(1000)


def check_file(path: str | Path) -> Path:
    """Fail fast, with a precise message, on paths FFmpeg would only describe vaguely."""
    p = Path(path)
    if not p.exists():
        raise VideoDecodeError(f"{p}: no such file")
    if p.is_dir():
        raise VideoDecodeError(f"{p}: is a directory, not a video file")
    try:
        size = p.stat().st_size
    except OSError as err:
        raise VideoDecodeError(f"{p}: cannot read file ({err.strerror or err})") from err
    if size == 0:
        raise VideoDecodeError(f"{p}: file is empty (0 bytes)")
    return p


@contextmanager
def open_video(path: str | Path) -> Iterator[tuple[av.container.InputContainer, av.video.stream.VideoStream]]:
    """Open `path` and yield (container, first video stream), closing the container afterwards."""
    p = check_file(path)
    try:
        container = av.open(str(p), mode="r")
    except av.FFmpegError as err:
        raise VideoDecodeError(f"{p}: not a readable video file ({describe_error(err)})") from err
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise VideoDecodeError(f"{p}: cannot open ({err})") from err
    try:
        if not container.streams.video:
            kinds = sorted({s.type for s in container.streams}) or ["none"]
            raise VideoDecodeError(f"{p}: no video stream (streams found: {', '.join(kinds)})")
        stream = container.streams.video[0]
        if stream.codec_context is None or stream.codec_context.name is None:
            raise VideoDecodeError(f"{p}: video stream has no decodable codec")
        yield container, stream
    finally:
        container.close()


def describe_error(err: BaseException) -> str:
    """FFmpeg errors repeat the file name; keep only the reason."""
    if isinstance(err, av.FFmpegError) and err.strerror:
        return str(err.strerror)
    return str(err) or type(err).__name__


@dataclass(frozen=True)
class StreamTiming:
    """How presentation timestamps map to frame indices: index = round((pts - start) * time_base * fps)."""

    fps: Fraction
    time_base: Fraction
    start: int | None  # pts of the first frame; None until known (some demuxers do not say)

    def position_of(self, pts: int) -> Fraction:
        """Unrounded frame position of a timestamp (an integer on constant-frame-rate video)."""
        return (pts - (self.start or 0)) * self.time_base * self.fps

    def index_of(self, pts: int) -> int:
        return math.floor(self.position_of(pts) + Fraction(1, 2))

    def pts_of(self, index: int) -> int:
        """The pts at which frame `index` starts (floor, so a backward seek lands at or before it)."""
        return (self.start or 0) + math.floor(index / (self.fps * self.time_base))


def stream_fps(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The stream's average frame rate, else its guessed or base rate; None if all are absurd."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate, stream.codec_context.framerate):
        if rate is not None and rate.denominator != 0:
            rate = Fraction(rate)
            if _MIN_FPS <= rate <= _MAX_FPS:
                return rate
    return None


def stream_timing(path: Path, stream: av.video.stream.VideoStream) -> StreamTiming:
    fps = stream_fps(stream)
    if fps is None:
        raise VideoDecodeError(f"{path}: the video stream has no usable frame rate (container says {stream.average_rate})")
    if stream.time_base is None or stream.time_base <= 0:
        raise VideoDecodeError(f"{path}: the video stream has no time base")
    return StreamTiming(fps=fps, time_base=Fraction(stream.time_base), start=stream.start_time)
