"""One task of a bench run: seed, fit, score every test set, compute the metrics, save.

A video that fails while it is scored never fails the task (issue #16.1): its score is NaN,
the metrics of its test set are computed on the videos that were scored, and the failures are
listed (file and reason) in the task's result.json and in the results table.

The seconds a task costs include the attempts that were interrupted before it finished
(issue #16.7: a resumed run showed 44 s against 80 s spent): `attempt.json` in the task folder
records them while the task is unfinished, and result.json keeps their sum.
"""

from __future__ import annotations

import math
import shutil
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vqa_bench.protocol import Task
from vqa_bench.settings import BenchSettings
from vqa_bench.store import Prediction, RunStore, TaskResult, read_json, write_json_atomic
from vqa_core.errors import VqaError
from vqa_core.train.rng import seed_everything

CHECKPOINT_FILE = "model.pt"


def _one_line(err: BaseException | str) -> str:
    return " ".join(str(err).split())


def score_items(
    method: Any, items: Sequence[Any], progress: bool = False
) -> tuple[np.ndarray, list[str | None]]:
    """(scores, errors) in input order: NaN and the reason where an item could not be scored.

    With the `Method.score(items, *, progress)` contract (a `ScoreReport` whose `errors[i]` is
    None or the reason), that is the method's own report. For methods that only `predict`:
    the whole list at once, and on a `VqaError` item by item, so one bad video costs its own
    score only. Programming errors (not `VqaError`) still propagate.
    """
    items = list(items)
    score = getattr(method, "score", None)
    if callable(score):
        report = score(items, progress=progress)
        scores = np.asarray(report.scores, dtype=np.float64).reshape(-1)
        errors = [None if e is None else _one_line(e) for e in report.errors]
    else:  # predict-only methods (the contract before `Method.score`)
        try:
            scores, errors = (
                np.asarray(method.predict(items), dtype=np.float64).reshape(-1),
                [None] * len(items),
            )
        except VqaError:
            scores, errors = np.full(len(items), math.nan), [None] * len(items)
            for k, item in enumerate(items):
                try:
                    scores[k] = float(np.asarray(method.predict([item]), dtype=np.float64).reshape(-1)[0])
                except VqaError as err:
                    errors[k] = _one_line(err)
    if scores.shape[0] != len(items) or len(errors) != len(items):
        raise VqaError(
            f"method {getattr(method, 'name', method)!r} returned {scores.shape[0]} scores for {len(items)} videos"
        )
    for k, value in enumerate(scores):
        if errors[k] is None and not math.isfinite(value):
            errors[k] = f"{items[k].path}: the method returned a non-finite score ({value})"
    return scores, errors


def scored_metrics(pred: np.ndarray, mos: np.ndarray, errors: Sequence[str | None]) -> dict[str, Any]:
    """Quality metrics on the scored videos; `n_failed` when some were not; an error entry
    (a result, not a crash) when the metrics cannot be computed, e.g. constant predictions."""
    from vqa_core.metrics import quality_metrics

    ok = np.array([e is None for e in errors], dtype=bool)
    failed = int((~ok).sum())
    extra = {"n_failed": failed} if failed else {}
    if not ok.any():
        return {"error": f"none of the {len(errors)} test videos could be scored", **extra}
    try:
        with warnings.catch_warnings():  # curve_fit's covariance overflow: unused, noise
            warnings.simplefilter("ignore", RuntimeWarning)
            return {**dict(quality_metrics(pred[ok], mos[ok])), **extra}
    except (ValueError, TypeError, VqaError) as err:
        return {"error": str(err), **extra}


