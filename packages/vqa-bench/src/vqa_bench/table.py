"""Markdown table of methods x datasets from the committed baselines.

`python -m vqa_bench.table [DIR]` (or `bench --table`) prints it; the top-level README pastes
it. Every cell is the median SRCC / median PLCC (logistic) of one (train -> test) pair of one
baseline file, so every number in the README traces back to a committed, re-runnable run. Columns
of a `tiny` run say "CI anchor" in their header: those runs guard against a broken method and are
not results.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vqa_core.errors import ConfigError

DEFAULT_BASELINE_DIR = Path("benchmarks") / "baselines"
#: configs whose runs are CI anchors (short runs of the test presets), not results
ANCHOR_CONFIGS = ("tiny",)
ANCHOR_NOTE = (
    "Columns marked CI anchor are short runs of the `tiny` test presets that the regression check "
    "compares against: they show that a method runs, not how good it is."
)


def _cell(res: dict[str, Any]) -> str:
    agg = res.get("aggregate", {})
    s = agg.get("srcc", {}).get("median")
    p = agg.get("plcc", {}).get("median")
    if s is None:
        return "-"
    return f"{s:.3f} / {p:.3f}" if p is not None else f"{s:.3f} / -"


def _column_suffix(run: dict[str, Any]) -> str:
    """`(config, protocol)`; for a CI-anchor config also says so, with its number of splits, so a
    reader of the README does not take a `tiny` cell for a method's result."""
    suffix = f"({run.get('config', '?')}, {run.get('protocol', '?')})"
    if run.get("config") in ANCHOR_CONFIGS:
        n = run.get("splits")
        suffix += ": CI anchor" + (f", {n} splits" if n else "")
    return suffix


def _labelled_row(
    method: str, cells: dict[str, str], caveats: dict[str, list[str]]
) -> tuple[str, dict[str, str]]:
    """A caveat of every column of a method goes in its row label; one of some columns only goes
    in those cells, so a `small` result does not carry a caveat that holds for its `tiny` anchor."""
    lists = list(caveats.values())
    shared = [c for c in (lists[0] if lists else []) if all(c in other for other in lists)]
    label = f"{method} [{', '.join(shared)}]" if shared else method
    row = dict(cells)
    for title, own in caveats.items():
        extra = [c for c in own if c not in shared]
        if extra:
            row[title] += f" [{', '.join(extra)}]"
    return label, row


def baselines_table(directory: str | Path = DEFAULT_BASELINE_DIR) -> str:
    """Markdown: one row per method, one column per (baseline, train -> test) pair."""
    directory = Path(directory)
    files = sorted(directory.glob("*.json"))
    if not files:
        raise ConfigError(
            f"no baseline JSON files in {directory}; write one with `bench ... --write-baseline`"
        )
    columns: list[str] = []  # titles: baselines of one setting (e.g. one file per method) share a column
    cells: dict[str, dict[str, str]] = {}
    # per method and column: what is not real about that number (e.g. "CLIP random")
    caveats: dict[str, dict[str, list[str]]] = {}
    sources: list[str] = []
    anchored = False  # some column is a CI anchor: the table then says what that means
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        run = data.get("run", {})
        suffix = _column_suffix(run)
        n = run.get("splits")
        sources.append(
            f"- `{path.name}`: dataset `{run.get('dataset')}`, config `{run.get('config')}`, protocol "
            f"`{run.get('protocol')}`"
            + (f", {n} splits" if n else "")
            + f"; command `{run.get('command', '?')}`"
        )
        for method, entry in data.get("methods", {}).items():
            for pair, res in entry.get("results", {}).items():
                title = f"{pair} {suffix}"
                if title not in columns:
                    columns.append(title)
                    anchored = anchored or run.get("config") in ANCHOR_CONFIGS
                cells.setdefault(method, {})[title] = _cell(res)
                caveats.setdefault(method, {})[title] = list(entry.get("caveats", []))
    lines = [
        "| method | " + " | ".join(columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for method in sorted(cells):
        label, row = _labelled_row(method, cells[method], caveats.get(method, {}))
        lines.append(f"| {label} | " + " | ".join(row.get(t, "-") for t in columns) + " |")
    lines += [
        "",
        "Cells: median SRCC / median PLCC (after the 4-parameter logistic fit) over the splits.",
    ]
    if anchored:
        lines.append(ANCHOR_NOTE)
    lines += [""]
    lines += sources
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vqa_bench.table",
        description="Print the markdown table of methods x datasets from the committed baselines.",
    )
    parser.add_argument(
        "directory", nargs="?", default=str(DEFAULT_BASELINE_DIR), help="folder of baseline JSON files"
    )
    args = parser.parse_args(argv)
    try:
        sys.stdout.write(baselines_table(args.directory))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
