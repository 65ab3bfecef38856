"""`vqa ssl` (retired): SSL-VQA and QASA-VQA train with `bench` and score with `vqa score`.

`vqa ssl fit` and `vqa ssl score` repeated what the two general commands do for every method
(issue #17): a split of a dataset trained, selected and tested, and a checkpoint scored. The
subcommand stays only to point there, so an old command line gets a pointer, not "invalid
choice":

    bench --method ssl --dataset demo --config small --splits 1 --set ssl:semi.labelled=0.25
    vqa score clip1.mp4 clip2.mp4 --checkpoint runs/.../model.pt

The authors' released weights load in Python: `SslMethod.from_release(path)` (SSL-VQA then
needs `fit_references(pristine_videos)`), `QasaMethod.from_release(path)`.

Registered through the entry-point group `vqa_zoo.commands` (`add`).
"""

from __future__ import annotations

import argparse

from vqa_core.errors import ConfigError

__all__ = ["RETIRED", "add"]

RETIRED = (
    "`vqa ssl fit` and `vqa ssl score` were retired. Train SSL-VQA / QASA-VQA with "
    "`bench --method ssl` (or qasa; a labelled budget with `--set ssl:semi.labelled=0.25` or `=500`) "
    "and score videos with `vqa score VIDEO... --checkpoint MODEL.pt`; released weights load with "
    "`ssl_vqa.SslMethod.from_release(path)` in Python."
)


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "ssl",
        help="retired: use `bench --method ssl|qasa` to train and `vqa score` to score",
        description=RETIRED,
    )
    p.add_argument("rest", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    p.set_defaults(func=_retired)


def _retired(args: argparse.Namespace) -> int:
    raise ConfigError(RETIRED)
