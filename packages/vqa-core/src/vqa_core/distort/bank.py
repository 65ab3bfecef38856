"""`apply(src, dst, version)`: one entry point for all 13 versions of the bank."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from vqa_core.distort.blur import pyramid_blur
from vqa_core.distort.codecs import h264, mpeg2, pristine
from vqa_core.distort.framerate import fps_drop
from vqa_core.distort.versions import distorted_name, version_spec

__all__ = ["FAMILY_FUNCTIONS", "apply", "apply_to_dir"]

FAMILY_FUNCTIONS: dict[str, Callable[[str | Path, str | Path, int], Path]] = {
    "mpeg2": mpeg2,
    "h264": h264,
    "pyramid_blur": pyramid_blur,
    "fps_drop": fps_drop,
}


def apply(src: str | Path, dst: str | Path, version: int) -> Path:
    """Write `version` (0..12) of the clip `src` to `dst`.

    The output has the source's frame count, size and frame rate, so full-reference scores
    and fragment offsets line up across versions. Version 0 is a lossless copy.
    """
    spec = version_spec(version)
    if spec.family == "pristine":
        return pristine(src, dst)
    return FAMILY_FUNCTIONS[spec.family](src, dst, spec.level)


def apply_to_dir(
    src: str | Path, out_dir: str | Path, video_id: str, versions: range | list[int]
) -> list[Path]:
    """Write the given versions of `src` into `out_dir` under `distorted_name(video_id, v)`."""
    out_dir = Path(out_dir)
    return [apply(src, out_dir / distorted_name(video_id, v), v) for v in versions]
