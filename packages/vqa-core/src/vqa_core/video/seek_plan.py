"""When reading a few frames of a long video, seek or decode forward? (`SeekPlan`)

Seeking before every frame is a trap (each seek restarts at a keyframe), and decoding
everything is wasteful on long clips. A seek costs a decoder flush and refilling the
frame-thread pipeline, and it lands on a keyframe, so it only pays when the keyframe before
the next target lies beyond where decoding already is. With a keyframe index (mp4/mov/avi
sample tables, mkv/webm cues) that is known exactly; without one the plan seeks when the
target is more than a keyframe interval ahead, an interval it learns while decoding. The AVI
helpers at the end tell which frame number a seek lands on (AVI frames are counted).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import av

from vqa_core.video.container import StreamTiming

__all__ = [
    "SEEK_MARGIN",
    "SeekPlan",
    "first_index_timestamp",
    "first_packet_pts_offset",
    "keyframe_indices",
    "plan_seeks",
]

# Seeking costs a decoder flush and refilling the frame-thread pipeline; not worth it for a few frames.
SEEK_MARGIN = 4
# Containers whose index lists every keyframe (sample tables, cues, idx1) before decoding starts.
INDEXED_FORMATS = frozenset({"mov", "mp4", "m4a", "3gp", "3g2", "mj2", "matroska", "webm", "avi"})


@dataclass
class SeekPlan:
    """Decides, before each target, whether seeking beats decoding forward."""

    keyframes: list[int] | None  # estimated frame indices of the keyframes a seek can land on
    fallback_gap: int  # used without a keyframe index: seek when the target is this far ahead
    seekable: bool = True
    _last_key: int | None = None
    _learned_gap: int = 0

    def should_seek(self, pos: int, target: int) -> bool:
        if not self.seekable:
            return False
        if self.keyframes:
            j = bisect.bisect_right(self.keyframes, target) - 1
            key = self.keyframes[j] if j >= 0 else 0
            return key - pos > SEEK_MARGIN
        gap = max(self.fallback_gap, self._learned_gap)
        return target - pos > gap

    def saw_keyframe(self, index: int, contiguous: bool) -> None:
        """Learn the keyframe interval from decoding when the container has no index."""
        if contiguous and self._last_key is not None and index > self._last_key:
            self._learned_gap = max(self._learned_gap, index - self._last_key)
        self._last_key = index

    def forget_position(self) -> None:
        self._last_key = None


def plan_seeks(container: av.container.InputContainer, stream: av.video.stream.VideoStream, timing: StreamTiming) -> SeekPlan:
    """The plan for one read of `stream`; may seek `container` to the start (mkv reads its cues then)."""
    fallback = max(32, round(2 * float(timing.fps)))
    keys = keyframe_indices(container, stream, timing)
    if (keys is None or len(keys) < 2) and "matroska" in container.format.name:
        # mkv/webm read their cues on the first seek; seeking to the start is free before decoding.
        try:
            container.seek(timing.start or 0, stream=stream, backward=True)
            keys = keyframe_indices(container, stream, timing)
        except av.FFmpegError:
            return SeekPlan(keyframes=None, fallback_gap=fallback, seekable=False)
    return SeekPlan(keyframes=keys if keys and len(keys) >= 2 else None, fallback_gap=fallback)


def keyframe_indices(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, timing: StreamTiming
) -> list[int] | None:
    """Estimated frame indices of the keyframes in the container's index, or None without one."""
    # Only containers with a real sample index or cues; others (mpegts, raw h264, ...) build
    # index entries on the fly while demuxing, which describe where we have been, not the file.
    if not INDEXED_FORMATS.intersection(container.format.name.split(",")):
        return None
    try:
        entries = stream.index_entries
        n = len(entries)
    except (AttributeError, av.FFmpegError):
        return None
    if n == 0:
        return None
    # Index timestamps may be decode timestamps (mp4 with B-frames starts below 0): count from the first.
    first = entries[0].timestamp
    scale = timing.time_base * timing.fps
    stamps = [e.timestamp for e in entries if e.is_keyframe and not e.is_discard]
    return sorted({round((ts - first) * scale) for ts in stamps})


def first_index_timestamp(stream: av.video.stream.VideoStream) -> int | None:
    """The first index entry's timestamp (AVI: frame numbers count from it), or None."""
    try:
        entries = stream.index_entries
        return entries[0].timestamp if len(entries) else None
    except (AttributeError, av.FFmpegError, IndexError):
        return None


def first_packet_pts_offset(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, seek_back_to: int
) -> int | None:
    """pts - dts of the first packet, which is shown first: the delay FFmpeg's pts guess adds.

    Guessed AVI pts are this far ahead of the frame number; for codecs whose parser knows
    the picture order (MPEG-4 part 2) they are display-order stamps, so a keyframe's pts
    minus this offset is its display index even when B-frames after it in decode order
    are shown before it (open GOP). Costs one packet read and a seek back to `seek_back_to`;
    None if either fails.
    """
    offset = 0
    try:
        for packet in container.demux(stream):
            if packet.size > 0:
                if packet.pts is not None and packet.dts is not None:
                    offset = packet.pts - packet.dts
                break
        container.seek(seek_back_to, stream=stream, backward=True)
    except av.FFmpegError:
        return None
    return offset
