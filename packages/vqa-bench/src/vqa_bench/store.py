"""The on-disk result store of a bench run, and what makes a run resumable.

Layout of `OUT/<run>/`::

    run.json                  settings of the run (dataset, protocol, config, splits, seeds),
                              package versions, the command line; rewritten on every (re)start
    metrics.json              every method: per-task metrics, median/mean/std, wall time, cost
    results.md                the markdown table of metrics.json
    <method>/config.yaml      the resolved config the method ran with
    <method>/cost.json        parameters and FLOPs (or why they are "n/a")
    <method>/scatter.png      prediction against MOS with the fitted logistic, per test set
    <method>/<task>/work/     the method's own work dir for that task (training checkpoints);
                              removed once the task is finished unless --keep-work
    <method>/<task>/predictions.csv   task, test_set, video_id, path, mos, pred
    <method>/<task>/model.pt          the trained model of the task (`vqa score --checkpoint`)
    <method>/<task>/result.json       per test set metrics and timings, the videos that could not
                                      be scored; written LAST and atomically
    <method>/<task>/attempt.json      while a task runs: when it started and the seconds spent by
                                      interrupted attempts (summed into result.json's timings)
    identity.json             what the results depend on (`vqa_bench.identity`): a run with another
                              identity is refused here
    .lock                     held while a bench runs here (`vqa_bench.locks`)

A task is finished exactly when its `result.json` exists and was produced under the same
fingerprint (method, config hash, the task's train/val/test membership): a rerun after an
interrupt keeps finished tasks and redoes the rest. A result whose fingerprint differs (the
config or the split changed) is never silently mixed in: the run's identity check refuses
such a rerun before it starts, and the fingerprint check is the last guard.

Files are written through `vqa_core.atomic` (a temporary sibling renamed onto the name, with the
mode the umask gives); the temporaries a killed run left behind are swept when a run starts.
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RESULT_FILE = "result.json"
PREDICTIONS_FILE = "predictions.csv"
ATTEMPT_FILE = "attempt.json"
PREDICTION_COLUMNS = ("task", "test_set", "video_id", "path", "mos", "pred")


def write_text_atomic(path: Path, text: str) -> None:
    """Write through a temp file + rename, so an interrupt never leaves a half-written file
    (`vqa_core.atomic`: the new file gets the mode the umask gives, not mkstemp's 0600)."""
    from vqa_core.atomic import atomic_write_text

    atomic_write_text(path, text)


def write_json_atomic(path: Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=2, sort_keys=False, default=_json_default) + "\n")


