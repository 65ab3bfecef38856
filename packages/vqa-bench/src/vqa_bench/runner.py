"""The bench runner: datasets -> protocol tasks -> (pretrain, fit, predict, score) per method.

Everything a run produces goes through `RunStore` (see `vqa_bench.store` for the layout).
The runner is resumable at task granularity: a finished task (split) is loaded, not redone;
an unfinished one is redone, and the method's own `fit(..., resume=True)` may resume its
training inside the task's work dir. Pretraining artifacts (saliency, ST-VQRL) are built through
`vqa_core.stages.ensure_stage` into `--cache` (default: the vqa-zoo cache root's `stages`),
keyed by stage name + config hash + producer version and shared by every run and by a plain
`Method.fit`, so a second run never pretrains again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import shlex
import shutil
import sys
import time
import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqa_bench.cost import model_cost
from vqa_bench.plots import scatter_plot
from vqa_bench.protocol import PROTOCOLS, Task, cross_tasks, intra_tasks, lsvq_tasks
from vqa_bench.report import method_entry, pair_name
from vqa_bench.store import Prediction, RunStore, TaskResult, write_json_atomic, write_text_atomic
from vqa_core.errors import ConfigError, DatasetError, VqaError, WeightsUnavailableError

log = logging.getLogger(__name__)

VERSIONED_DISTRIBUTIONS = (
    "vqa-core",
    "vqa-bench",
    "saliency-core",
    "dagr-vqa",
    "sc-vqa",
    "st-vqrl",
    "ssl-vqa",
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "scikit-learn",
    "av",
    "kornia",
    "open_clip_torch",
)
CHECKPOINT_FILE = "model.pt"


@dataclass
class BenchSettings:
    """Everything that defines a bench run (the CLI fills it; tests build it directly)."""

    methods: list[str]
    datasets: list[str] = field(default_factory=lambda: ["demo"])
    data_roots: dict[str, Path] = field(default_factory=dict)
    zero_shot: dict[str, Path] = field(default_factory=dict)
    config: str = "small"
    overrides: list[str] = field(default_factory=list)
    no_pretrained: bool = False
    splits: int = 10
    protocol: str = "auto"
    seed: int = 123
    device: str = "auto"
    out: Path = Path("runs")
    run_name: str | None = None
    cache_dir: Path | None = None
    group_by: str | None = None
    save_checkpoints: bool = True
    keep_work: bool = False
    progress: bool = True
    command: str = ""

    def resolved_protocol(self) -> str:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.protocol!r}; choose one of {', '.join(PROTOCOLS)}")
        if self.protocol != "auto":
            return self.protocol
        if len(self.datasets) > 1:
            return "cross"
        return "lsvq" if self.datasets[0].lower() == "lsvq" else "intra"

    def config_label(self) -> str:
        """The preset or YAML file name, with the --set overrides: what decides the config."""
        base = Path(self.config).name if self.config.endswith((".yaml", ".yml")) else self.config
        return " ".join([base, *self.overrides, *(["--no-pretrained"] if self.no_pretrained else [])])

    def default_run_name(self) -> str:
        cfg = Path(self.config).stem if self.config.endswith((".yaml", ".yml")) else self.config
        if self.overrides:
            cfg += "-" + hashlib.sha256("\n".join(self.overrides).encode()).hexdigest()[:8]
        if self.no_pretrained:
            cfg += "-nopretrained"
        names = [Path(d).stem if d.lower().endswith(".csv") else d for d in self.datasets]
        return f"{'+'.join(names)}-{self.resolved_protocol()}-{cfg}"

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / (self.run_name or self.default_run_name())

    @property
    def pretrain_cache(self) -> Path:
        from vqa_core.stages import stage_root

        return stage_root(self.cache_dir)


# --------------------------------------------------------------------------- datasets


def load_manifest(name: str, data_root: Path | None, group_by: str | None = None) -> Any:
    """A dataset's manifest; the embedded `demo` datasets are built on first use.

    `name` may also be a manifest CSV of one's own dataset (`video_id,path,mos[,split,...]`,
    paths relative to the CSV): its file stem names the dataset, `group_by` names a column
    whose equal values must stay in one split part (e.g. the source scene of distorted copies).
    """
    from vqa_core.datasets import Manifest, build_manifest

    if name.lower().endswith(".csv"):
        path = Path(name).expanduser()
        if not path.is_file():
            raise DatasetError(f"manifest CSV {path} does not exist")
        return Manifest.from_csv(path, name=path.stem, group_by=group_by)

    if name.startswith("demo"):
        from vqa_core.demo import ensure_demo

        # ensure_demo builds the data on first use (into data_root, or the vqa-zoo cache folder)
        # and returns the folder the demo descriptor reads (it holds demo/manifest.csv or manifest.csv)
        return build_manifest(name, ensure_demo(None if data_root is None else Path(data_root)))
    if data_root is None:
        raise DatasetError(
            f"dataset {name!r} needs --data-root DIR (the folder holding its videos and official label "
            "file); only the embedded 'demo' dataset is available without one"
        )
    return build_manifest(name, Path(data_root))


def build_tasks(
    settings: BenchSettings, manifests: Mapping[str, Any], zero_shot: Mapping[str, Any]
) -> list[Task]:
    protocol = settings.resolved_protocol()
    if protocol == "intra":
        if len(manifests) != 1:
            raise ConfigError("the intra protocol takes one dataset; use --protocol cross for several")
        return intra_tasks(next(iter(manifests.values())), settings.splits, settings.seed)
    if protocol == "lsvq":
        if len(manifests) != 1:
            raise ConfigError("the lsvq protocol takes one dataset (LSVQ) plus --zero-shot NAME=DIR")
        return lsvq_tasks(next(iter(manifests.values())), zero_shot, settings.seed)
    return cross_tasks(list(manifests.values()), settings.seed)


# --------------------------------------------------------------------------- configs


def resolve_method_config(
    method_cls: type,
    spec: str,
    method_name: str,
    overrides: Sequence[str] = (),
    no_pretrained: bool = False,
) -> Any:
    """A preset name or a YAML file, then `key=value` overrides (`--set`); a YAML whose
    top-level keys are method names holds one config per method (so `--method all --config
    mine.yaml` can configure each). An override `METHOD:key=value` applies to that method only,
    so one `--method all` run can switch off e.g. dagr's saliency. `no_pretrained` turns every
    `pretrained` field (ImageNet, Kinetics, CLIP weights) off: the offline switch."""
    from vqa_core.config import load_config, without_pretrained
    from vqa_core.method import list_methods

    known = set(list_methods())
    mine = method_overrides(overrides, method_name, known)
    config = load_config(method_cls.config_class, spec, mine or None, section=method_name, sections=known)
    return without_pretrained(config, origin=f"{spec} with --no-pretrained") if no_pretrained else config


def method_overrides(overrides: Sequence[str], method_name: str, methods: set[str]) -> list[str]:
    """The `--set` overrides that apply to `method_name`: unscoped ones and `method_name:key=value`."""
    out = []
    for item in overrides:
        head, sep, rest = item.partition(":")
        if sep and "=" not in head and head in methods:
            if head == method_name:
                out.append(rest)
        elif sep and "=" not in head and "." not in head:
            raise ConfigError(
                f"--set {item!r}: {head!r} is not a registered method (known: {', '.join(sorted(methods))})"
            )
        else:
            out.append(item)
    return out


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for dist in VERSIONED_DISTRIBUTIONS:
        with contextlib.suppress(PackageNotFoundError):
            out[dist] = version(dist)
    return out


def seed_everything(seed: int) -> None:
    """The runner seeds the global RNGs per task so methods that draw from them repeat."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# --------------------------------------------------------------------------- one method


