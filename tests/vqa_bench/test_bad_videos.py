"""#16.1: one unreadable video never ends a bench run; every video left out is reported."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from vqa_bench.cli import main
from vqa_bench.runner import BenchRunner, BenchSettings
from vqa_bench.task import score_items
from vqa_core.datasets import Manifest, ManifestItem
from vqa_core.errors import VideoDecodeError


def _csv_with_bad_video(tmp_path: Path, manifest) -> tuple[Path, Path]:
    """The toy dataset as a user CSV plus one text file named .mp4 in a scene of its own."""
    bad = tmp_path / "data" / "bad_text.mp4"
    bad.parent.mkdir(parents=True, exist_ok=True)
    bad.write_text("this is not a video\n")
    items = [*manifest.items, ManifestItem("bad_text", bad, 3.0, "", {"scene": "s99"})]
    path = tmp_path / "data" / "mine.csv"
    Manifest("mine", items, group_by="scene").to_csv(path)
    return path, bad


def test_bench_on_a_csv_with_a_bad_video_finishes_every_split_and_reports_it(
    tmp_path, toy_manifest, toy_method, capsys
):
    csv_path, bad = _csv_with_bad_video(tmp_path, toy_manifest)
    argv = [
        "--method",
        "toy-ridge",
        "--dataset",
        str(csv_path),
        "--group-by",
        "scene",
        "--config",
        "tiny",
        "--splits",
        "3",
        "--device",
        "cpu",
        "--out",
        str(tmp_path / "runs"),
        "--no-progress",
    ]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "1 of 25 videos left out" in err and str(bad) in err
    root = tmp_path / "runs" / "mine-intra-tiny"
    metrics = json.loads((root / "metrics.json").read_text())
    left_out = metrics["videos_left_out"]
    assert left_out["checked"] == 25 and left_out["count"] == 1
    (row,) = left_out["videos"]
    assert row["video_id"] == "bad_text" and row["path"] == str(bad) and row["dataset"] == "mine"
    assert "bad_text.mp4" in row["reason"] and "not a readable" in row["reason"]
    assert metrics["methods"]["toy-ridge"]["results"]["mine -> mine"]["n_tasks"] == 3
    for k in range(3):  # every split finished, and the bad video is in none of them
        result = json.loads((root / "toy-ridge" / f"split_{k:02d}" / "result.json").read_text())
        assert result["num_train"] + result["num_val"] + result["num_test"]["mine"] == 24
    table = (root / "results.md").read_text()
    assert "1 of 25 videos were left out" in table and f"`{bad}`" in table
    assert json.loads((root / "run.json").read_text())["videos_left_out"]["count"] == 1


@pytest.fixture
def fails_on_one_video(toy_method):
    """A toy method that cannot score `s1_q10` although the file probes fine (a decode error
    deep in the stream, say): the case the up-front check cannot catch."""
    from vqa_core.method import METHODS

    class FailsOnOne(toy_method):
        name = "toy-fails-one"

        def score(self, items, *, progress=False):
            from vqa_core.method import as_manifest_items

            items = as_manifest_items(items)
            report = super().score(items, progress=progress)
            for i, item in enumerate(items):
                if item.video_id == "s1_q10":  # what Method.score reports for a failed decode
                    report.scores[i] = report.decode_s[i] = report.model_s[i] = float("nan")
                    report.errors[i] = str(VideoDecodeError(f"{item.path}: cannot decode frame 3 (invalid data)"))
            return report

    METHODS.register("toy-fails-one", FailsOnOne)
    yield FailsOnOne
    METHODS.unregister("toy-fails-one")


def test_a_video_failing_while_scored_costs_its_score_only(tmp_path, toy_manifest, fails_on_one_video):
    s = BenchSettings(
        methods=["toy-fails-one"],
        datasets=["toy"],
        config="tiny",
        splits=3,
        out=tmp_path / "runs",
        device="cpu",
        progress=False,
    )
    metrics = BenchRunner(s, manifests={"toy": toy_manifest}).run()
    assert metrics["failed"] == {}
    entry = metrics["methods"]["toy-fails-one"]
    per_task = entry["results"]["toy -> toy"]["per_task"]
    assert sorted(per_task) == ["split_00", "split_01", "split_02"]
    tasks_with_it = [
        t
        for t, by_set in entry.get("failed_videos", {}).items()
        for rows in by_set.values()
        if any(r["video_id"] == "s1_q10" for r in rows)
    ]
    assert len(tasks_with_it) >= 1  # scene s1 is a test scene in at least one of 3 splits
    root = tmp_path / "runs" / "toy-intra-tiny" / "toy-fails-one"
    for task in tasks_with_it:
        result = json.loads((root / task / "result.json").read_text())
        (failure,) = result["failed_videos"]["toy"]
        assert failure["video_id"] == "s1_q10" and "cannot decode frame 3" in failure["reason"]
        stored = per_task[task]
        assert stored["n_failed"] == 1 and not math.isnan(stored["srcc"])
        preds = (root / task / "predictions.csv").read_text().splitlines()
        assert len(preds) - 1 == result["num_test"]["toy"] - 1  # metrics on the scored videos
        assert "s1_q10" not in "".join(preds)
    table = (tmp_path / "runs" / "toy-intra-tiny" / "results.md").read_text()
    assert f"toy-fails-one/{tasks_with_it[0]}: 1 test video(s) could not be scored" in table


def test_score_items_uses_the_score_report_when_the_method_has_one(toy_manifest):
    from types import SimpleNamespace

    class WithScore:
        def score(self, items, *, progress=False):
            assert progress is True
            return SimpleNamespace(
                scores=np.array([1.0, math.nan, 3.0]), errors=[None, "b.mp4: truncated", None]
            )

    items = toy_manifest.items[:3]
    scores, errors = score_items(WithScore(), items, progress=True)
    assert errors == [None, "b.mp4: truncated", None] and scores[2] == 3.0

    class NonFinite:
        def predict(self, items):
            return np.array([1.0, math.inf, 2.0])[: len(items)]

    _, errors = score_items(NonFinite(), items)
    assert errors[0] is None and "non-finite score (inf)" in errors[1] and str(items[1].path) in errors[1]


def test_all_videos_bad_is_a_dataset_error_naming_them(tmp_path, toy_manifest, toy_method):
    from vqa_core.errors import DatasetError

    bad = tmp_path / "empty.mp4"
    bad.write_bytes(b"")
    broken = Manifest("toy", [replace(i, path=bad) for i in toy_manifest.items[:4]])
    s = BenchSettings(
        methods=["toy-ridge"],
        datasets=["toy"],
        config="tiny",
        splits=1,
        out=tmp_path / "runs",
        device="cpu",
        progress=False,
    )
    with pytest.raises(DatasetError, match=r"none of its 4 videos can be used") as err:
        BenchRunner(s, manifests={"toy": broken}).run()
    assert "empty.mp4" in str(err.value)
    assert not (tmp_path / "runs").exists()  # refused before anything was written
