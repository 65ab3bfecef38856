"""vqa_bench: the `bench` runner of vqa-zoo, its result store, tables, plots, and `vqa score`.

    from vqa_bench import BenchRunner, BenchSettings
    metrics = BenchRunner(BenchSettings(methods=["dagr"], datasets=["demo"], config="tiny", splits=2)).run()

Modules, one job each: `settings` (BenchSettings, run naming), `method_config` (--config/--set),
`run_data` (manifests, the up-front video check, tasks), `identity` (what a run folder's results
depend on), `locks`, `task` (one task: seed, fit, score, metrics, save), `post_run` (cost, plots,
tables), `runner` (orchestration: methods x tasks, resume, failures), `store` (the run folder).

The command line is `bench` (`vqa_bench.cli:main`); `vqa score` is `vqa_bench.score:add_score_command`
plugged into `vqa` through the entry-point group `vqa_zoo.commands`. See benchmarks/README.md for
the protocols, the run folder layout, resuming and the regression tolerance.
"""

from __future__ import annotations

from vqa_core.lazy import lazy_exports

# Names load on first use, so that `vqa --help` and the command plugins do not import torch.
_LAZY = {
    "count_flops": "vqa_bench.cost",
    "model_cost": "vqa_bench.cost",
    "Task": "vqa_bench.protocol",
    "cross_tasks": "vqa_bench.protocol",
    "intra_tasks": "vqa_bench.protocol",
    "lsvq_tasks": "vqa_bench.protocol",
    "DEFAULT_TOLERANCE": "vqa_bench.regression",
    "RegressionReport": "vqa_bench.regression",
    "compare": "vqa_bench.regression",
    "load_baseline": "vqa_bench.regression",
    "load_run_metrics": "vqa_bench.regression",
    "make_baseline": "vqa_bench.regression",
    "markdown_table": "vqa_bench.report",
    "rich_table": "vqa_bench.report",
    "BenchRunner": "vqa_bench.runner",
    "BenchSettings": "vqa_bench.settings",
    "RunIdentityError": "vqa_bench.identity",
    "run_identity": "vqa_bench.identity",
    "LockHeldError": "vqa_bench.locks",
    "exclusive_lock": "vqa_bench.locks",
    "resolve_method_config": "vqa_bench.method_config",
    "VideoCheckReport": "vqa_bench.run_data",
    "build_tasks": "vqa_bench.run_data",
    "load_manifest": "vqa_bench.run_data",
    "usable_videos": "vqa_bench.run_data",
    "add_score_command": "vqa_bench.score",
    "score_videos": "vqa_bench.score",
    "OutPathError": "vqa_bench.score_csv",
    "ScoreCsv": "vqa_bench.score_csv",
    "RunStore": "vqa_bench.store",
    "TaskResult": "vqa_bench.store",
    "run_task": "vqa_bench.task",
    "score_items": "vqa_bench.task",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = sorted(_LAZY)
