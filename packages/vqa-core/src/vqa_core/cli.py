"""`vqa`: the user-facing command line of vqa-zoo.

Subcommands are plugins: every installed package can add one through the entry-point group
`vqa_zoo.commands`, whose objects are functions `add(subparsers)` that register a subparser
and set its `func`. vqa-core itself registers `probe`; later packages add `demo`,
`saliency`, `score`, ... without this module knowing them.
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib.metadata import entry_points

from vqa_core.allocator import reuse_freed_memory
from vqa_core.errors import VqaError

COMMAND_GROUP = "vqa_zoo.commands"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="vqa",
        description=(
            "vqa-zoo: no-reference video quality assessment. Probe and score videos, build the "
            "embedded demo data, train and run saliency models. `vqa COMMAND --help` explains each command."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for ep in sorted(entry_points(group=COMMAND_GROUP), key=lambda e: e.name):
        ep.load()(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        reuse_freed_memory()  # CPU training and scoring without a page-fault storm (vqa_core.allocator)
        return int(args.func(args) or 0)
    except VqaError as err:
        print(f"vqa {args.command}: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"vqa {args.command}: interrupted", file=sys.stderr)
        return 130


def add_probe_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "probe",
        help="print what vqa-zoo finds in a video (frames, fps, size, codec, rotation)",
        description="Open each video with PyAV and print its VideoInfo; counts frames when the container lies.",
    )
    p.add_argument("videos", nargs="+", metavar="VIDEO", help="video files (any container FFmpeg reads)")
    p.add_argument("--json", action="store_true", help="print one JSON object per video instead of text")
    p.set_defaults(func=_run_probe)


def _run_probe(args: argparse.Namespace) -> int:
    """One line per video; with --json every line is a JSON object, errors included
    (`{"path": ..., "error": ...}` on stdout, so a consumer reads one stream), and the exit
    status is 1 when any video failed."""
    import warnings
    from dataclasses import asdict

    from vqa_core.video import ShortVideoWarning, probe

    failed = 0
    for path in args.videos:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ShortVideoWarning)  # the note field says it
                info = probe(path)
        except VqaError as err:
            failed += 1
            if args.json:
                print(json.dumps({"path": str(path), "error": str(err)}))
            else:
                print(f"{path}: error: {err}", file=sys.stderr)
            continue
        if args.json:
            print(json.dumps({"path": str(path), **asdict(info)}))
        else:
            fields = ", ".join(f"{k}={v}" for k, v in asdict(info).items() if k != "note")
            print(f"{path}: {fields}")
            if info.note:
                print(f"{path}: warning: {info.note}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
