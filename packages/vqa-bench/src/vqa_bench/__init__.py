"""vqa_bench: the `bench` runner of vqa-zoo, its result store, tables, plots, and `vqa score`.

    from vqa_bench import BenchRunner, BenchSettings
    metrics = BenchRunner(BenchSettings(methods=["dagr"], datasets=["demo"], config="tiny", splits=2)).run()

The command line is `bench` (`vqa_bench.cli:main`); `vqa score` is `vqa_bench.score:add_score_command`
plugged into `vqa` through the entry-point group `vqa_zoo.commands`. See benchmarks/README.md for
the protocols, the run folder layout, resuming and the regression tolerance.
"""

from vqa_bench.cost import count_flops, model_cost
from vqa_bench.protocol import Task, cross_tasks, intra_tasks, lsvq_tasks
from vqa_bench.regression import DEFAULT_TOLERANCE, RegressionReport, compare, load_baseline, make_baseline
from vqa_bench.report import markdown_table, rich_table
from vqa_bench.runner import BenchRunner, BenchSettings, load_manifest
from vqa_bench.score import add_score_command, score_videos
from vqa_bench.store import RunStore, TaskResult

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
