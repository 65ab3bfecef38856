"""Opening a video file with PyAV and reading its timing, with errors a user can act on.

Everything that touches a container goes through `open_video`, so every failure mode (missing
file, empty file, not a video, a still image, no video stream, broken header) becomes one
`VideoDecodeError` naming the file and the cause. Nothing here is cached or shared: each call opens its own
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

#: Smallest displayed width and height vqa-zoo assesses: below it there is no picture to judge
#: (1x1 and 2x2 "videos" used to get scores). Raw .yuv geometry is declared by the dataset
#: descriptor, not read from the file, so it is not checked.
MIN_SIDE = 16
#: Fewest decodable frames of a video (`probe` checks it): a still image or a one-frame clip
#: has no motion to assess, and every method would score one frame repeated.
MIN_FRAMES = 2


def _still_image_format(container: av.container.InputContainer) -> str | None:
    """The demuxer's name when it reads single pictures (png_pipe, jpeg_pipe, image2, ...)."""
    for name in container.format.name.split(","):
        if name == "image2" or name.endswith("_pipe"):
            return name
    return None


def check_frame_size(path: Path, width: int, height: int) -> None:
    """Refuse pictures below MIN_SIDE (the displayed size), naming the file and the minimum."""
    if width < MIN_SIDE or height < MIN_SIDE:
        raise VideoDecodeError(
            f"{path}: {width}x{height} pixels is below the minimum of {MIN_SIDE}x{MIN_SIDE} vqa-zoo assesses"
        )


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
        still = _still_image_format(container)
        if still is not None:
            raise VideoDecodeError(
                f"{p}: a still image ({still}), not a video; vqa-zoo needs at least {MIN_FRAMES} frames"
            )
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


def _tag_seconds(text: str) -> float | None:
    """Matroska's per-track `DURATION` tag, `HH:MM:SS.fffffffff`, in seconds."""
    try:
        h, m, sec = text.split(":")
        return int(h) * 3600 + int(m) * 60 + float(sec)
    except ValueError:
        return None


@dataclass(frozen=True)
class DeclaredLength:
    """How long the container says the video stream is: `frames` from a header frame count
    (mp4, mov, avi; 0 when there is none) and `seconds` from the stream's own duration (for
    mkv/webm the per-track `DURATION` tag, counted from the stream's first timestamp); None
    when unknown. The container's overall duration is not used: an audio track longer than
    the video would look like missing frames."""

    frames: int
    seconds: float | None

    def positions(self, fps: float) -> int:
        """Frame positions (time x fps, what `read_clip` indexes) the stream should span; 0 if unknown."""
        if self.frames:
            return self.frames
        return round(self.seconds * fps) if self.seconds and fps else 0


def declared_length(stream: av.video.stream.VideoStream) -> DeclaredLength:
    frames = int(stream.frames) if stream.frames and stream.frames > 0 else 0
    seconds = None
    if stream.duration and stream.time_base:
        seconds = float(stream.duration * stream.time_base)
    elif "DURATION" in (stream.metadata or {}):
        end = _tag_seconds(str(stream.metadata["DURATION"]))
        start = float(stream.start_time * stream.time_base) if stream.start_time and stream.time_base else 0.0
        seconds = end - start if end is not None and end > start else None
    return DeclaredLength(frames, seconds if seconds and seconds > 0 else None)


def shortfall_slack(expected: float) -> float:
    """How much shorter than declared a stream may be and still agree: 2 frames or 5 %
    (rounding, variable frame rate, a last frame's duration)."""
    return max(2.0, 0.05 * expected)


def index_within_file(path: Path, stream: av.video.stream.VideoStream) -> bool:
    """False when the container's index points past the end of the file: the header (an mp4
    `moov` written up front, "faststart") survived a truncation that cut away frames it lists."""
    try:
        entries = stream.index_entries
        end = max((e.pos + e.size for e in entries if e.pos >= 0), default=0)
    except (AttributeError, av.FFmpegError):
        return True
    try:
        return end <= path.stat().st_size
    except OSError:
        return True