@dataclass
class MethodOutcome:
    name: str
    entry: dict[str, Any] | None = None
    error: str | None = None


class BenchRunner:
    """Runs every method of a BenchSettings over its tasks, storing results as they finish."""

    def __init__(
        self,
        settings: BenchSettings,
        manifests: Mapping[str, Any] | None = None,
        zero_shot: Mapping[str, Any] | None = None,
        console: Any = None,
    ) -> None:
        from rich.console import Console

        self.settings = settings
        self.console = console or Console(stderr=True)
        self._manifests = dict(manifests) if manifests is not None else None
        self._zero_shot = dict(zero_shot) if zero_shot is not None else None
        self.store = RunStore(settings.run_dir)

    # -- datasets -----------------------------------------------------------------------------
    def manifests(self) -> tuple[dict[str, Any], dict[str, Any]]:
        if self._manifests is None:
            s = self.settings
            self._manifests = {}
            for d in s.datasets:
                m = load_manifest(d, s.data_roots.get(d), s.group_by)
                self._manifests[m.name] = m
            self._zero_shot = {n: load_manifest(n, r) for n, r in s.zero_shot.items()}
        return self._manifests, self._zero_shot or {}

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run every method; returns the run's metrics.json content (also written to disk)."""
        from vqa_core.method import get_method, list_methods

        s = self.settings
        known = set(list_methods())
        classes: dict[str, Any] = {}
        for name in s.methods:
            if name not in known:
                get_method(name)  # an unknown name fails before any work, with a did-you-mean
            try:
                classes[name] = get_method(name)
            except VqaError as err:  # registered but broken (e.g. fails to import): report, go on
                classes[name] = err
        manifests, zero_shot = self.manifests()
        tasks = build_tasks(s, manifests, zero_shot)
        started = time.perf_counter()
        run_info = self._run_info(tasks)
        write_json_atomic(self.store.run_info_path, run_info)
        self.console.print(
            f"[bold]bench[/]: {len(s.methods)} method(s) x {len(tasks)} task(s) "
            f"({run_info['run']['protocol']}) -> {self.store.root}"
        )
        outcomes = []
        for name, cls in classes.items():
            try:
                if isinstance(cls, Exception):
                    raise cls
                entry = self._run_method(name, cls, tasks)
                outcomes.append(MethodOutcome(name, entry=entry))
            except Exception as err:  # one broken method must not lose the others' results
                log.debug("method %s failed", name, exc_info=True)
                (self.store.method_dir(name)).mkdir(parents=True, exist_ok=True)
                write_text_atomic(self.store.method_dir(name) / "error.txt", traceback.format_exc())
                outcomes.append(MethodOutcome(name, error=f"{type(err).__name__}: {err}"))
                hint = ""
                if isinstance(err, WeightsUnavailableError):
                    hint = " [offline? rerun with --no-pretrained to train from random init]"
                self.console.print(
                    f"[red]method {name} failed[/]: {err}{hint} (traceback in {name}/error.txt)"
                )
        entries = self._earlier_methods(run_info, exclude=set(classes))
        entries.update({o.name: o.entry for o in outcomes if o.entry is not None})
        metrics = {
            **run_info,
            "elapsed_seconds": round(time.perf_counter() - started, 3),
            "methods": entries,
            "failed": {o.name: o.error for o in outcomes if o.error is not None},
        }
        write_json_atomic(self.store.metrics_path, metrics)
        from vqa_bench.report import markdown_table

        write_text_atomic(self.store.table_path, markdown_table(metrics))
        return metrics

    def _earlier_methods(self, run_info: Mapping[str, Any], exclude: set[str]) -> dict[str, Any]:
        """Entries of methods run earlier into this run folder with the same settings, so
        `bench --method str` then `bench --method dagr` end in one table."""
        out: dict[str, Any] = {}
        key = _run_key(run_info)
        for path in sorted(self.store.root.glob("*/metrics.json")):
            name = path.parent.name
            if name in exclude or name.startswith("_"):
                continue
            entry = _read_json(path)
            if entry.get("run_key") == key and "results" in entry:
                out[name] = entry
        return out

    def _run_info(self, tasks: Sequence[Task]) -> dict[str, Any]:
        s = self.settings
        return {
            "run": {
                "dataset": "+".join(self._manifests or s.datasets),
                "protocol": s.resolved_protocol(),
                "config": s.config_label(),
                "splits": len(tasks) if s.resolved_protocol() == "intra" else None,
                "seed": s.seed,
                "task_seeds": {t.name: t.seed for t in tasks},
                "zero_shot": sorted(s.zero_shot),
                "device": s.device,
                "command": s.command,
                "started_utc": datetime.now(UTC).isoformat(timespec="seconds"),
            },
            "versions": package_versions(),
        }

    def _run_method(self, name: str, cls: type, tasks: Sequence[Task]) -> dict[str, Any]:
        from vqa_core.config import config_hash, dump_config

        s = self.settings
        config = resolve_method_config(cls, s.config, name, s.overrides, s.no_pretrained)
        chash = config_hash(config)
        mdir = self.store.method_dir(name)
        mdir.mkdir(parents=True, exist_ok=True)
        dump_config(config, mdir / "config.yaml")

        probe = cls(config=config, device=s.device)
        pretrain = self._pretrain(name, probe)
        results: list[TaskResult] = []
        last_method = probe
        for task in self._progress(tasks, f"{name}"):
            fp = task.fingerprint(name, chash)
            done = self.store.finished(name, task.name, fp)
            if done is not None:
                self.console.print(
                    f"  {name}/{task.name}: finished earlier, kept (delete its folder to redo)"
                )
                results.append(done)
                continue
            method, result = self._run_task(name, cls, config, task, fp, pretrain)
            results.append(result)
            last_method = method
            self.console.print(f"  {name}/{task.name}: {_task_summary(result)}")
        cost = self._cost(name, last_method if last_method is not probe else None, chash)
        wall = sum(r.fit_seconds + sum(r.predict_seconds.values()) for r in results)
        wall += sum(p["seconds"] for p in pretrain.values())
        from vqa_core.metrics import aggregate

        entry = method_entry(results, aggregate, cost, chash, wall)
        caveats = list(probe.caveats())
        if caveats:  # ingredients that differ from the paper's, shown next to the name in tables
            entry["caveats"] = caveats
            entry["label"] = f"{name} [{', '.join(caveats)}]"
        entry["pretrain"] = {
            k: {kk: vv for kk, vv in v.items() if kk != "folder"} for k, v in pretrain.items()
        }
        self._plot(name, results, entry)
        write_json_atomic(mdir / "metrics.json", {**entry, "run_key": _run_key(self._run_info(tasks))})
        return entry

    def _cost(self, name: str, fitted: Any, chash: str) -> dict[str, Any]:
        """Params/FLOPs of a method fitted in this invocation; on a fully resumed run, the
        stored ones (same config hash), else those of the first task's saved checkpoint."""
        path = self.store.method_dir(name) / "cost.json"
        if fitted is None:
            stored = _read_json(path)
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

    def _progress(self, tasks: Sequence[Task], label: str):
        if not self.settings.progress:
            yield from tasks
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as bar:
            tid = bar.add_task(f"{label}: tasks", total=len(tasks))
            for task in tasks:
                bar.update(tid, description=f"{label}: {task.name}")
                yield task
                bar.advance(tid)

    # -- pretraining ---------------------------------------------------------------------------
    def _pretrain(self, name: str, method: Any) -> dict[str, dict[str, Any]]:
        """Build (or reuse) every pretraining stage; {stage name: {key, folder, seconds, reused}}."""
        from vqa_core.stages import ensure_stage

        out: dict[str, dict[str, Any]] = {}
        def say(line: str) -> None:
            self.console.print(f"  {name}: {line}")

        for stage in method.pretrain_stages():
            res = ensure_stage(stage, self.settings.pretrain_cache, log=say)
            out[stage.name] = {"key": res.key, "folder": res.folder, "seconds": res.seconds, "reused": res.reused}
        return out

    # -- one task ------------------------------------------------------------------------------
    def _run_task(
        self, name: str, cls: type, config: Any, task: Task, fingerprint: str, pretrain: Mapping[str, Any]
    ) -> tuple[Any, TaskResult]:
        from vqa_core.metrics import quality_metrics

        s = self.settings
        seed_everything(task.seed)
        method = cls(config=config, device=s.device)
        for stage_name, info in pretrain.items():
            method.use_pretrained(stage_name, Path(info["folder"]))
        work = self.store.work_dir(name, task.name)
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        history = method.fit(list(task.train), list(task.val), work, resume=True, progress=s.progress)
        fit_seconds = time.perf_counter() - t0
        predictions: list[Prediction] = []
        metrics: dict[str, dict[str, Any]] = {}
        predict_seconds: dict[str, float] = {}
        for test_name, items in task.tests.items():
            t0 = time.perf_counter()
            pred = np.asarray(method.predict(list(items)), dtype=np.float64).reshape(-1)
            predict_seconds[test_name] = time.perf_counter() - t0
            if pred.shape[0] != len(items):
                raise VqaError(
                    f"method {name!r} returned {pred.shape[0]} scores for {len(items)} videos of {test_name}"
                )
            mos = np.asarray([i.mos for i in items], dtype=np.float64)
            try:
                with warnings.catch_warnings():  # curve_fit's covariance overflow: unused, noise
                    warnings.simplefilter("ignore", RuntimeWarning)
                    metrics[test_name] = dict(quality_metrics(pred, mos))
            except (
                ValueError,
                TypeError,
                VqaError,
            ) as err:  # e.g. constant predictions: a result, not a crash
                metrics[test_name] = {"error": str(err)}
            predictions += [
                Prediction(test_name, i.video_id, str(i.path), float(i.mos), float(p))
                for i, p in zip(items, pred)
            ]
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
            fit_info=_summarise_history(history),
        )
        if s.save_checkpoints:
            method.save(self.store.task_dir(name, task.name) / CHECKPOINT_FILE)
        self.store.save_task(result, predictions)
        if not s.keep_work:  # training checkpoints are only needed to resume an unfinished task
            shutil.rmtree(work, ignore_errors=True)
        return method, result

    # -- plots ---------------------------------------------------------------------------------
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


def _run_key(run_info: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that make two methods' results comparable (same data, splits, seeds)."""
    run = run_info["run"]
    return {
        k: run.get(k) for k in ("dataset", "protocol", "config", "splits", "seed", "task_seeds", "zero_shot")
    }


def _summarise_history(history: Any) -> dict[str, Any]:
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


def _task_summary(result: TaskResult) -> str:
    """One log line per finished task, so a `--no-progress` run (CI, batch jobs) shows where it is."""
    parts = []
    for test_set, m in result.metrics.items():
        if "error" in m:
            parts.append(f"{test_set} error: {m['error']}")
        else:
            parts.append(f"{test_set} SRCC {m['srcc']:.3f} PLCC {m['plcc']:.3f}")
    seconds = result.fit_seconds + sum(result.predict_seconds.values())
    return f"{'; '.join(parts)} ({seconds:.0f} s)"


def _read_json(path: Path) -> dict[str, Any]:
    import json

    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def command_line(argv: Sequence[str] | None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    return "bench " + " ".join(shlex.quote(a) for a in args)


def settings_dict(settings: BenchSettings) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()}
