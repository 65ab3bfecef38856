"""ST-VQRL pretraining data: every video of a folder in the 13 versions of the distortion bank.

Output: `<out>/<video_id>_vNN.mp4` for NN in the requested versions (00 = pristine copy), named
by `vqa_core.distort.distorted_name` for *every* version (the seed kept the pristine under its
own name and the others as `{j+1}.mp4`, then looked them up by the pristine's name; seed_audit
§4.2 / §6 item 15). Resumable: each file is written under a temporary name and renamed, and a
rerun skips every output whose header already has the expected frame count and size.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from st_vqrl.data import video_files
from vqa_core.distort import NUM_VERSIONS, apply, count_frames, distorted_name, version_spec
from vqa_core.errors import DatasetError, VqaError

__all__ = ["make_synthetic", "synthetic_video_id"]


def synthetic_video_id(path: Path) -> str:
    """A file-name-safe id from a source video's stem."""
    keep = "".join(c if c.isalnum() or c in "-_." else "_" for c in path.stem)
    return keep or "video"


def _complete(path: Path, expected: tuple[int, int, int] | None) -> bool:
    if not path.is_file():
        return False
    got = count_frames(path)
    return got is not None and (expected is None or got == expected)


def make_synthetic(
    src: str | Path,
    out: str | Path,
    versions: Sequence[int] = tuple(range(NUM_VERSIONS)),
    *,
    progress: bool = True,
) -> dict[str, int]:
    """Write the distortion versions of every video under `src` into `out`; returns counts.

    `{"videos": sources, "written": new files, "skipped": already complete, "failed": sources
    that could not be processed}`. A source that fails is reported (with its error) and the
    others still run; an all-failed run raises.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    versions = sorted(set(int(v) for v in versions))
    for v in versions:
        version_spec(v)
    sources = video_files(src)
    if not sources:
        raise DatasetError(f"{src} holds no video files")
    ids: dict[str, Path] = {}
    for path in sources:
        vid = synthetic_video_id(path)
        if vid in ids:
            raise DatasetError(
                f"two source videos map to the same id {vid!r}: {ids[vid]} and {path}; rename one of them"
            )
        ids[vid] = path
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    counts = {"videos": len(sources), "written": 0, "skipped": 0, "failed": 0}
    errors: list[str] = []
    columns = (TextColumn("[bold]make-synthetic"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, disable=not progress) as bar:
        task = bar.add_task("", total=len(sources) * len(versions))
        for vid, path in ids.items():
            pristine = out / distorted_name(vid, 0)
            try:
                expected = None
                for v in [0, *[x for x in versions if x != 0]]:
                    dst = out / distorted_name(vid, v)
                    if v == 0 and _complete(pristine, None):
                        expected = count_frames(pristine)
                    if _complete(dst, expected):
                        counts["skipped"] += int(v in versions)
                    else:
                        bar.update(task, description=f"{vid}: {version_spec(v).description}")
                        tmp = dst.with_name(f".{dst.stem}.partial.mp4")
                        apply(pristine if v else path, tmp, v)
                        os.replace(tmp, dst)
                        counts["written"] += int(v in versions)
                    if v == 0:
                        expected = count_frames(pristine)
                    if v in versions:
                        bar.advance(task)
            except (VqaError, OSError) as err:
                counts["failed"] += 1
                errors.append(f"{path}: {err}")
                bar.advance(task, len(versions))
    if errors:
        msg = "\n  ".join(errors)
        if counts["failed"] == len(sources):
            raise VqaError(f"make-synthetic: every source video failed:\n  {msg}")
        print(f"make-synthetic: {counts['failed']} source video(s) failed and were skipped:\n  {msg}")
    return counts
