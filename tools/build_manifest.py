"""Build a dataset's manifest CSV (and its splits) from the official label file.

A maintainer script around `vqa_core.datasets.build_manifest`, the same code as `vqa dataset build`:

    uv run --frozen python tools/build_manifest.py konvid-1k --data-root /data/KoNViD-1k \
        -o manifests/konvid-1k.csv --splits-out manifests/konvid-1k_splits.csv

It fails listing the labelled videos that are missing (or drops them with --on-missing drop),
so it doubles as a check that a local copy of a dataset is complete.
"""

from __future__ import annotations

import argparse
import sys

from vqa_core.datasets.command import add_build_arguments, run_build
from vqa_core.errors import VqaError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="build_manifest.py",
        description="Build a dataset's manifest CSV (video_id, path, mos, split, ...) from its official "
        "label file, checking that every video exists; optionally export the benchmark splits.",
    )
    add_build_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_build(args)
    except VqaError as err:
        print(f"build_manifest.py: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
