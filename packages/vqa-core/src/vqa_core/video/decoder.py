"""`ClipDecoder`: one read of the frames `read_clip` wants, from one container.

Why it is built this way (measured in reference/anchors.md §6.3 and in benchmarks/decode.py):

- One backward seek per group of far-apart targets, then decode forward (`SeekPlan`, whose
  module says when a seek pays).
- Frames we only pass through on the way to a target may skip non-reference pictures
  (`skip_frame="NONREF"`): nothing refers to them, so the returned frames cannot change. A
  guard re-decodes without skipping in the rare case (gaps, end of stream) where a skipped
  picture could have been the nearest frame to a target.
- Only wanted frames are converted, straight to RGB at the output size by swscale
  (`frame.reformat`); full-resolution RGB never reaches numpy.
- Frame index = round((pts - start) * time_base * fps), with `fps` the stream's average rate, so
  streams whose first pts is not 0 work, and on variable-frame-rate video index i means "the
  frame shown closest to time i / fps". A target with no frame of its own (past the end, an
  undecodable or missing frame) gets the nearest decodable frame (ties: the earlier one).
- AVI stores no presentation timestamps, only frame numbers in decode order; the pts FFmpeg
  guesses for it are off by the reorder delay and, with B-frames, permuted (the decoder
  returns frames in display order, each carrying its own packet's decode-order stamp). PyAV
  does not expose FFmpeg's `best_effort_timestamp`, which would not fix this either (it falls
  back to the dts of the packet that *triggered* the output, shifted by the decoder and thread
  delay). So AVI frames are *counted* in decoder output order from a known position: 0 at
  the top of the stream, and after a seek the display index of the keyframe decoding restarts
  at (its frame number from the idx1 index, corrected by the parser's pts when B-frames coded
  after it are shown before it). Counting cannot survive skipped pictures, so AVI is decoded
  without the non-reference skip. Any other container whose decoded pts go backwards in output
  order is read again the same way, from the top (its dts need not be frame numbers).
- Each call opens its own container and shares nothing, so it is safe in DataLoader workers.
"""

from __future__ import annotations

import bisect
import contextlib
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import chain
from pathlib import Path

import av
import numpy as np

from vqa_core.errors import VideoDecodeError
from vqa_core.video.container import (
    StreamTiming,
    check_frame_size,
    declared_length,
    describe_error,
    open_video,
    shortfall_slack,
    stream_timing,
)
from vqa_core.video.info import ShortVideoWarning
from vqa_core.video.resize import SWSCALE_THREADS, Resize, displayed_size, quarter_turns, rotate_for_display
from vqa_core.video.seek_plan import first_index_timestamp, first_packet_pts_offset, plan_seeks

__all__ = ["ClipDecoder"]

# Far-future targets are clamped to this before computing a seek timestamp (avoids int64 overflow);
# they still resolve to the last decodable frame.
_MAX_INDEX = 2**40
# Packets this close to a target (or to the estimated end) are always fully decoded.
_SKIP_GUARD = 8
# Give up on a stream after this many consecutive packets that fail to decode.
_MAX_CONSECUTIVE_ERRORS = 200
# Containers whose timestamps are frame numbers in decode order (no pts): frames are counted.
_COUNTED_FORMATS = frozenset({"avi"})
# Fewer than one wanted frame in this many (over the wanted span) counts as a sparse read.
_DENSE_FRACTION = 4


class _PtsWentBackwards(Exception):
    """Decoded frames come out in display order, so decreasing pts mean they are not presentation times."""



