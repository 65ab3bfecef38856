"""Temporal samplers: which frame indices of a video a method looks at.

Three samplers cover every method in vqa-zoo:

- `uniform_indices` spreads T frames over the whole video (STR/DAGR/SC-VQA).
- `SampleFrames` takes `num_clips` contiguous strided clips (MMAction2 / FAST-VQA semantics):
  random clip starts in training, centred starts in testing.
- `FragmentSampleFrames` cuts the video into `fragments_t` equal segments and takes a short
  strided run of `fsize_t` frames from each ("temporal fragments", FasterVQA).

All randomness comes from an explicit `numpy.random.Generator`, never from numpy's global
state, so a seeded run is reproducible and a test-mode call needs no generator at all.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["FragmentSampleFrames", "SampleFrames", "uniform_indices"]


def _check_num_frames(num_frames: int) -> int:
    num_frames = int(num_frames)
    if num_frames < 1:
        raise ValueError(
            f"cannot sample frames from a video with {num_frames} frames; it must have at least 1"
        )
    return num_frames


def _positive(name: str, value: int) -> int:
    value = int(value)
    if value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return value


def _need_rng(rng: np.random.Generator | None, sampler: str) -> np.random.Generator:
    if rng is None:
        raise ValueError(
            f"{sampler} in train mode needs an explicit numpy.random.Generator "
            "(e.g. numpy.random.default_rng(seed)); pass rng=..., or use train=False for deterministic sampling"
        )
    return rng


def uniform_indices(num_frames: int, t: int) -> np.ndarray:
    """`t` frame indices evenly spread over `[0, num_frames-1]` (int64, non-decreasing).

    This is `linspace(0, N-1, t)` truncated to integers, the sampler of STR/DAGR/SC-VQA. A video
    shorter than `t` frames yields every frame once, then repeats the last frame to length `t`,
    so short videos are padded rather than stretched with duplicated middle frames.
    """
    num_frames = _check_num_frames(num_frames)
    t = _positive("t", t)
    if num_frames >= t:
        return np.linspace(0, num_frames - 1, t).astype(np.int64)
    pad = np.full(t - num_frames, num_frames - 1, dtype=np.int64)
    return np.concatenate([np.arange(num_frames, dtype=np.int64), pad])


@dataclass(frozen=True)
class SampleFrames:
    """`num_clips` clips of `clip_len` frames, `frame_interval` apart (FAST-VQA/MMAction2 `SampleFrames`).

    The span of one clip is `clip_len * frame_interval` frames. Returned indices are flat, clip
    after clip (`num_clips * clip_len` values), each wrapped modulo `num_frames` so a video
    shorter than a clip loops instead of failing, exactly as FAST-VQA does.

    Train mode (random start per clip, needs `rng`): the valid start range
    `num_frames - span + 1` is cut into `num_clips` equal segments and each clip starts at a
    random offset inside its own segment; if the segments are empty but the video is still
    longer than the span and than `num_clips`, starts are drawn anywhere and sorted; if it is
    too short for that, starts are spread evenly (rounded); otherwise all clips start at 0.

    Test mode (deterministic): each clip starts in the middle of its segment,
    `int(k*a + a/2)` with `a = (num_frames - span + 1) / num_clips`, or at 0 when the video is
    shorter than the span. The only difference from FAST-VQA is the source of randomness (an
    explicit Generator instead of `np.random`); index arithmetic is identical.
    """

    clip_len: int
    frame_interval: int = 1
    num_clips: int = 1

    def __post_init__(self) -> None:
        _positive("clip_len", self.clip_len)
        _positive("frame_interval", self.frame_interval)
        _positive("num_clips", self.num_clips)

    @property
    def span(self) -> int:
        """Frames covered by one clip, first to last plus the trailing interval."""
        return self.clip_len * self.frame_interval

    @property
    def num_indices(self) -> int:
        """Length of the index array every call returns."""
        return self.clip_len * self.num_clips

    def clip_offsets(
        self, num_frames: int, train: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Start frame of each clip (before the modulo wrap)."""
        num_frames = _check_num_frames(num_frames)
        if train:
            return self._train_offsets(num_frames, _need_rng(rng, "SampleFrames"))
        return self._test_offsets(num_frames)

    def _train_offsets(self, num_frames: int, rng: np.random.Generator) -> np.ndarray:
        valid = num_frames - self.span + 1
        avg_interval = valid // self.num_clips
        if avg_interval > 0:
            base = np.arange(self.num_clips) * avg_interval
            return base + rng.integers(0, avg_interval, size=self.num_clips)
        if num_frames > max(self.num_clips, self.span):
            return np.sort(rng.integers(0, valid, size=self.num_clips))
        if avg_interval == 0:
            ratio = valid / self.num_clips
            return np.around(np.arange(self.num_clips) * ratio).astype(np.int64)
        return np.zeros(self.num_clips, dtype=np.int64)

    def _test_offsets(self, num_frames: int) -> np.ndarray:
        if num_frames > self.span - 1:
            avg_interval = (num_frames - self.span + 1) / float(self.num_clips)
            return (np.arange(self.num_clips) * avg_interval + avg_interval / 2.0).astype(np.int64)
        return np.zeros(self.num_clips, dtype=np.int64)

    def __call__(
        self, num_frames: int, train: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Flat int64 frame indices, `num_clips * clip_len` long, all in `[0, num_frames)`."""
        offsets = self.clip_offsets(num_frames, train=train, rng=rng)
        inds = offsets[:, None] + np.arange(self.clip_len)[None, :] * self.frame_interval
        return np.mod(inds, num_frames).reshape(-1).astype(np.int64)


@dataclass(frozen=True)
class FragmentSampleFrames:
    """Temporal fragments (FAST-VQA `FragmentSampleFrames`): `fragments_t` segments x `fsize_t` frames.

    The video is cut into `fragments_t` segments of `L = num_frames // fragments_t` frames
    (segment k starts at `k*L`); each segment contributes `fsize_t` frames `frame_interval`
    apart, starting at an offset inside the segment. This is repeated `num_clips` times, so a
    call returns `num_clips * fragments_t * fsize_t` indices, wrapped modulo `num_frames`
    (short videos loop, as in FAST-VQA).

    Offsets: train mode draws each segment's offset uniformly from `[0, L - fsize_t*interval]`
    with the given `rng`; when the run does not fit (`L < fsize_t*interval`) the offset is 0.
    Deliberate differences from FAST-VQA: (1) its `randint(L - run)` never picks the last
    valid offset `L - run` (and jumps to 0 when `L == run`); here every offset that fits is
    equally likely, as for spatial fragments. (2) FAST-VQA draws random offsets in test mode
    too (its issue #38, "different score for the same video"); here test mode is
    deterministic, each run centred in its segment (`(L - run) // 2`). With `num_clips > 1`
    the test clips are spread by putting clip c at `(c + 1/2)/num_clips` of the slack, so the
    clips differ instead of repeating the same frames.
    """

    fsize_t: int
    fragments_t: int
    frame_interval: int = 1
    num_clips: int = 1

    def __post_init__(self) -> None:
        _positive("fsize_t", self.fsize_t)
        _positive("fragments_t", self.fragments_t)
        _positive("frame_interval", self.frame_interval)
        _positive("num_clips", self.num_clips)

    @property
    def clip_len(self) -> int:
        """Frames per clip: `fragments_t * fsize_t`."""
        return self.fragments_t * self.fsize_t

    @property
    def num_indices(self) -> int:
        """Length of the index array every call returns."""
        return self.clip_len * self.num_clips

    def segment_offsets(
        self, num_frames: int, train: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Offset of each run inside its segment, shape (num_clips, fragments_t)."""
        num_frames = _check_num_frames(num_frames)
        seg_len = num_frames // self.fragments_t
        run = self.fsize_t * self.frame_interval
        shape = (self.num_clips, self.fragments_t)
        if seg_len < run:
            return np.zeros(shape, dtype=np.int64)
        slack = seg_len - run
        if train:
            return _need_rng(rng, "FragmentSampleFrames").integers(0, slack + 1, size=shape)
        # Centre of the run for one clip; several test clips tile the slack evenly.
        clip_pos = (np.arange(self.num_clips) + 0.5) / self.num_clips
        offsets = np.floor(clip_pos * slack).astype(np.int64)
        return np.repeat(offsets[:, None], self.fragments_t, axis=1)

    def __call__(
        self, num_frames: int, train: bool = False, rng: np.random.Generator | None = None
    ) -> np.ndarray:
        """Flat int64 frame indices, `num_clips * fragments_t * fsize_t` long, all in `[0, num_frames)`."""
        num_frames = _check_num_frames(num_frames)
        offsets = self.segment_offsets(num_frames, train=train, rng=rng)
        seg_starts = (num_frames // self.fragments_t) * np.arange(self.fragments_t)
        steps = np.arange(self.fsize_t) * self.frame_interval
        inds = seg_starts[None, :, None] + offsets[:, :, None] + steps[None, None, :]
        return np.mod(inds, num_frames).reshape(-1).astype(np.int64)
