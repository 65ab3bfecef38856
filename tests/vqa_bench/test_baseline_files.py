"""Reading the JSON a bench command is handed: a baseline and a spread run's metrics fail alike,
with messages that name the file."""

from __future__ import annotations

import json
import re

import pytest

from vqa_bench.regression import load_baseline, load_run_metrics
from vqa_core.errors import ConfigError

RUN = {"run": {"dataset": "demo", "protocol": "intra", "config": "tiny", "splits": 2}, "methods": {}}


def test_load_baseline_reads_a_bench_baseline_and_names_a_bad_file(tmp_path):
    good = tmp_path / "good.json"
    good.write_text(json.dumps(RUN))
    assert load_baseline(good) == RUN
    missing = tmp_path / "missing.json"
    with pytest.raises(ConfigError, match=rf"baseline {re.escape(str(missing))} does not exist; write one with"):
        load_baseline(missing)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match=rf"baseline {re.escape(str(broken))} is not valid JSON"):
        load_baseline(broken)
    bare = tmp_path / "bare.json"
    bare.write_text("{}")
    with pytest.raises(ConfigError, match="no 'run'/'methods' sections"):
        load_baseline(bare)


def test_load_run_metrics_takes_a_run_folder_or_its_file_and_names_a_bad_one(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps(RUN))
    assert load_run_metrics(run) == RUN == load_run_metrics(run / "metrics.json")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ConfigError, match=rf"--spread-from {re.escape(str(empty))}: no metrics.json there"):
        load_run_metrics(empty)
    (empty / "metrics.json").write_text("[1,")
    with pytest.raises(ConfigError, match=rf"--spread-from {re.escape(str(empty / 'metrics.json'))} is not valid JSON"):
        load_run_metrics(empty)
