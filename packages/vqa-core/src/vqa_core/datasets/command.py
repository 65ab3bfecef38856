"""`vqa dataset`: list dataset descriptors, and build / verify a manifest and its splits.

    vqa dataset list
    vqa dataset show konvid-1k
    vqa dataset build konvid-1k --data-root /data/KoNViD -o konvid.csv --splits-out konvid_splits.csv

`build` is also the verifier users ask for (anchors §5 item 11): it checks that every
labelled video exists and decodes (`check_videos`: a 0-byte or text `.mp4` is not a video),
and names the missing and undecodable ones. The maintainer script `tools/build_manifest.py`
runs the same code.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from vqa_core.errors import DatasetError

if TYPE_CHECKING:
    from vqa_core.datasets.manifest import Manifest

EPILOG = """\
Datasets are described by YAML descriptors shipped inside vqa-core (`show NAME` prints the file);
your own go in ./data_manifests or a folder listed in $VQA_ZOO_DATA_MANIFESTS, and a path to a
descriptor YAML works as a NAME too. Your own dataset: a CSV with columns video_id,path,mos
(paths relative to the CSV) needs no descriptor; see data_manifests/README.md.
"""


def add_dataset_command(sub: argparse._SubParsersAction) -> None:
    """Entry point of the `vqa_zoo.commands` group: registers `vqa dataset`."""
    p = sub.add_parser(
        "dataset",
        help="list dataset descriptors; build and verify a dataset's manifest and splits",
        description="Build the manifest (video_id, path, mos, split) of a dataset from its official "
        "label file, check that its videos exist, and export the benchmark splits.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = p.add_subparsers(dest="dataset_action", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="the datasets vqa-zoo has descriptors for")
    ls.set_defaults(func=run_list)
    show = actions.add_parser("show", help="what a descriptor expects under the data root")
    show.add_argument("name", metavar="NAME", help="dataset name (see `vqa dataset list`) or descriptor YAML")
    show.set_defaults(func=run_show)
    build = actions.add_parser(
        "build",
        help="build (and verify) a manifest CSV from the official label file",
        description="Read the official label file(s) of NAME under --data-root, check every video, "
        "write the manifest CSV (paths relative to it) and, optionally, the splits CSV.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_build_arguments(build)
    build.set_defaults(func=run_build)


def add_build_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", metavar="NAME", help="dataset name (see `vqa dataset list`) or descriptor YAML")
    p.add_argument("--data-root", required=True, type=Path, metavar="DIR", help="folder holding the dataset")
    p.add_argument(
        "-o", "--out", type=Path, metavar="CSV", help="manifest CSV to write (default: print a summary only)"
    )
    p.add_argument(
        "--label-file",
        action="append",
        default=[],
        metavar="[PART=]PATH",
        help="label file to use instead of searching the descriptor's candidates (renamed copies such as "
        "LiveVQC_data.mat); PART=PATH for datasets with several label files (LSVQ: train_test, test_1080p)",
    )
    p.add_argument(
        "--on-missing",
        choices=("error", "drop"),
        default="error",
        help="labelled videos that are not found or do not decode: fail listing them (default) or drop "
        "them with a warning",
    )
    p.add_argument(
        "--no-check-videos",
        action="store_true",
        help="do not look for the video files or decode them (label parsing only)",
    )
    p.add_argument("--splits-out", type=Path, metavar="CSV", help="also write the benchmark splits as a CSV")
    p.add_argument(
        "--num-splits", type=int, default=10, help="random splits for datasets without an official one (10)"
    )
    p.add_argument(
        "--seed", type=int, default=123, help="base seed of the splits, recorded in column names (123)"
    )


def _label_files(values: list[str]) -> dict[str, Path] | Path | None:
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        return Path(values[0])
    out = {}
    for value in values:
        part, sep, path = value.partition("=")
        if not sep:
            raise DatasetError(f"--label-file {value!r}: give PART=PATH when passing several label files")
        out[part] = Path(path)
    return out


def run_list(args: argparse.Namespace) -> int:
    from vqa_core.datasets.descriptor import list_datasets, load_descriptor

    for name in list_datasets():
        desc = load_descriptor(name)
        scale = f"MOS {desc.mos_range[0]:g}-{desc.mos_range[1]:g}" if desc.mos_range else "no MOS scale"
        if desc.kind == "saliency":
            scale = "saliency maps"
        print(f"{name:16s} {desc.kind:9s} {desc.split:9s} {scale:16s} {desc.title}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from vqa_core.datasets.descriptor import load_descriptor

    desc = load_descriptor(args.name)
    print(f"{desc.name}: {desc.title} ({desc.kind}; split: {desc.split}; descriptor {desc.source})")
    if desc.mos_range:
        print(f"  MOS scale {desc.mos_range[0]:g} to {desc.mos_range[1]:g}")
    if desc.group_by:
        print(f"  random splits keep items with equal {desc.group_by!r} together")
    for part in desc.parts:
        flag = " (optional)" if part.optional else ""
        print(f"  label part {part.name!r}{flag}{f', official split {part.split!r}' if part.split else ''}:")
        for lf in part.files:
            print(f"    {lf.format}: {' | '.join(lf.candidates)}  (id {lf.id_column}, mos {lf.mos_column})")
    if desc.expected_counts:
        print(f"  reference counts: {desc.expected_counts}")
    for key in ("video", "maps", "fixations"):
        rule = getattr(desc, key)
        if rule is not None:
            print(f"  {key}: {' | '.join(rule.patterns)} in {rule.dirs} (relative to {rule.relative_to})")
    return 0


def run_build(args: argparse.Namespace) -> int:
    from rich.console import Console

    from vqa_core.datasets.descriptor import build_manifest, count_report, load_descriptor, unlabelled_files
    from vqa_core.datasets.splits import make_splits, write_splits_csv

    console = Console(stderr=True)
    with console.status(f"reading the labels of {args.name} and checking its videos under {args.data_root}"):
        manifest = build_manifest(
            args.name,
            args.data_root,
            check_videos=not args.no_check_videos,
            on_missing=args.on_missing,
            label_files=_label_files(args.label_file),
        )
    if not args.no_check_videos:
        _drop_undecodable(manifest, args.on_missing)
    parts = Counter(item.split or "(no official split)" for item in manifest)
    print(
        f"{manifest.name}: {len(manifest)} items; " + ", ".join(f"{k}: {v}" for k, v in sorted(parts.items()))
    )
    desc = load_descriptor(args.name)
    for line in count_report(desc, manifest.items):
        print(f"  {line}")
    if not args.no_check_videos:
        extra = unlabelled_files(desc, args.data_root, manifest.items)
        if extra:
            shown = ", ".join(str(p) for p in extra[:5])
            print(f"  {len(extra)} video file(s) under the video folders have no label, e.g. {shown}")
    mos = [item.mos for item in manifest if not math.isnan(item.mos)]
    if mos:
        print(f"  MOS observed {min(mos):g} to {max(mos):g} (declared scale {manifest.mos_range})")
    if args.out:
        print(f"  manifest written to {manifest.to_csv(args.out)}")
    if args.splits_out:
        splits = make_splits(manifest, num_splits=args.num_splits, seed=args.seed)
        path = write_splits_csv(splits, args.splits_out)
        sizes = ", ".join(f"{p} {len(ids)}" for p, ids in splits[0].parts.items())
        print(f"  {len(splits)} split(s) ({sizes} in the first) written to {path}")
    return 0


def _drop_undecodable(manifest: Manifest, on_missing: str) -> None:
    """Probe every video (cached); fail naming the bad ones, or drop them with a warning."""
    from vqa_core.datasets.check import check_videos

    check = check_videos(manifest.items, progress=True)
    for item, note in check.notes:
        print(f"  warning: {item.video_id} ({item.path}): {note}", file=sys.stderr)
    if not check.bad:
        return
    if on_missing == "error":
        raise DatasetError(
            f"dataset {manifest.name!r}: {check.summary()}\nReplace or remove these files, or drop them "
            "(--on-missing drop)."
        )
    if not check.ok:
        raise DatasetError(f"dataset {manifest.name!r}: no video decodes; {check.summary()}")
    warnings.warn(f"dataset {manifest.name!r}: {check.summary()}\nThey are dropped.", stacklevel=2)
    manifest.items = check.ok
