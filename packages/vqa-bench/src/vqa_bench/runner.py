"""The bench runner: datasets -> protocol tasks -> (pretrain, fit, score, metrics) per method.

This module is the orchestration: methods x tasks, resume, failures. The other jobs live in
their own modules: settings and run naming (`settings`), config resolution (`method_config`),
manifests, the up-front video check and the tasks (`run_data`), the run's identity
(`identity`), one task (`task`), and the post-run steps: cost, plots, tables (`post_run`).

Everything a run produces goes through `RunStore` (see `vqa_bench.store` for the layout).
Before any file is written, every method's config is resolved and every video probed, so a
config error or a dataset error leaves no run folder behind. Then the run folder is locked (a
second bench on it is refused, naming the holder) and the run's identity checked (a run with
other seeds, splits, data or configs is refused instead of mixed in).

The runner is resumable at task granularity: a finished task (split) is loaded, not redone;
an unfinished one is redone, and the method's own `fit(..., resume=True)` may resume its
training inside the task's work dir. Pretraining artifacts (saliency, ST-VQRL) are built through
`vqa_core.stages.ensure_stage` into `--cache` (default: the vqa-zoo cache root's `stages`),
keyed by stage name + config hash + producer version and shared by every run and by a plain
`Method.fit`, so a second run never pretrains again.
"""

from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from vqa_bench.identity import check_identity, run_identity
from vqa_bench.locks import exclusive_lock
from vqa_bench.method_config import method_overrides, resolve_method_config
from vqa_bench.post_run import PostRunSteps, logistic_curve
from vqa_bench.protocol import Task
from vqa_bench.report import method_entry
from vqa_bench.run_data import VideoCheckReport, build_tasks, load_manifest, usable_videos
from vqa_bench.settings import (
    VERSIONED_DISTRIBUTIONS,
    BenchSettings,
    command_line,
    floating_point_path,
    package_versions,
    settings_dict,
)
from vqa_bench.store import RunStore, TaskResult, read_json, write_json_atomic, write_text_atomic
from vqa_bench.task import CHECKPOINT_FILE, run_task, task_summary
from vqa_core.errors import VqaError, WeightsUnavailableError

log = logging.getLogger(__name__)

# the names other modules and tests import from here
__all__ = [
    "CHECKPOINT_FILE",
    "VERSIONED_DISTRIBUTIONS",
    "BenchRunner",
    "BenchSettings",
    "build_tasks",
    "command_line",
    "load_manifest",
    "logistic_curve",
    "method_overrides",
    "package_versions",
    "resolve_method_config",
    "settings_dict",
]



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
        self._given = (dict(manifests) if manifests is not None else None, dict(zero_shot or {}))
        self._manifests: dict[str, Any] | None = None
        self._zero_shot: dict[str, Any] = {}
        self.video_check = VideoCheckReport()
        self.store = RunStore(settings.run_dir)
        self.post = PostRunSteps(self.store, settings)

    # -- datasets -----------------------------------------------------------------------------
    def manifests(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The run's manifests and zero-shot sets, without the videos that cannot be decoded
        (probed once, up front; what was left out is in `self.video_check`)."""
        if self._manifests is None:
            s = self.settings
            given, zero_shot = self._given
            if given is None:
                given = {}
                for d in s.datasets:
                    m = load_manifest(d, s.data_roots.get(d), s.group_by)
                    given[m.name] = m
                zero_shot = {n: load_manifest(n, r) for n, r in s.zero_shot.items()}
            report = VideoCheckReport()
            self._manifests = {n: usable_videos(m, report, s.progress) for n, m in given.items()}
            self._zero_shot = {n: usable_videos(m, report, s.progress) for n, m in zero_shot.items()}
            self.video_check = report
        return self._manifests, self._zero_shot

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        """Run every method; returns the run's metrics.json content (also written to disk)."""
        from vqa_core.config import config_hash

        s = self.settings
        classes = self._method_classes()
        # configs, data and tasks first: an error in any of them leaves nothing on disk
        configs = {
            name: resolve_method_config(cls, s.config, name, s.overrides, s.no_pretrained)
            for name, cls in classes.items()
            if not isinstance(cls, Exception)
        }
        manifests, zero_shot = self.manifests()
        tasks = build_tasks(s, manifests, zero_shot)
        identity = run_identity(s, "+".join(manifests), tasks, {n: config_hash(c) for n, c in configs.items()})
        self.store.root.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(
            self.store.lock_path,
            what=f"run folder {self.store.root}",
            advice="Wait for that run to finish, or pass --run-name NAME (or another --out) to run beside it.",
            command=s.command,
        ):
            check_identity(self.store, identity)
            swept = self.store.sweep_temporaries()
            if swept:
                self.console.print(f"  removed {swept} temporary file(s) left by an interrupted run")
            return self._run_methods(classes, configs, tasks)

    def _method_classes(self) -> dict[str, Any]:
        """{name: Method class, or the error of a registered method that cannot be loaded}."""
        from vqa_core.method import get_method, list_methods

        known = set(list_methods())
        classes: dict[str, Any] = {}
        for name in self.settings.methods:
            if name not in known:
                get_method(name)  # an unknown name fails before any work, with a did-you-mean
            try:
                classes[name] = get_method(name)
            except VqaError as err:  # registered but broken (e.g. fails to import): report, go on
                classes[name] = err
        return classes

    def _run_methods(
        self, classes: Mapping[str, Any], configs: Mapping[str, Any], tasks: Sequence[Task]
    ) -> dict[str, Any]:
        s = self.settings
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
                entry = self._run_method(name, cls, configs[name], tasks)
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
        self.post.write_tables(metrics)
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
            entry = read_json(path)
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
            "videos_left_out": self.video_check.to_json(),
            "versions": package_versions(),
            "floating_point": floating_point_path(),
        }

    def _run_method(self, name: str, cls: type, config: Any, tasks: Sequence[Task]) -> dict[str, Any]:
        from vqa_core.config import config_hash, dump_config

        s = self.settings
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
            method, result = run_task(self.store, s, name, cls, config, task, fp, pretrain)
            results.append(result)
            last_method = method
            self.console.print(f"  {name}/{task.name}: {task_summary(result)}")
        # post-run steps of this method: cost, metrics entry, plot
        cost = self.post._cost(name, last_method if last_method is not probe else None, chash)
        wall = sum(r.seconds for r in results)  # interrupted attempts included
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
        self.post._plot(name, results, entry)
        write_json_atomic(mdir / "metrics.json", {**entry, "run_key": _run_key(self._run_info(tasks))})
        return entry

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

        def say(line: str) -> None:
            self.console.print(f"  {name}: {line}")

        out: dict[str, dict[str, Any]] = {}
        for stage in method.pretrain_stages():
            res = ensure_stage(stage, self.settings.pretrain_cache, log=say)
            out[stage.name] = {"key": res.key, "folder": res.folder, "seconds": res.seconds, "reused": res.reused}
        return out


def _run_key(run_info: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that make two methods' results comparable (same data, splits, seeds)."""
    run = run_info["run"]
    return {
        k: run.get(k) for k in ("dataset", "protocol", "config", "splits", "seed", "task_seeds", "zero_shot")
    }
