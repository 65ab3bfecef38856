"""vqa_bench: the `bench` runner of vqa-zoo, its result store, tables, plots, and `vqa score`.

    from vqa_bench import BenchRunner, BenchSettings
    metrics = BenchRunner(BenchSettings(methods=["dagr"], datasets=["demo"], config="tiny", splits=2)).run()

The command line is `bench` (`vqa_bench.cli:main`); `vqa score` is `vqa_bench.score:add_score_command`
plugged into `vqa` through the entry-point group `vqa_zoo.commands`. See benchmarks/README.md for
the protocols, the run folder layout, resuming and the regression tolerance.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

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
    "make_baseline": "vqa_bench.regression",
    "markdown_table": "vqa_bench.report",
    "rich_table": "vqa_bench.report",
    "BenchRunner": "vqa_bench.runner",
    "BenchSettings": "vqa_bench.runner",
    "load_manifest": "vqa_bench.runner",
    "add_score_command": "vqa_bench.score",
    "score_videos": "vqa_bench.score",
    "RunStore": "vqa_bench.store",
    "TaskResult": "vqa_bench.store",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        try:  # a submodule, as `import pkg; pkg.sub` worked when __init__ imported it
            return import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "DEFAULT_TOLERANCE",
    "BenchRunner",
    "BenchSettings",
    "RegressionReport",
    "RunStore",
    "Task",
    "TaskResult",
    "add_score_command",
    "compare",
    "count_flops",
    "cross_tasks",
    "intra_tasks",
    "load_baseline",
    "load_manifest",
    "lsvq_tasks",
    "make_baseline",
    "markdown_table",
    "model_cost",
    "rich_table",
    "score_videos",
]