def read_json(path: Path) -> dict[str, Any]:
    """The JSON object in `path`, or {} when it is missing or unreadable (a cache, not a contract)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item"):  # numpy / torch scalars
        return obj.item()
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"cannot serialise {type(obj).__name__} to JSON")


@dataclass(frozen=True)
class Prediction:
    """One scored video of one test set."""

    test_set: str
    video_id: str
    path: str
    mos: float
    pred: float


@dataclass
class TaskResult:
    """What one finished task produced: metrics per test set, timings, the fingerprint."""

    method: str
    task: str
    fingerprint: str
    metrics: dict[str, dict[str, Any]]  # test_set -> quality metrics
    train_set: str = ""
    num_train: int = 0
    num_val: int = 0
    num_test: dict[str, int] = field(default_factory=dict)
    seed: int | None = None
    fit_seconds: float = 0.0
    predict_seconds: dict[str, float] = field(default_factory=dict)
    fit_info: dict[str, Any] = field(default_factory=dict)
    # seconds spent by earlier, interrupted attempts at this task (their training is resumed)
    interrupted_seconds: float = 0.0
    # test_set -> [{"video_id", "path", "reason"}]: videos the method could not score
    failed_videos: dict[str, list[dict[str, str]]] = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        """Everything this task cost, interrupted attempts included."""
        return self.interrupted_seconds + self.fit_seconds + sum(self.predict_seconds.values())

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TaskResult:
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in data.items() if k in known})


class RunStore:
    """Paths and bookkeeping of one run directory; the only code that knows the layout."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # ---- paths -------------------------------------------------------------------------
    def method_dir(self, method: str) -> Path:
        return self.root / method

    def task_dir(self, method: str, task: str) -> Path:
        return self.root / method / task

    def work_dir(self, method: str, task: str) -> Path:
        return self.task_dir(method, task) / "work"

    @property
    def metrics_path(self) -> Path:
        return self.root / "metrics.json"

    @property
    def table_path(self) -> Path:
        return self.root / "results.md"

    @property
    def run_info_path(self) -> Path:
        return self.root / "run.json"

    @property
    def identity_path(self) -> Path:
        return self.root / "identity.json"

    @property
    def lock_path(self) -> Path:
        return self.root / ".lock"

    def attempt_path(self, method: str, task: str) -> Path:
        return self.task_dir(method, task) / ATTEMPT_FILE

    def method_names(self) -> list[str]:
        """Folders of methods run here (not `_`-prefixed helpers)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))

    def started_tasks(self) -> list[tuple[str, str]]:
        """(method, task) of every task that finished or began here (result, predictions,
        training state or attempt record present): the results a rerun must not mix with."""
        marks = (RESULT_FILE, PREDICTIONS_FILE, "work", ATTEMPT_FILE)
        return [
            (m, t.name)
            for m in self.method_names()
            for t in sorted(self.method_dir(m).iterdir())
            if t.is_dir() and any((t / mark).exists() for mark in marks)
        ]

    def sweep_temporaries(self) -> int:
        """Remove the atomic writers' temporaries that a killed run left anywhere in the run
        folder (only those no live process can own, see `vqa_core.atomic.sweep_stale_temps`)."""
        from vqa_core.atomic import sweep_stale_temps

        removed = 0
        for folder, _, _ in os.walk(self.root):
            removed += len(sweep_stale_temps(folder))
        return removed

    # ---- tasks -------------------------------------------------------------------------
    def finished(self, method: str, task: str, fingerprint: str) -> TaskResult | None:
        """The stored result of a task if it finished under this fingerprint, else None."""
        path = self.task_dir(method, task) / RESULT_FILE
        if not path.is_file():
            return None
        try:
            result = TaskResult.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (json.JSONDecodeError, TypeError):
            return None
        if result.fingerprint != fingerprint:
            return None
        if not (self.task_dir(method, task) / PREDICTIONS_FILE).is_file():
            return None
        return result

    def save_task(self, result: TaskResult, predictions: Sequence[Prediction]) -> None:
        """Predictions first, then result.json: the latter is the 'finished' marker."""
        tdir = self.task_dir(result.method, result.task)
        write_predictions(tdir / PREDICTIONS_FILE, result.task, predictions)
        write_json_atomic(tdir / RESULT_FILE, result.to_json())

    def load_predictions(self, method: str, task: str) -> list[Prediction]:
        return read_predictions(self.task_dir(method, task) / PREDICTIONS_FILE)

    def tasks_of(self, method: str) -> list[str]:
        mdir = self.method_dir(method)
        if not mdir.is_dir():
            return []
        return sorted(p.parent.name for p in mdir.glob(f"*/{RESULT_FILE}"))


def write_predictions(path: Path, task: str, predictions: Iterable[Prediction]) -> None:
    import io

    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(PREDICTION_COLUMNS)
    for p in predictions:
        writer.writerow([task, p.test_set, p.video_id, p.path, repr(float(p.mos)), repr(float(p.pred))])
    write_text_atomic(path, buf.getvalue())


def read_predictions(path: Path) -> list[Prediction]:
    with open(path, newline="", encoding="utf-8") as fh:
        return [
            Prediction(
                test_set=row["test_set"],
                video_id=row["video_id"],
                path=row["path"],
                mos=float(row["mos"]),
                pred=float(row["pred"]),
            )
            for row in csv.DictReader(fh)
        ]
