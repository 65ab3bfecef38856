"""The README results table: tiny-config columns are labelled CI anchors, other columns are not."""

from __future__ import annotations

import json

from vqa_bench.table import ANCHOR_NOTE, baselines_table


def _write(path, config: str, splits: int, srcc: float) -> None:
    result = {"aggregate": {"srcc": {"median": srcc}, "plcc": {"median": srcc - 0.1}}}
    run = {"dataset": "demo", "protocol": "intra", "config": config, "splits": splits, "command": "bench ..."}
    path.write_text(json.dumps({"run": run, "methods": {"nss": {"results": {"demo -> demo": result}}}}))


def test_tiny_columns_say_they_are_ci_anchors(tmp_path):
    _write(tmp_path / "demo-small.json", "small", 10, 0.79)
    _write(tmp_path / "demo-tiny.json", "tiny", 2, 0.69)
    table = baselines_table(tmp_path)
    header = table.splitlines()[0]
    assert header == (
        "| method | demo -> demo (small, intra) | demo -> demo (tiny, intra): CI anchor, 2 splits |"
    )
    assert table.splitlines()[2] == "| nss | 0.790 / 0.690 | 0.690 / 0.590 |"
    assert table.count(ANCHOR_NOTE) == 1


def test_a_table_without_tiny_runs_has_no_anchor_note(tmp_path):
    _write(tmp_path / "demo-small.json", "small", 10, 0.79)
    table = baselines_table(tmp_path)
    assert "CI anchor" not in table and ANCHOR_NOTE not in table


def test_a_row_names_what_is_not_real(tmp_path):
    """A number from a random component (e.g. QASA's CLIP offline) says so in its row, as the bench does."""
    result = {"aggregate": {"srcc": {"median": -0.06}, "plcc": {"median": -0.06}}}
    run = {"dataset": "demo", "protocol": "intra", "config": "tiny", "splits": 2, "command": "bench ..."}
    methods = {
        "qasa": {"caveats": ["no ST-VQRL init", "CLIP random"], "results": {"demo -> demo": result}},
        "nss": {"caveats": [], "results": {"demo -> demo": result}},
    }
    (tmp_path / "demo-tiny.json").write_text(json.dumps({"run": run, "methods": methods}))
    rows = baselines_table(tmp_path).splitlines()[2:4]
    assert rows == ["| nss | -0.060 / -0.060 |", "| qasa [no ST-VQRL init, CLIP random] | -0.060 / -0.060 |"]


def test_a_caveat_of_one_column_stays_in_that_cell(tmp_path):
    """ssl's `small` result has its ST-VQRL init; only its `tiny` anchor runs without one."""
    result = {"aggregate": {"srcc": {"median": 0.75}, "plcc": {"median": 0.74}}}
    for config, caveats in (("small", ["primary score"]), ("tiny", ["primary score", "no ST-VQRL init"])):
        run = {"dataset": "demo", "protocol": "intra", "config": config, "splits": 2, "command": "bench ..."}
        methods = {"ssl": {"caveats": caveats, "results": {"demo -> demo": result}}}
        (tmp_path / f"demo-{config}.json").write_text(json.dumps({"run": run, "methods": methods}))
    row = baselines_table(tmp_path).splitlines()[2]
    assert row == "| ssl [primary score] | 0.750 / 0.740 | 0.750 / 0.740 [no ST-VQRL init] |"
