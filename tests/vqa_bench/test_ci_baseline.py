"""The committed CI baseline (`benchmarks/baselines/demo-tiny.json`) holds issue #15's floor for the
tiny presets: every method's median SRCC >= 0.4 on its 2 CI splits, checked one-sided by `.ci/run`.

These read the committed files, not a run: they fail when someone rewrites the baseline without
`--minimum srcc=0.4`, when a method in it is below that floor (the CI check would then fail on
every machine), or when `.ci/run` stops checking against it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vqa_bench.regression import compare, load_baseline

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "benchmarks" / "baselines" / "demo-tiny.json"
TINY_FLOOR = 0.4


@pytest.fixture(scope="module")
def baseline() -> dict:
    return load_baseline(BASELINE)


def test_the_ci_baseline_checks_drops_and_an_absolute_floor(baseline):
    assert baseline["one_sided"] is True
    assert baseline["minimum"] == {"srcc": TINY_FLOOR}


def test_every_method_of_the_ci_baseline_reaches_the_floor(baseline):
    assert {"str", "dagr", "sc", "stvqrl", "ssl", "qasa"} <= set(baseline["methods"])  # every learned method
    # the baseline passes its own check: one minimum row per method and pair, all at or above it
    report = compare(baseline, baseline, str(BASELINE))
    floors = [c for c in report.comparisons if c.kind == "minimum"]
    assert len(floors) == sum(len(entry["results"]) for entry in baseline["methods"].values())
    assert {(c.metric, c.baseline) for c in floors} == {("srcc", TINY_FLOOR)}
    assert report.ok, report.to_markdown()


def test_ci_runs_the_check_against_this_baseline():
    script = (ROOT / ".ci" / "run").read_text()
    assert "--check-regression benchmarks/baselines/demo-tiny.json" in script
    assert "--config tiny --splits 2" in script
