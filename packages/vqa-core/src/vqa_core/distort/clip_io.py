"""Decode a whole short clip to YUV frames and encode frames back, atomically, with PyAV.

The bank works on short clips (seconds), so holding every frame in memory is fine and lets
each distortion see the clip as a sequence. Frames stay in yuv420p end to end: the codec
distortions then re-encode exactly the pristine pixels, with no RGB round trip in between.

Storage of the non-codec versions (pristine, pyramid blur, frame-rate drop) is H.264 with
`qp=0`: lossless in yuv420p, readable by every FFmpeg build, and keeps every version a
`.mp4` so one naming rule covers the bank. FFV1/.mkv would be lossless too but would split
the naming; x264 lossless at preset `veryfast` is about as compact for these clip sizes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from vqa_core.errors import VideoDecodeError, VqaError

__all__ = [
    "LOSSLESS_H264",
    "WORK_PIX_FMT",
    "atomic_target",
    "count_frames",
    "frames_to_rgb",
    "portable_encoder_options",
    "read_yuv_frames",
    "rgb_to_frames",
    "write_frames",
]

WORK_PIX_FMT = "yuv420p"
LOSSLESS_H264: dict[str, str] = {"qp": "0", "preset": "veryfast"}

# x264 picks its SIMD kernels from the CPU it runs on (SSE4, AVX2, AVX-512), and they are not
# bit-exact with each other: the same demo scene at CRF 35 gave three different files with the
# default (AVX-512), the AVX2-capped and the C kernels on one AMD EPYC, and CI machines with
# other CPUs built other demos from them. The C kernels are the same instructions on every
# x86-64 CPU, so x264 runs on them wherever a file must be reproducible (about 4x slower: a
# second or two per demo scene).
_X264_PORTABLE = "asm=0"


def portable_encoder_options(codec: str, options: dict[str, str] | None = None) -> dict[str, str]:
    """`options` plus what makes `codec`'s output independent of the CPU it runs on (for x264,
    its C kernels, added to any `x264-params` given); other codecs' options are returned as given."""
    opts = dict(options or {})
    if codec == "libx264":
        given = opts.get("x264-params")
        opts["x264-params"] = f"{given}:{_X264_PORTABLE}" if given else _X264_PORTABLE
    return opts


def read_yuv_frames(path: str | Path) -> tuple[list[av.VideoFrame], Fraction]:
    """Every frame of the first video stream as yuv420p, and the stream's frame rate."""
    path = Path(path)
    if not path.is_file():
        raise VideoDecodeError(f"{path}: no such video file")
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VideoDecodeError(f"{path}: the file has no video stream")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            frames = [
                f if f.format.name == WORK_PIX_FMT else f.reformat(format=WORK_PIX_FMT)
                for f in container.decode(stream)
            ]
    except av.FFmpegError as err:
        raise VideoDecodeError(f"{path}: cannot decode ({err})") from err
    if not frames:
        raise VideoDecodeError(f"{path}: the video stream has no decodable frames")
    if rate is None or rate <= 0:
        raise VideoDecodeError(f"{path}: the container declares no frame rate; re-mux it with one")
    width, height = frames[0].width, frames[0].height
    if width % 2 or height % 2:
        raise VideoDecodeError(
            f"{path}: size {width}x{height} is odd; yuv420p encoders need even sizes, crop or pad it first"
        )
    return frames, Fraction(rate)


def frames_to_rgb(frames: Iterable[av.VideoFrame]) -> np.ndarray:
    """(T, H, W, 3) uint8 RGB."""
    return np.stack([f.to_ndarray(format="rgb24") for f in frames])


def rgb_to_frames(rgb: np.ndarray) -> list[av.VideoFrame]:
    """yuv420p frames from (T, H, W, 3) uint8 RGB."""
    return [
        av.VideoFrame.from_ndarray(np.ascontiguousarray(x), format="rgb24").reformat(format=WORK_PIX_FMT)
        for x in rgb
    ]


def atomic_target(dst: Path) -> Path:
    """A temporary sibling of `dst` with the same suffix (so the muxer still guesses the format).

    Writers fill it and `os.replace` it onto `dst`, so an interrupted build never leaves a
    truncated file under a final name, and a resumed build simply overwrites the leftover.
    """
    return dst.with_name(f".{dst.stem}.partial{dst.suffix}")


def write_frames(
    dst: str | Path,
    frames: Iterable[av.VideoFrame],
    rate: Fraction,
    codec: str = "libx264",
    options: dict[str, str] | None = None,
    qscale: int | None = None,
) -> Path:
    """Encode `frames` at constant `rate` into `dst` (written to a temp file, then renamed).

    `qscale` fixes the quantiser of MPEG-style encoders (FFmpeg's `-qscale:v`): PyAV cannot
    set the per-frame quality the ffmpeg tool sets, so it is pinned with `qmin = qmax`.
    """
    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic_target(dst)
    opts = portable_encoder_options(codec, options)
    if qscale is not None:
        opts.update(qmin=str(qscale), qmax=str(qscale))
    try:
        with av.open(str(tmp), mode="w") as container:
            stream = None
            for i, frame in enumerate(frames):
                if stream is None:
                    stream = container.add_stream(codec, rate=rate)
                    stream.width, stream.height, stream.pix_fmt = frame.width, frame.height, WORK_PIX_FMT
                    # One encoder thread: threaded MPEG-2/x264 encodes differed between two builds
                    # of the demo (2 of 192 files), and labels must be reproducible.
                    stream.codec_context.thread_count = 1
                    if opts:
                        stream.options = opts
                if frame.format.name != WORK_PIX_FMT:
                    frame = frame.reformat(format=WORK_PIX_FMT)
                frame.pts = i
                frame.time_base = Fraction(1) / rate
                for packet in stream.encode(frame):
                    container.mux(packet)
            if stream is None:
                raise VideoDecodeError(f"{dst}: nothing to write, the frame sequence is empty")
            for packet in stream.encode():
                container.mux(packet)
        os.replace(tmp, dst)
    except av.FFmpegError as err:
        raise VqaError(f"{dst}: cannot encode with {codec} at {rate} fps, options {opts} ({err})") from err
    finally:
        tmp.unlink(missing_ok=True)
    return dst


def count_frames(path: str | Path) -> tuple[int, int, int] | None:
    """(frames, height, width) from the container header, or None if the file does not open.

    Used to decide whether an existing output is complete; files this module writes are
    mp4s whose headers carry an exact frame count.
    """
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            return int(stream.frames), int(stream.codec_context.height), int(stream.codec_context.width)
    except (av.FFmpegError, IndexError, OSError):
        return None
