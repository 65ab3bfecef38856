"""`probe`: what a video holds, without trusting container metadata blindly.

Container frame counts are often zero (mkv, webm) or wrong (truncated uploads, broken muxers),
and a sampler that believes a wrong count asks for frames that do not exist. So the count is
checked against duration x fps and, when it is missing or absurd, recounted by demuxing packets
(cheap: no decoding); `exact=True` decodes every frame, for files suspected to be damaged.
The first frame is always decoded, which both proves the file is decodable and yields the
display rotation, which lives in per-frame side data.

Damaged and degenerate inputs (issue #16.5):
- A truncated mp4 whose index sits at the start ("faststart") still declares every frame; its
  index then points past the end of the file, so its frames are counted by decoding, and the
  count that decodes is the one reported. The shortfall is not silent: `VideoInfo.note` says
  how many frames the container declares and how many the file holds (for containers without
  a frame count, such as mkv, its declared duration against the packets' span), and a
  `ShortVideoWarning` is issued (callers such as `vqa score` put the note in their reason
  column). Variable frame rate and a first frame late in the stream are not shortfalls.
- Refused with a `VideoDecodeError` naming the file and the minimum: a displayed size below
  `MIN_SIDE` x `MIN_SIDE` pixels (16), fewer than `MIN_FRAMES` decodable frames (2), and
  still images (png, jpeg, bmp, ... read by FFmpeg's image demuxers): a single picture has no
  motion to assess, and every method would score one frame repeated.

A file is probed once per process: `vqa score` probes every input to list what it will score,
and the method's dataset then needs the frame count again, inside the timed decode. Opening
an H.264 file decodes frames (FFmpeg's stream analysis, then the first frame), 0.15-0.2 s for
a 1080p clip, a fifth of a small preset's whole scoring time. So results are remembered by
the file's identity (resolved path, inode, size, modification time): a rewritten file is
probed anew. The memory is per process and bounded (`_MEMO_SIZE` files), and a remembered
shortfall is warned about again on every call, as a fresh probe would.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import av

from vqa_core.errors import VideoDecodeError
from vqa_core.video.container import (
    MIN_FRAMES,
    DeclaredLength,
    check_file,
    check_frame_size,
    declared_length,
    describe_error,
    index_within_file,
    open_video,
    shortfall_slack,
    stream_timing,
)
from vqa_core.video.raw import RawFormat, raw_frame_count
from vqa_core.video.resize import displayed_size, quarter_turns


@dataclass(frozen=True)
class VideoInfo:
    """What `probe` found.

    `width` and `height` are the *displayed* size, i.e. after the display rotation, which is
    also the size `read_clip` returns by default (a portrait phone clip coded as 1920x1080 with
    `rotation=90` reports width=1080, height=1920). `rotation` is the counter-clockwise display
    rotation in degrees (0, 90, 180 or 270). `fps` is the average frame rate, the one frame
    indices are based on; `num_frames_source` says how `num_frames` was obtained:
    "container" (header, checked against duration x fps), "packets" (demux count), "decoded"
    (every frame decoded) or "raw" (file size / frame size). `frames_declared` is the frame
    count the container's header claims (0 when it has none, as in mkv); `note` is empty for a
    sound file, else one line a caller can show, e.g. "the container declares 64 frames but
    the file holds only 39 ..." (or, without a header count, its declared seconds).
    """

    num_frames: int
    fps: float
    width: int
    height: int
    duration: float
    codec: str
    rotation: int
    pix_fmt: str
    num_frames_source: str
    frames_declared: int = 0
    note: str = ""


class ShortVideoWarning(UserWarning):
    """A video holds fewer decodable frames than its container declares (truncated or damaged)."""


def probe(path: str | Path, *, raw: RawFormat | None = None, exact: bool = False) -> VideoInfo:
    """Describe the first video stream of `path` (or a headerless file, given `raw`).

    Raises `VideoDecodeError` naming the file and the cause when it is missing, empty, not a
    video, has no video stream, or has no decodable frame.
    """
    p = check_file(path)
    if raw is None:
        key = _identity(p, exact)
        info = _MEMO.get(key)
        if info is None:
            info = _probe_container(p, exact)
            _MEMO[key] = info
            while len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
        else:
            _MEMO.move_to_end(key)
        if info.note:
            warnings.warn(f"{p}: {info.note}", ShortVideoWarning, stacklevel=2)
        return info
    return _probe_raw(p, raw)


_MEMO_SIZE = 4096
_MEMO: OrderedDict[tuple, VideoInfo] = OrderedDict()


def forget_probes() -> None:
    """Drop every remembered probe: the next `probe` of any file reads it again (what a new
    process sees; benchmarks call it before timing a "new video")."""
    _MEMO.clear()


def _identity(p: Path, exact: bool) -> tuple:
    """What distinguishes one file's content from another's without reading it."""
    st = os.stat(p)
    return (str(p.resolve()), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, bool(exact))


def _probe_raw(p: Path, raw: RawFormat) -> VideoInfo:
    """A headerless file: its frame count is its size over the frame size (cheap, not remembered)."""
    n = raw_frame_count(p, raw)
    _check_frame_count(p, n, "raw frame")
    return VideoInfo(
        num_frames=n,
        fps=float(raw.fps),
        width=raw.width,
        height=raw.height,
        duration=n / float(raw.fps),
        codec="rawvideo",
        rotation=0,
        pix_fmt=raw.pix_fmt,
        num_frames_source="raw",
    )


def _probe_container(p: Path, exact: bool) -> VideoInfo:
    """`probe` of a container file, read through FFmpeg (the shortfall warning is the caller's)."""
    with open_video(p) as (container, stream):
        timing = stream_timing(p, stream)
        fps = float(timing.fps)
        codec = stream.codec_context.name
        duration = _duration(container, stream)
        stream_time_base = stream.time_base
        header_count = stream.frames or 0
        declared = declared_length(stream)
        complete = index_within_file(p, stream)
        first = _first_frame(p, container, stream)
        rotation = quarter_turns(float(first.rotation or 0)) * 90
        height, width = displayed_size(first.height, first.width, rotation)
        check_frame_size(p, width, height)
        pix_fmt = first.format.name
    expected = duration * fps if duration else None
    measured: float | None = None  # seconds of video the packets span, when counted
    if header_count > 0 and not exact and complete and _plausible(header_count, expected):
        num_frames, source = header_count, "container"
    else:
        # Counting packets also measures the real pts span, which beats container durations
        # (mkv counts from 0 even when the first frame is at 1 s; mp4 uses decode timestamps).
        num_frames, span = _count_packets(p, stream_time_base)
        source = "packets"
        if span:
            duration = span
            measured = span
        expected = duration * fps if duration else None
        if exact or not complete or num_frames == 0 or not _plausible(num_frames, expected):
            # a truncated file's index lists packets that are gone: only decoding tells
            num_frames, source = _count_decoded(p), "decoded"
    if num_frames == 0:
        raise VideoDecodeError(f"{p}: no decodable video frame")
    _check_frame_count(p, num_frames, "decodable frame")
    note = _shortfall_note(declared, num_frames, measured, fps)
    return VideoInfo(
        num_frames=num_frames,
        fps=fps,
        width=width,
        height=height,
        duration=duration if duration else num_frames / fps,
        codec=codec,
        rotation=rotation,
        pix_fmt=pix_fmt,
        num_frames_source=source,
        frames_declared=declared.frames,
        note=note,
    )


def _shortfall_note(declared: DeclaredLength, num_frames: int, measured: float | None, fps: float) -> str:
    """"" for a file as long as its container says; else what is missing, in its words."""
    tail = "(a truncated or damaged file); scored on the frames it holds"
    if declared.frames:  # a header count is exact
        if num_frames < declared.frames:
            return f"the container declares {declared.frames} frames but the file holds only {num_frames} {tail}"
        return ""
    if declared.seconds and measured is not None and measured < declared.seconds - shortfall_slack(declared.seconds * fps) / fps:
        return (
            f"the container declares {declared.seconds:.2f} s of video but the file holds only "
            f"{measured:.2f} s ({num_frames} frames) {tail}"
        )
    return ""


def _check_frame_count(path: Path, count: int, what: str) -> None:
    if count < MIN_FRAMES:
        raise VideoDecodeError(
            f"{path}: {count} {what}{'' if count == 1 else 's'}, fewer than the {MIN_FRAMES} vqa-zoo needs "
            "(a still image or a one-frame clip has no motion to assess)"
        )


def _plausible(count: int, expected: float | None) -> bool:
    """A frame count is absurd if it disagrees with duration x fps by more than half."""
    if expected is None:
        return count < 10**9
    return 0.5 * expected - 2 <= count <= 1.5 * expected + 2


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration and container.duration > 0:
        return container.duration / av.time_base
    return None


def _first_frame(path: Path, container: av.container.InputContainer, stream: av.video.stream.VideoStream):
    errors = 0
    try:
        for packet in container.demux(stream):
            try:
                frames = packet.decode()
            except av.FFmpegError:
                errors += 1
                continue
            for frame in frames:
                if not frame.is_corrupt:
                    return frame
    except av.FFmpegError as err:
        raise VideoDecodeError(f"{path}: reading the stream failed ({describe_error(err)})") from err
    why = f"{errors} packets failed to decode" if errors else "the stream is empty or truncated"
    raise VideoDecodeError(f"{path}: no decodable video frame ({why})")


def _count_packets(path: Path, time_base) -> tuple[int, float | None]:
    """(packets, seconds from the first frame's start to the last frame's end) by demuxing only."""
    n, lo, hi = 0, None, None
    with open_video(path) as (container, stream):
        try:
            for packet in container.demux(stream):
                if packet.size <= 0:
                    continue
                n += 1
                if packet.pts is not None:
                    end = packet.pts + (packet.duration or 0)
                    lo = packet.pts if lo is None else min(lo, packet.pts)
                    hi = end if hi is None else max(hi, end)
        except av.FFmpegError:
            pass  # damaged tail: count what was readable
    span = float((hi - lo) * time_base) if lo is not None and hi > lo and time_base else None
    return n, span


def _count_decoded(path: Path) -> int:
    with open_video(path) as (container, stream):
        stream.codec_context.thread_type = "AUTO"
        n = 0
        try:
            for packet in container.demux(stream):
                try:
                    n += sum(1 for f in packet.decode() if not f.is_corrupt)
                except av.FFmpegError:
                    continue
        except av.FFmpegError:  # damaged tail: drain what the decoder still holds
            with contextlib.suppress(av.FFmpegError):
                n += sum(1 for f in stream.codec_context.decode(None) if not f.is_corrupt)
        return n
