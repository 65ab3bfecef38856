"""`vqa score`: score videos with a trained checkpoint.

Users point it at files and folders of whatever they have (.mp4, .mkv, .avi, .webm, .mov,
MPEG-TS...). Folders are walked for every file and each file is probed, not filtered by
extension (DOVER's mp4-only walk silently found 0 videos in a folder of .avi); a file that is
not a decodable video is listed as skipped with the reason, never a crash.

Nothing scored is lost (issue #16.2): `--out` is checked before any work (a folder, a missing
parent, an unwritable place: a one-line error, exit status 2), every row is written and
flushed as soon as its video is scored, and Ctrl-C keeps the rows written so far and says how
many. Two runs never share one `--out` silently (#16.3): the file is locked while a run writes
it (a second run is refused, naming the holder), and an existing file is refused unless
`--append` (add rows, same columns) or `--overwrite` (start it again) says what to do with it.

Scores are deterministic: the RNGs are re-seeded before every video, so the same video gets
the same score in any order or run. Timing per video: every method's `score` reports decode
(+ preprocessing) and model seconds separately (`vqa_core.method.ScoreReport`).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vqa_bench.score_csv import OutPathError, ScoreCsv, check_out_path, out_lock, out_mode
from vqa_core.errors import VideoDecodeError, VqaError

SCORE_SEED = 0
CSV_COLUMNS = (
    "path",
    "status",
    "score",
    "decode_s",
    "model_s",
    "total_s",
    "num_frames",
    "width",
    "height",
    "fps",
    "reason",
)


@dataclass
class ScoreRow:
    path: str
    status: str  # "ok" | "skipped" | "failed"
    score: float = math.nan
    decode_s: float | None = None
    model_s: float | None = None
    total_s: float | None = None
    num_frames: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    reason: str = ""

    def as_csv(self) -> list[str]:
        def f(x: Any, digits: int = 4) -> str:
            if x is None or (isinstance(x, float) and math.isnan(x)):
                return ""
            return f"{x:.{digits}f}" if isinstance(x, float) else str(x)

        return [
            self.path,
            self.status,
            f(self.score, 6),
            f(self.decode_s),
            f(self.model_s),
            f(self.total_s),
            f(self.num_frames),
            f(self.width),
            f(self.height),
            f(self.fps, 3),
            self.reason,
        ]


def iter_candidate_files(inputs: Iterable[str | Path]) -> Iterator[tuple[Path, str | None]]:
    """(path, None) for every file to try, (path, reason) for inputs that cannot be tried.

    Folders are walked recursively in sorted order (deterministic output); hidden files and
    folders (".DS_Store", ".git") are skipped since they are never videos a user meant.
    """
    seen: set[Path] = set()
    for raw in inputs:
        path = Path(raw).expanduser()
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if name.startswith("."):
                        continue
                    p = Path(dirpath) / name
                    if p.resolve() not in seen:
                        seen.add(p.resolve())
                        yield p, None
        elif path.is_file():
            if path.resolve() not in seen:
                seen.add(path.resolve())
                yield path, None
        else:
            yield path, "does not exist"


def probe_files(inputs: Iterable[str | Path]) -> tuple[list[tuple[Path, Any]], list[ScoreRow]]:
    """Split candidates into (videos with their VideoInfo) and skipped rows with reasons."""
    from vqa_core.video import ShortVideoWarning, probe

    videos: list[tuple[Path, Any]] = []
    skipped: list[ScoreRow] = []
    for path, reason in iter_candidate_files(inputs):
        if reason is not None:
            skipped.append(ScoreRow(str(path), "skipped", reason=reason))
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ShortVideoWarning)  # the row's reason column says it
                info = probe(path)
        except VideoDecodeError as err:
            reason = _one_line(err).removeprefix(f"{path}: ")  # the row names the file already
            skipped.append(ScoreRow(str(path), "skipped", reason=reason))
            continue
        if not info.num_frames:
            skipped.append(ScoreRow(str(path), "skipped", reason="no decodable video frames"))
            continue
        videos.append((path, info))
    return videos, skipped


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def score_videos(
    method: Any,
    videos: Sequence[tuple[Path, Any]],
    progress: bool = True,
    on_row: Callable[[ScoreRow], None] | None = None,
) -> list[ScoreRow]:
    """Score each video on its own (per-video timing, one bad file cannot sink the others).

    `on_row(row)` is called as soon as a video is scored (the CSV writer), so an interrupt
    loses nothing that was scored."""
    from vqa_core.train.rng import seed_everything

    rows: list[ScoreRow] = []
    bar, tid = _progress(len(videos), progress)
    try:
        for path, info in videos:
            row = ScoreRow(
                str(path),
                "ok",
                num_frames=info.num_frames,
                width=info.width,
                height=info.height,
                fps=round(float(info.fps), 3),
                reason=getattr(info, "note", "") or "",  # e.g. shorter than its container says
            )
            if bar is not None:
                bar.update(tid, description=f"scoring {path.name}")
            seed_everything(SCORE_SEED)
            t0 = time.perf_counter()
            try:
                report = method.score([path])
                row.total_s = time.perf_counter() - t0
                if report.errors[0] is not None:
                    row.status, row.reason = "failed", _one_line(report.errors[0])
                else:
                    row.score = float(report.scores[0])
                    row.decode_s, row.model_s = float(report.decode_s[0]), float(report.model_s[0])
            except VqaError as err:
                row.status, row.reason = "failed", _one_line(err)
            rows.append(row)
            if on_row is not None:
                on_row(row)
            if bar is not None:
                bar.advance(tid)
    finally:
        if bar is not None:
            bar.stop()
    return rows


def _progress(total: int, enabled: bool):
    if not enabled or total == 0:
        return None, None
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    bar.start()
    return bar, bar.add_task("scoring", total=total)


def load_scoring_method(checkpoint: str | Path, method: str | None, device: str) -> Any:
    """The method stored in `checkpoint`; `--method` must agree with what the checkpoint holds."""
    from vqa_core.method import Method, get_method, read_method_checkpoint

    ckpt = read_method_checkpoint(checkpoint)
    stored = ckpt["method"]
    if method and method != stored:
        get_method(method)  # an unknown name gets the registry's did-you-mean error first
        raise VqaError(
            f"checkpoint {checkpoint} was trained by method {stored!r}, not {method!r}; drop --method or pass --method {stored}"
        )
    return Method.from_checkpoint(ckpt, device=device, source=checkpoint)


def add_score_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "score",
        help="score videos (files or folders) with a trained checkpoint",
        description=(
            "Score every video given, walking folders for every file. Each file is probed with FFmpeg "
            "(through PyAV): any container it reads works, whatever the extension; files that are not "
            "decodable videos are listed as skipped with the reason. Scores are on the MOS scale of the "
            "data the checkpoint was trained on (its stored calibration) and are deterministic. Per video, "
            "decode and model seconds are reported."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  vqa score clips/ extra.mkv --method dagr --checkpoint runs/demo/dagr/split_00/model.pt --out scores.csv",
    )
    p.add_argument(
        "inputs", nargs="+", metavar="VIDEO_OR_DIR", help="video files and/or folders (walked recursively)"
    )
    p.add_argument(
        "--checkpoint", required=True, type=Path, help="method checkpoint (.pt or .safetensors) from training"
    )
    p.add_argument(
        "--method", help="method name; checked against the checkpoint (optional, the checkpoint names it)"
    )
    p.add_argument(
        "--out",
        type=Path,
        help="write a CSV: path,status,score,decode_s,model_s,total_s,...,reason; each row is written as "
        "soon as its video is scored. An existing file is refused unless --append or --overwrite; a run "
        "that finds --out unusable (a folder, a missing parent, no write permission, another run writing "
        "it) exits with status 2 before scoring",
    )
    policy = p.add_mutually_exclusive_group()
    policy.add_argument("--append", action="store_true", help="add rows to an existing --out (same columns)")
    policy.add_argument("--overwrite", action="store_true", help="replace an existing --out")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps (default: auto)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        help="numeric precision of the networks' forward: bf16 autocast (CPU and CUDA) or fp32 "
        "(default: what the checkpoint's training config says, trainer.precision)",
    )
    p.set_defaults(func=run_score)


def run_score(args: argparse.Namespace) -> int:
    out: Path | None = args.out
    try:
        if out is None:
            return _score_into(args, None, "")
        check_out_path(out)  # before any work: a folder, a missing parent, an unwritable place
        with out_lock(out, command="vqa score"):
            return _score_into(args, out, out_mode(out, CSV_COLUMNS, append=args.append, overwrite=args.overwrite))
    except OutPathError as err:
        print(f"vqa score: error: {err}", file=sys.stderr)
        return 2


def _score_into(args: argparse.Namespace, out: Path | None, mode: str) -> int:
    videos, skipped = probe_files(args.inputs)
    if not videos:
        for row in skipped:
            print(f"skipped {row.path}: {row.reason}", file=sys.stderr)
        raise VqaError(f"no decodable video among the {len(skipped)} file(s) given")
    method = load_scoring_method(args.checkpoint, args.method, args.device)
    if args.precision:
        from vqa_core.train import with_precision

        method.config = with_precision(method.config, args.precision)  # read by score() at call time
    rows: list[ScoreRow] = []
    writer = ScoreCsv(out, CSV_COLUMNS, mode=mode) if out is not None else None

    def keep(row: ScoreRow) -> None:
        rows.append(row)
        if writer is not None:
            writer.write(row.as_csv())

    interrupted = False
    with writer if writer is not None else contextlib.nullcontext():
        try:
            score_videos(method, videos, progress=not args.no_progress, on_row=keep)
        except KeyboardInterrupt:
            interrupted = True
        finally:  # the skipped files are known: their rows are written even after Ctrl-C
            for row in skipped if writer is not None else ():
                writer.write(row.as_csv())
    _print_rows(rows, skipped)
    written = ""
    if writer is not None:
        written = f"{writer.rows} row(s) written to {out} ({len(rows)} scored, {len(skipped)} skipped)"
    if interrupted:
        print(
            f"vqa score: interrupted after scoring {len(rows)} of {len(videos)} video(s)"
            + (f"; {written}" if written else "; no --out given, the scores above are all there is"),
            file=sys.stderr,
        )
        return 130
    if writer is not None:
        print(f"vqa score: {written}", file=sys.stderr)
    return 1 if any(r.status == "failed" for r in rows) else 0


def _print_rows(rows: Sequence[ScoreRow], skipped: Sequence[ScoreRow]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="vqa score")
    for col, just in (
        ("video", "left"),
        ("score", "right"),
        ("decode s", "right"),
        ("model s", "right"),
        ("total s", "right"),
        ("status", "left"),
    ):
        table.add_column(col, justify=just)
    for r in rows:
        table.add_row(
            r.path,
            "" if math.isnan(r.score) else f"{r.score:.4f}",
            "n/a" if r.decode_s is None else f"{r.decode_s:.3f}",
            "n/a" if r.model_s is None else f"{r.model_s:.3f}",
            "" if r.total_s is None else f"{r.total_s:.3f}",
            r.status if r.status == "ok" else f"{r.status}: {r.reason}",
        )
    console = Console()
    if not console.is_terminal:  # piped or logged: full paths, no squeezing into 80 columns
        console = Console(width=max(160, max((len(r.path) for r in rows), default=0) + 70))
    console.print(table)
    if skipped:
        err = Console(stderr=True)
        err.print(f"skipped {len(skipped)} file(s):")
        for r in skipped:
            err.print(f"  {r.path}: {r.reason}", markup=False)
