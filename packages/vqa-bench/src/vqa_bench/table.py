"""Markdown table of methods x datasets from the committed baselines.

`python -m vqa_bench.table [DIR]` (or `bench --table`) prints it; the top-level README pastes
it. Every cell is the median SRCC / median PLCC (logistic) of one (train -> test) pair of one
baseline file, so every number in the README traces back to a committed, re-runnable run.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from vqa_core.errors import ConfigError

DEFAULT_BASELINE_DIR = Path("benchmarks") / "baselines"


def _cell(res: dict[str, Any]) -> str:
    agg = res.get("aggregate", {})
    s = agg.get("srcc", {}).get("median")
    p = agg.get("plcc", {}).get("median")
    if s is None:
        return "-"
    return f"{s:.3f} / {p:.3f}" if p is not None else f"{s:.3f} / -"


def baselines_table(directory: str | Path = DEFAULT_BASELINE_DIR) -> str:
    """Markdown: one row per method, one column per (baseline, train -> test) pair."""
    directory = Path(directory)
    files = sorted(directory.glob("*.json"))
    if not files:
        raise ConfigError(
            f"no baseline JSON files in {directory}; write one with `bench ... --write-baseline`"
        )
    columns: list[tuple[str, str]] = []  # (column title, key)
    cells: dict[str, dict[str, str]] = {}
    sources: list[str] = []
    for path in files:
        data = json.loads(path.read_text(encoding="utf-8"))
        run = data.get("run", {})
        label = f"{run.get('config', '?')}, {run.get('protocol', '?')}"
        n = run.get("splits")
        sources.append(
            f"- `{path.name}`: dataset `{run.get('dataset')}`, config `{run.get('config')}`, protocol "
            f"`{run.get('protocol')}`"
            + (f", {n} splits" if n else "")
            + f"; command `{run.get('command', '?')}`"
        )
        for method, entry in data.get("methods", {}).items():
            for pair, res in entry.get("results", {}).items():
                key = f"{path.stem}:{pair}"
                title = f"{pair} ({label})"
                if (title, key) not in columns:
                    columns.append((title, key))
                cells.setdefault(method, {})[key] = _cell(res)
    lines = [
        "| method | " + " | ".join(t for t, _ in columns) + " |",
        "|---|" + "---|" * len(columns),
    ]
    for method in sorted(cells):
        lines.append(f"| {method} | " + " | ".join(cells[method].get(k, "-") for _, k in columns) + " |")
    lines += [
        "",
        "Cells: median SRCC / median PLCC (after the 4-parameter logistic fit) over the splits.",
        "",
    ]
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
