"""The steps after the tasks: a method's cost and scatter plot, the run's metrics.json and table.

They read what the tasks stored (predictions, results) rather than what is in memory, so a
fully resumed run produces the same files as one that trained everything.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from vqa_bench.cost import model_cost
from vqa_bench.plots import scatter_plot
from vqa_bench.report import markdown_table, pair_name
from vqa_bench.settings import BenchSettings
from vqa_bench.store import RunStore, TaskResult, read_json, write_json_atomic, write_text_atomic
from vqa_bench.task import CHECKPOINT_FILE
from vqa_core.errors import VqaError


class PostRunSteps:
    """Cost and plot of one method once its tasks are done; the run's tables at the end."""

    def __init__(self, store: RunStore, settings: BenchSettings) -> None:
        self.store = store
        self.settings = settings

    def _cost(self, name: str, fitted: Any, chash: str) -> dict[str, Any]:
        """Params/FLOPs of a method fitted in this invocation; on a fully resumed run, the
        stored ones (same config hash), else those of the first task's saved checkpoint."""
        path = self.store.method_dir(name) / "cost.json"
        if fitted is None:
            stored = read_json(path)
            if stored.get("config_hash") == chash:
                return {k: v for k, v in stored.items() if k != "config_hash"}
            fitted = self._load_any_checkpoint(name)
        cost = (
            model_cost(fitted)
            if fitted is not None
            else {
                "params": None,
                "trainable_params": None,
                "flops": None,
                "note": "n/a: no fitted model in this run (all tasks resumed) and no saved checkpoint",
            }
        )
        write_json_atomic(path, {**cost, "config_hash": chash})
        return cost

    def _load_any_checkpoint(self, name: str) -> Any:
        from vqa_core.method import Method

        for task in self.store.tasks_of(name):
            ckpt = self.store.task_dir(name, task) / CHECKPOINT_FILE
            if ckpt.is_file():
                with contextlib.suppress(VqaError):
                    return Method.load(ckpt, device=self.settings.device)
        return None

    def _plot(self, name: str, results: Sequence[TaskResult], entry: Mapping[str, Any]) -> None:
        panels: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {}
        for res in results:
            preds = self.store.load_predictions(name, res.task)
            for test_set in res.metrics:
                rows = [p for p in preds if p.test_set == test_set]
                if rows:
                    panels.setdefault(pair_name(res.train_set, test_set), []).append(
                        (res.task, np.array([p.pred for p in rows]), np.array([p.mos for p in rows]))
                    )
        subtitles = {}
        for pair, res in entry.get("results", {}).items():
            agg = res.get("aggregate", {})
            s, p = agg.get("srcc", {}).get("median"), agg.get("plcc", {}).get("median")
            if s is not None and p is not None:
                subtitles[pair] = f"median SRCC {s:.3f}, PLCC {p:.3f} ({res.get('n_tasks')} task(s))"
        if panels:
            scatter_plot(
                panels,
                self.store.method_dir(name) / "scatter.png",
                f"{name}: prediction vs MOS",
                fit_curve=logistic_curve,
                subtitles=subtitles,
            )

    def write_tables(self, metrics: Mapping[str, Any]) -> None:
        """metrics.json, then results.md rendered from it (the single source of every number)."""
        write_json_atomic(self.store.metrics_path, metrics)
        write_text_atomic(self.store.table_path, markdown_table(metrics))


def logistic_curve(pred: np.ndarray, mos: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
    """The metrics' own 4-parameter logistic pred -> MOS, or None when it does not converge."""
    from vqa_core.metrics import fit_logistic4, logistic4

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            params = fit_logistic4(pred, mos)
    except (ValueError, TypeError, VqaError):
        return None
    return None if params is None else (lambda x: logistic4(np.asarray(x, dtype=np.float64), *params))
