"""Turn stored task results into metrics.json, the markdown table and the rich summary.

The metrics JSON is the single source of every number the bench shows (the markdown table,
the terminal table, the baselines and the README table are all rendered from it).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vqa_bench.store import TaskResult

METRICS = ("srcc", "krcc", "plcc", "plcc_raw", "rmse")
METRIC_TITLES = {"srcc": "SRCC", "krcc": "KRCC", "plcc": "PLCC", "plcc_raw": "PLCC raw", "rmse": "RMSE"}

Aggregate = Callable[[list[dict[str, Any]]], dict[str, dict[str, float]]]


def pair_name(train_set: str, test_set: str) -> str:
    return f"{train_set} -> {test_set}"


def method_entry(
    results: Sequence[TaskResult],
    aggregate: Aggregate,
    cost: Mapping[str, Any],
    config_hash: str,
    wall_seconds: float,
) -> dict[str, Any]:
    """The metrics.json entry of one method: per pair, per task metrics and their aggregate."""
    by_pair: dict[str, dict[str, Any]] = {}
    for res in sorted(results, key=lambda r: r.task):
        for test_set, metrics in res.metrics.items():
            entry = by_pair.setdefault(
                pair_name(res.train_set, test_set),
                {"train_set": res.train_set, "test_set": test_set, "per_task": {}},
            )
            entry["per_task"][res.task] = {
                **metrics,
                "n_test": res.num_test.get(test_set),
                "seed": res.seed,
                "fit_seconds": res.fit_seconds,
                "predict_seconds": res.predict_seconds.get(test_set),
            }
    failed = {r.task: r.failed_videos for r in sorted(results, key=lambda r: r.task) if r.failed_videos}
    for entry in by_pair.values():
        per_task = list(entry["per_task"].values())
        numeric = [{k: float(v) for k, v in m.items() if k in METRICS and v is not None} for m in per_task]
        entry["n_tasks"] = len(per_task)
        entry["aggregate"] = aggregate(numeric)
    entry: dict[str, Any] = {
        "config_hash": config_hash,
        "wall_seconds": round(float(wall_seconds), 3),
        "fit_seconds_total": round(sum(r.fit_seconds for r in results), 3),
        "cost": dict(cost),
        "results": by_pair,
    }
    if failed:  # videos that passed the up-front check but failed when this method scored them
        entry["failed_videos"] = failed
    return entry


def _stat(entry: Mapping[str, Any], metric: str) -> tuple[float | None, float | None]:
    agg = entry.get("aggregate", {}).get(metric, {})
    return agg.get("median"), agg.get("std")


def _fmt_stat(median: float | None, std: float | None, n: int) -> str:
    if median is None:
        return "-"
    return f"{median:.3f} ± {std:.3f}" if (std is not None and n > 1) else f"{median:.3f}"


def _fmt_count(x: Any) -> str:
    """12 -> "12", 41_390_000 -> "41.39M", 3.2e10 -> "32.00G"."""
    if x is None:
        return "n/a"
    for unit, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= unit:
            return f"{x / unit:.2f}{suffix}"
    return str(int(x))


def rows(metrics: Mapping[str, Any]) -> list[list[str]]:
    """Table rows (strings) for every method x pair: metrics as median ± std, then the cost."""
    out = []
    for method, m in metrics.get("methods", {}).items():
        cost = m.get("cost", {})
        for pair, entry in m.get("results", {}).items():
            n = int(entry.get("n_tasks", 0))
            out.append(
                [m.get("label", method), pair, str(n)]
                + [_fmt_stat(*_stat(entry, k), n) for k in METRICS]
                + [
                    f"{m.get('wall_seconds', 0):.1f}",
                    _fmt_count(cost.get("params")),
                    _fmt_count(cost.get("flops")),
                ]
            )
    return out


HEADER = [
    "method",
    "train -> test",
    "splits",
    *[METRIC_TITLES[k] for k in METRICS],
    "wall s",
    "params",
    "FLOPs",
]


def markdown_table(metrics: Mapping[str, Any]) -> str:
    run = metrics.get("run", {})
    lines = [
        f"# bench: {run.get('dataset', '?')} ({run.get('protocol', '?')}, config {run.get('config', '?')})",
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    lines += ["| " + " | ".join(r) + " |" for r in rows(metrics)]
    lines += [
        "",
        "Median ± std over the splits. PLCC and RMSE after the 4-parameter logistic fit (VQEG); "
        "PLCC raw is Pearson on the raw predictions. FLOPs: one video, batch 1 "
        "(torch.utils.flop_counter); wall s: what the method's whole run costs from a fresh cache: its "
        "splits plus its pretraining stages, a stage reused from the cache counted at the seconds its "
        "build took (so it can exceed the run's elapsed time, and methods sharing a stage each count it).",
    ]
    notes = [
        f"- {method}: {m['cost']['note']}"
        for method, m in metrics.get("methods", {}).items()
        if m.get("cost", {}).get("note", "") not in ("", "FLOPs per video (batch 1)")
    ]
    if notes:
        lines += ["", *notes]
    lines += video_notes(metrics)
    if run.get("command"):
        lines += ["", f"Command: `{run['command']}`"]
    return "\n".join(lines) + "\n"


SHOWN_VIDEOS = 20


def _video_lines(rows: Sequence[Mapping[str, Any]], where: Callable[[Mapping[str, Any]], str]) -> list[str]:
    lines = [
        f"- {where(r)}{r['video_id']} (`{r['path']}`): {r['reason'].removeprefix(r['path'] + ': ')}"
        for r in rows[:SHOWN_VIDEOS]
    ]
    if len(rows) > SHOWN_VIDEOS:
        lines.append(f"- ... and {len(rows) - SHOWN_VIDEOS} more (all of them in metrics.json)")
    return lines


def video_notes(metrics: Mapping[str, Any]) -> list[str]:
    """Markdown lines on the videos that were not used: left out by the up-front check (they
    do not decode), or failed when a method scored them. Empty when every video counted."""
    lines: list[str] = []
    check = metrics.get("videos_left_out") or {}
    if check.get("count"):
        lines += ["", f"{check['count']} of {check.get('checked', '?')} videos were left out before splitting "
                  "(they cannot be decoded):"]
        lines += _video_lines(check.get("videos", []), lambda r: f"{r['dataset']}: ")
    for method, m in metrics.get("methods", {}).items():
        for task, by_set in (m.get("failed_videos") or {}).items():
            rows = [r for failures in by_set.values() for r in failures]
            lines += ["", f"{method}/{task}: {len(rows)} test video(s) could not be scored; the metrics "
                      "are computed on the others:"]
            lines += _video_lines(rows, lambda r: "")
    return lines


def rich_table(metrics: Mapping[str, Any]):
    """A rich Table of the same rows as the markdown table, for the terminal."""
    from rich.markup import escape
    from rich.table import Table

    run = metrics.get("run", {})
    table = Table(
        title=f"bench: {run.get('dataset', '?')} ({run.get('protocol', '?')}, {run.get('config', '?')})"
    )
    for i, h in enumerate(HEADER):
        table.add_column(h, justify="left" if i < 2 else "right", no_wrap=i < 2)
    for r in rows(metrics):
        table.add_row(*map(escape, r))  # a caveat label "qasa [CLIP random]" is text, not markup
    return table
