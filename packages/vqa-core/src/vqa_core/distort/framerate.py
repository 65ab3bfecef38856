"""Frame-rate drop: keep every k-th frame, then motion-interpolate back to the source rate.

Interpolation runs FFmpeg's `minterpolate` filter (motion-compensated, `mi_mode=mci`) in a
PyAV filter graph. The kept frames are pushed with their *source* timestamps, so the
filter's output at source timestamp i lines up with source frame i; the kept frames come
back unchanged and only the dropped ones are synthesised. `minterpolate` cannot extrapolate
past the last kept frame, so the tail (at most k-1 frames) holds that frame, as a
player upconverting a low-rate stream would.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import av.filter

from vqa_core.distort.clip_io import LOSSLESS_H264, WORK_PIX_FMT, read_yuv_frames, write_frames
from vqa_core.distort.versions import VERSIONS
from vqa_core.errors import ConfigError, VideoDecodeError

__all__ = ["MINTERPOLATE_OPTIONS", "fps_drop", "fps_drop_frames"]

_DIVISORS = {v.level: v.parameter for v in VERSIONS if v.family == "fps_drop"}
# minterpolate's defaults except the explicit mode: motion-compensated interpolation with
# overlapped-block compensation and bilateral motion estimation. The "quality" settings
# (aobmc, vsbmc=1) cost ~3x more time for differences invisible at demo sizes.
MINTERPOLATE_OPTIONS = "mi_mode=mci:mc_mode=obmc:me_mode=bilat:me=epzs"


def _drain(graph: av.filter.Graph, out: dict[int, av.VideoFrame]) -> None:
    while True:
        try:
            frame = graph.vpull()
        except (av.error.BlockingIOError, av.error.EOFError):
            return
        out[int(frame.pts)] = frame


def fps_drop_frames(frames: list[av.VideoFrame], rate: Fraction, divisor: int) -> list[av.VideoFrame]:
    """Same number of frames at the same rate, carrying only 1/`divisor` of the original motion samples."""
    if divisor < 2:
        raise ConfigError(f"frame-rate divisor must be >= 2, got {divisor}")
    if len(frames) <= divisor:
        raise VideoDecodeError(
            f"a {len(frames)}-frame clip is too short to drop the frame rate by {divisor}: "
            f"need more than {divisor} frames"
        )
    width, height = frames[0].width, frames[0].height
    time_base = Fraction(1) / rate
    graph = av.filter.Graph()
    source = graph.add(
        "buffer",
        video_size=f"{width}x{height}",
        pix_fmt=WORK_PIX_FMT,
        time_base=f"{time_base.numerator}/{time_base.denominator}",
        frame_rate=f"{(rate / divisor).numerator}/{(rate / divisor).denominator}",
        pixel_aspect="1/1",
    )
    interp = graph.add("minterpolate", f"fps={rate.numerator}/{rate.denominator}:{MINTERPOLATE_OPTIONS}")
    sink = graph.add("buffersink")
    source.link_to(interp)
    interp.link_to(sink)
    graph.configure()

    produced: dict[int, av.VideoFrame] = {}
    kept = range(0, len(frames), divisor)
    for i in kept:
        frame = frames[i].reformat(format=WORK_PIX_FMT)
        frame.pts, frame.time_base = i, time_base
        graph.vpush(frame)
        _drain(graph, produced)
    graph.vpush(None)
    _drain(graph, produced)

    out: list[av.VideoFrame] = []
    last = frames[kept[-1]]
    for i in range(len(frames)):
        if i >= kept[-1]:
            out.append(last)
        elif i in produced:
            out.append(produced[i])
        else:  # never seen with these settings; hold the previous output rather than fail
            out.append(out[-1] if out else frames[0])
    return out


def fps_drop(src: str | Path, dst: str | Path, level: int) -> Path:
    """Versions 10-12: frame rate / 2, / 3, / 4, interpolated back; stored losslessly."""
    if level not in _DIVISORS:
        raise ConfigError(f"fps_drop: level {level!r} is not one of {sorted(_DIVISORS)}")
    frames, rate = read_yuv_frames(src)
    return write_frames(dst, fps_drop_frames(frames, rate, _DIVISORS[level]), rate, "libx264", LOSSLESS_H264)