@dataclass
class ClipDecoder:
    """One read: owns its container for the duration of `run` and nothing afterwards."""

    path: Path
    resize: Resize
    skip_nonref: bool
    # Index frames by counting decoder output instead of by pts; None = decide from the container.
    count_frames: bool | None = None
    output_hw: tuple[int, int] = (0, 0)
    skip_may_have_changed_result: bool = False
    pts_went_backwards: bool = False  # set (and the run abandoned) when pts are not presentation times
    _rotation: float = 0.0
    _geometry_known: bool = False
    _skip_before: int = -1  # packets with a smaller index may skip non-reference pictures
    _skip_limit: int | None = None  # never skip this close to the (estimated) end of the stream
    _skipped: list[int] = field(default_factory=list)  # indices of packets decoded in skip mode
    _counter: int = -1  # index of the last frame counted (frames without timestamps, counted mode)
    _dts0: int | None = None  # first index timestamp: AVI frame numbers count from it
    _pts_offset: int = 0  # pts - dts of the first AVI packet (see seek_plan.first_packet_pts_offset)
    _errors: int = 0
    thread_type: str = "AUTO"

    def run(self, targets: np.ndarray) -> dict[int, np.ndarray]:
        # Frame threading pays a pipeline refill after every seek's flush and on every short
        # run, so sparse reads decode faster with slice threading (measured with
        # benchmarks/decode.py on 2 cores: 8 uniform frames of a 10 s 1080p clip, read/full
        # 0.84 with AUTO, 0.53 with SLICE); dense runs keep AUTO's frame threads.
        span = int(targets[-1]) - int(targets[0]) + 1 if len(targets) else 0
        self.thread_type = "SLICE" if len(targets) * _DENSE_FRACTION < span else "AUTO"
        with contextlib.ExitStack() as stack:
            self._stack = stack
            self._open()
            try:
                return self._run(targets.tolist())
            except _PtsWentBackwards:
                self.pts_went_backwards = True
                return {}
            except av.FFmpegError as err:
                raise VideoDecodeError(f"{self.path}: decoding failed ({describe_error(err)})") from err

    # -- container handling -------------------------------------------------------------------
    def _open(self) -> None:
        self.container, self.stream = self._stack.enter_context(open_video(self.path))
        self.stream.codec_context.thread_type = self.thread_type
        self.timing = stream_timing(self.path, self.stream)
        formats = set(self.container.format.name.split(","))
        indexed_avi = False
        if self.count_frames is None:
            self.count_frames = bool(_COUNTED_FORMATS & formats)
        if self.count_frames:
            # Skipped pictures produce no output, which would break the count.
            self.skip_nonref = False
            self._dts0 = first_index_timestamp(self.stream)
            indexed_avi = bool(_COUNTED_FORMATS & formats) and self._dts0 is not None
        self.plan = plan_seeks(self.container, self.stream, self.timing)
        if self.count_frames and not indexed_avi:
            # Only AVI's index says which frame number a seek lands on; elsewhere count from the top.
            self.plan.seekable = False
        elif self.count_frames and self.plan.seekable:
            offset = first_packet_pts_offset(self.container, self.stream, self._dts0 or 0)
            if offset is None:  # the peek or the seek back failed: read from the top of a fresh container
                self.container.close()
                self.container, self.stream = self._stack.enter_context(open_video(self.path))
                self.stream.codec_context.thread_type = self.thread_type
                self.plan.seekable = False
            else:
                self._pts_offset = offset
        self._skip_limit = self._estimated_frames() - _SKIP_GUARD if self._estimated_frames() else None

    def _estimated_frames(self) -> int | None:
        """Header frame count or duration x fps: only used to keep skipping away from the end."""
        if self.stream.frames and self.stream.frames > 0:
            return int(self.stream.frames)
        if self.stream.duration and self.stream.time_base:
            return int(self.stream.duration * self.stream.time_base * self.timing.fps)
        if self.container.duration and self.container.duration > 0:
            return int(self.container.duration / av.time_base * float(self.timing.fps))
        return None

    def _set_skip_before(self, target: int) -> None:
        limit = target - _SKIP_GUARD
        self._skip_before = limit if self._skip_limit is None else min(limit, self._skip_limit)

    def _reopen_unseekable(self) -> Iterator[tuple[Fraction, av.VideoFrame]]:
        """A seek failed: start again from the top of a fresh container and never seek again."""
        self.container.close()
        self._open()
        self.plan.seekable = False
        self._counter = -1
        return self._frames()

    # -- the decode loop ----------------------------------------------------------------------
    def _run(self, targets: list[int]) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        it = self._frames()
        pos = -1  # index of the last decoded frame; -1 = at the start of the stream
        if self.timing.start is None or not targets:
            # Unknown first pts (or only the geometry is wanted): decode the first frame from the top.
            first = next(it, None)
            if first is None:
                raise self._nothing_decodable()
            it = chain([first], it)
            if not targets:
                return out
        i, n = 0, len(targets)
        prev: tuple[Fraction, av.VideoFrame] | None = None  # (position in frames, frame)
        converted: tuple[Fraction, np.ndarray] | None = None  # the last converted frame (repeats, clamps)
        decoded_any = False
        sought: int | None = None  # the target of the last seek: never seek twice for one target
        while i < n:
            if targets[i] != sought and self.plan.should_seek(pos, targets[i]):
                sought = targets[i]
                it = self._seek(sought)
                prev = None
                self.plan.forget_position()
            self._set_skip_before(targets[i])
            exhausted = True
            for x, frame in it:
                decoded_any = True
                pos = round(x)
                while i < n and targets[i] <= x:
                    t = targets[i]
                    chosen = (x, frame) if x == t or prev is None or x - t < t - prev[0] else prev
                    if chosen[0] != t:
                        self._check_skip_guard(t, chosen[0])
                    if converted is None or converted[0] != chosen[0]:
                        converted = (chosen[0], self._convert(chosen[1]))
                    out[t] = converted[1]
                    i += 1
                prev = (x, frame)
                if i >= n:
                    exhausted = False
                    break
                self._set_skip_before(targets[i])
                if targets[i] != sought and self.plan.should_seek(pos, targets[i]):
                    exhausted = False
                    break
            if exhausted:
                if prev is None:
                    if decoded_any:  # a seek landed past every decodable frame; clamp to the last one seen
                        raise VideoDecodeError(f"{self.path}: lost the stream after seeking (target {targets[i]})")
                    raise self._nothing_decodable()
                last_x, last_frame = prev
                self._warn_if_short(round(last_x))
                for t in targets[i:]:
                    self._check_skip_guard(t, last_x)
                    if converted is None or converted[0] != last_x:
                        converted = (last_x, self._convert(last_frame))
                    out[t] = converted[1]
                i = n
        return out

    def _warn_if_short(self, last: int) -> None:
        """Targets past the last decodable frame get that frame (documented); say so when the
        container declares frames beyond it, i.e. the file is truncated or damaged."""
        declared = declared_length(self.stream).positions(float(self.timing.fps))
        if declared and last + 1 < declared - shortfall_slack(declared):
            warnings.warn(
                f"{self.path}: the container declares {declared} frames but decoding stops after frame {last} "
                "(a truncated or damaged file); the last decodable frame stands in for the missing ones",
                ShortVideoWarning,
                stacklevel=4,
            )

    def _nothing_decodable(self) -> VideoDecodeError:
        why = f"{self._errors} packets failed to decode" if self._errors else "the stream is empty or truncated"
        return VideoDecodeError(f"{self.path}: no decodable video frame ({why})")

    def _check_skip_guard(self, target: int, chosen: Fraction) -> None:
        """Could a picture we skipped have been nearer to `target` than the frame we chose?"""
        if not self._skipped:
            return
        d = abs(target - chosen) + 1  # packet positions are rounded: widen by one frame
        skipped = sorted(self._skipped)
        lo = bisect.bisect_left(skipped, target - d)
        if lo < len(skipped) and skipped[lo] <= target + d:
            self.skip_may_have_changed_result = True

    def _seek(self, target: int) -> Iterator[tuple[Fraction, av.VideoFrame]]:
        """Seek backward to the keyframe before `target`; step further back if the demuxer lands late."""
        back = 0
        while True:
            goal = max(min(target, _MAX_INDEX) - back, 0)
            try:
                self.container.seek(self.timing.pts_of(goal), stream=self.stream, backward=True)
            except av.FFmpegError:
                return self._reopen_unseekable()
            self.stream.codec_context.flush_buffers()
            self._counter = -1  # sequential positions mean nothing after a seek
            it = self._frames(after_seek=True)
            first = next(it, None)
            if first is not None and (round(first[0]) <= target or goal == 0):
                return chain([first], it)
            if first is None and goal == 0:
                return self._reopen_unseekable()
            back = max(2 * back, self.plan.fallback_gap)

    def _frames(self, after_seek: bool = False) -> Iterator[tuple[Fraction, av.VideoFrame]]:
        """(position, frame) in presentation order from the current demux position; bad packets skipped.

        The position is (pts - start) * time_base * fps, unrounded: an integer on constant-rate
        video, and what "nearest frame" is measured in on variable-rate video.
        """
        cc = self.stream.codec_context
        timing: StreamTiming = self.timing
        skipping = False
        consecutive_errors = 0
        contiguous = not after_seek
        last_pts: int | None = None
        anchored = not (after_seek and self.count_frames)
        leading = False
        demux = self.container.demux(self.stream)
        while True:
            try:
                packet = next(demux)
            except StopIteration:
                return
            except av.FFmpegError:
                packet = None  # damaged container data: treat as the end, but drain the decoder
            if not anchored and packet is not None:
                # Counted mode after a seek: start at a keyframe and take its display index from
                # its guessed pts (see seek_plan.first_packet_pts_offset), else its frame number (dts).
                if packet.size <= 0 or not packet.is_keyframe:
                    continue
                if packet.dts is None or self._dts0 is None:
                    yield from self._reopen_unseekable()
                    return
                stamp = packet.dts if packet.pts is None else packet.pts - self._pts_offset
                self._counter = round((stamp - self._dts0) * timing.time_base * timing.fps) - 1
                anchored = True
                leading = True  # pictures shown before this keyframe lack a reference here: drop them
            if packet is not None and self.skip_nonref and packet.pts is not None and timing.start is not None:
                p = timing.index_of(packet.pts)
                skip = p < self._skip_before
                if skip:
                    self._skipped.append(p)
                if skip != skipping:
                    cc.skip_frame = "NONREF" if skip else "DEFAULT"
                    skipping = skip
            try:
                frames = cc.decode(packet)
                consecutive_errors = 0
            except av.FFmpegError:
                self._errors += 1
                consecutive_errors += 1
                if self.count_frames:
                    # The lost picture's slot: exact without B-frames, within the reorder delay with them.
                    self._counter += 1
                if consecutive_errors > _MAX_CONSECUTIVE_ERRORS:
                    return
                continue
            for frame in frames:
                if leading and not frame.key_frame:
                    continue
                leading = False
                if self.count_frames:
                    self._counter += 1  # corrupt frames still occupy their slot
                elif frame.pts is not None:
                    if contiguous and last_pts is not None and frame.pts < last_pts:
                        raise _PtsWentBackwards
                    last_pts = frame.pts
                if frame.is_corrupt:
                    self._errors += 1
                    continue
                x = Fraction(self._counter) if self.count_frames else self._position(frame, after_seek)
                if x is None:
                    # No timestamps after a seek: positions are unknowable, decode from the top instead.
                    yield from self._reopen_unseekable()
                    return
                if not self._geometry_known:
                    self._learn_geometry(frame)
                if frame.key_frame:
                    self.plan.saw_keyframe(round(x), contiguous)
                contiguous = True
                yield x, frame
            if packet is None:
                return

    def _position(self, frame: av.VideoFrame, after_seek: bool) -> Fraction | None:
        ts = frame.pts if frame.pts is not None else frame.dts
        if ts is None:
            if after_seek and self._counter < 0:
                return None
            self._counter += 1
            return Fraction(self._counter)
        if self.timing.start is None:
            self.timing = StreamTiming(self.timing.fps, self.timing.time_base, ts)
        x = max(self.timing.position_of(ts), Fraction(0))
        self._counter = round(x)
        return x

    # -- conversion -----------------------------------------------------------------------------
    def _learn_geometry(self, frame: av.VideoFrame) -> None:
        self._rotation = float(frame.rotation or 0)
        shown = displayed_size(frame.height, frame.width, self._rotation)
        check_frame_size(self.path, width=shown[1], height=shown[0])
        self.output_hw = self.resize.output_size(*shown)
        self._geometry_known = True

    def _convert(self, frame: av.VideoFrame) -> np.ndarray:
        h, w = self.output_hw
        ch, cw = (w, h) if quarter_turns(self._rotation) % 2 else (h, w)
        rgb = frame.reformat(
            width=cw,
            height=ch,
            format="rgb24",
            interpolation=self.resize.interpolation.upper(),
            threads=SWSCALE_THREADS,
        ).to_ndarray()
        return rotate_for_display(rgb, self._rotation)