class AttemptClock:
    """Seconds spent on a task by attempts that did not finish it.

    An interrupt or an error adds its exact elapsed time; a process killed outright (SIGKILL)
    cannot, so the next attempt counts that one up to the last file it wrote in the task folder
    (its last training checkpoint: what the resumed training builds on).
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.earlier = 0.0
        self._t0 = 0.0

    def start(self) -> float:
        record = read_json(self.path)
        earlier = float(record.get("interrupted_seconds", 0.0))
        since = record.get("running_since")
        if since is not None:  # the previous attempt died without a word
            earlier += max(0.0, _last_write(self.path.parent) - float(since))
        self.earlier = earlier
        self._t0 = time.perf_counter()
        write_json_atomic(self.path, {"interrupted_seconds": earlier, "running_since": time.time()})
        return earlier

    def stopped(self) -> None:
        """The attempt ends without finishing (interrupt, error): keep its seconds."""
        spent = self.earlier + time.perf_counter() - self._t0
        write_json_atomic(self.path, {"interrupted_seconds": spent, "running_since": None})

    def finished(self) -> None:
        self.path.unlink(missing_ok=True)


def _last_write(folder: Path) -> float:
    """The latest modification time of a file under `folder` (folders' own times move when a
    file is removed, so they are not evidence of work)."""
    latest = 0.0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                latest = max(latest, path.stat().st_mtime)
        except OSError:
            continue
    return latest


def run_task(
    store: RunStore,
    settings: BenchSettings,
    name: str,
    cls: type,
    config: Any,
    task: Task,
    fingerprint: str,
    pretrain: Mapping[str, Any],
) -> tuple[Any, TaskResult]:
    """Seed, fit on the task's train part (selecting on val), score each test set, save.

    Returns the fitted method and the stored result; training state (`work/`) is dropped
    once the task is finished unless `settings.keep_work`.
    """
    seed_everything(task.seed)
    method = cls(config=config, device=settings.device)
    for stage_name, info in pretrain.items():
        method.use_pretrained(stage_name, Path(info["folder"]))
    work = store.work_dir(name, task.name)
    work.mkdir(parents=True, exist_ok=True)
    clock = AttemptClock(store.attempt_path(name, task.name))
    interrupted = clock.start()
    try:
        t0 = time.perf_counter()
        history = method.fit(list(task.train), list(task.val), work, resume=True, progress=settings.progress)
        fit_seconds = time.perf_counter() - t0
        predictions: list[Prediction] = []
        metrics: dict[str, dict[str, Any]] = {}
        predict_seconds: dict[str, float] = {}
        failed_videos: dict[str, list[dict[str, str]]] = {}
        for test_name, items in task.tests.items():
            t0 = time.perf_counter()
            pred, errors = score_items(method, items, progress=settings.progress)
            predict_seconds[test_name] = time.perf_counter() - t0
            mos = np.asarray([i.mos for i in items], dtype=np.float64)
            metrics[test_name] = scored_metrics(pred, mos, errors)
            predictions += [
                Prediction(test_name, i.video_id, str(i.path), float(i.mos), float(p))
                for i, p, e in zip(items, pred, errors)
                if e is None
            ]
            failures = [
                {"video_id": i.video_id, "path": str(i.path), "reason": e}
                for i, e in zip(items, errors)
                if e is not None
            ]
            if failures:
                failed_videos[test_name] = failures
        result = TaskResult(
            method=name,
            task=task.name,
            fingerprint=fingerprint,
            metrics=metrics,
            train_set=task.train_set,
            num_train=len(task.train),
            num_val=len(task.val),
            num_test={k: len(v) for k, v in task.tests.items()},
            seed=task.seed,
            fit_seconds=fit_seconds,
            predict_seconds=predict_seconds,
            fit_info=summarise_history(history),
            interrupted_seconds=interrupted,
            failed_videos=failed_videos,
        )
        if settings.save_checkpoints:
            method.save(store.task_dir(name, task.name) / CHECKPOINT_FILE)
        store.save_task(result, predictions)
    except BaseException:
        clock.stopped()
        raise
    clock.finished()
    if not settings.keep_work:  # training checkpoints are only needed to resume an unfinished task
        shutil.rmtree(work, ignore_errors=True)
    return method, result


def summarise_history(history: Any) -> dict[str, Any]:
    """Keep the small, JSON-able part of what fit() returned (best epoch, best metric...)."""
    if not isinstance(history, Mapping):
        return {}
    out = {}
    for key, value in history.items():
        if isinstance(value, (int, float, str, bool)) or value is None:
            out[key] = value
        elif isinstance(value, np.generic):
            out[key] = value.item()
    return out


def task_summary(result: TaskResult) -> str:
    """One log line per finished task, so a `--no-progress` run (CI, batch jobs) shows where it is."""
    parts = []
    for test_set, m in result.metrics.items():
        if "error" in m:
            parts.append(f"{test_set} error: {m['error']}")
        else:
            parts.append(f"{test_set} SRCC {m['srcc']:.3f} PLCC {m['plcc']:.3f}")
        if m.get("n_failed"):
            parts[-1] += f" ({m['n_failed']} video(s) could not be scored, see result.json)"
    return f"{'; '.join(parts)} ({result.seconds:.0f} s)"
