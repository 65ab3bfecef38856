"""The bench runner end to end with a real toy method: results, files, resume, pretrain cache."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from vqa_bench.identity import RunIdentityError
from vqa_bench.runner import BenchRunner, BenchSettings
from vqa_bench.store import RESULT_FILE


def settings(tmp_path: Path, **kw) -> BenchSettings:
    base = dict(
        methods=["toy-ridge"],
        datasets=["toy"],
        config="small",
        splits=2,
        out=tmp_path / "runs",
        device="cpu",
        progress=False,
    )
    base.update(kw)
    return BenchSettings(**base)


def run(s: BenchSettings, manifest) -> dict:
    return BenchRunner(s, manifests={"toy": manifest}).run()


def test_intra_run_writes_every_artifact_and_consistent_metrics(tmp_path, toy_manifest, toy_method):
    metrics = run(settings(tmp_path, splits=3), toy_manifest)
    root = tmp_path / "runs" / "toy-intra-small"
    for rel in (
        "run.json",
        "metrics.json",
        "results.md",
        "toy-ridge/config.yaml",
        "toy-ridge/cost.json",
        "toy-ridge/scatter.png",
        "toy-ridge/metrics.json",
    ):
        assert (root / rel).is_file(), rel
    assert toy_method.fit_calls == 3
    assert not (root / "toy-ridge" / "split_00" / "work").exists()  # finished: training state dropped
    entry = metrics["methods"]["toy-ridge"]
    res = entry["results"]["toy -> toy"]
    assert res["n_tasks"] == 3 and sorted(res["per_task"]) == ["split_00", "split_01", "split_02"]

    # Recompute each split's SRCC/PLCC-raw from the stored predictions with scipy directly.
    srccs = []
    for k in range(3):
        with open(root / "toy-ridge" / f"split_{k:02d}" / "predictions.csv", newline="") as fh:
            rows = list(csv.DictReader(fh))
        pred = np.array([float(r["pred"]) for r in rows])
        mos = np.array([float(r["mos"]) for r in rows])
        stored = res["per_task"][f"split_{k:02d}"]
        assert stored["srcc"] == pytest.approx(stats.spearmanr(pred, mos)[0], abs=1e-12)
        assert stored["plcc_raw"] == pytest.approx(stats.pearsonr(pred, mos)[0], abs=1e-12)
        assert stored["n_test"] == len(rows)
        srccs.append(stored["srcc"])
        # test items are never in train or val of the same split (scene grouping holds)
        result = json.loads((root / "toy-ridge" / f"split_{k:02d}" / RESULT_FILE).read_text())
        assert result["num_train"] + result["num_val"] + len(rows) == len(toy_manifest)
    assert res["aggregate"]["srcc"]["median"] == pytest.approx(float(np.median(srccs)))
    assert res["aggregate"]["srcc"]["std"] == pytest.approx(float(np.std(srccs, ddof=1)))
    # a ridge on sharpness statistics really learns compression strength
    assert res["aggregate"]["srcc"]["median"] > 0.5

    # params and FLOPs of the exposed model: Linear(4 -> 1) = 5 params, 2*4 = 8 FLOPs
    assert entry["cost"]["params"] == 5 and entry["cost"]["flops"] == 8
    run_info = json.loads((root / "run.json").read_text())
    assert run_info["run"]["task_seeds"] == {"split_00": 123, "split_01": 124, "split_02": 125}
    assert "torch" in run_info["versions"] and "vqa-core" in run_info["versions"]
    # the floating-point path is stated, as torch sees it (a baseline says what it was measured with)
    assert run_info["floating_point"]["torch_threads"] == torch.get_num_threads()
    assert run_info["floating_point"]["cpu_capability"] == torch.backends.cpu.get_cpu_capability()
    table = (root / "results.md").read_text()
    assert "| toy-ridge | toy -> toy | 3 |" in table


def _strip_times(metrics: dict) -> dict:
    out = {}
    for pair, res in metrics["methods"]["toy-ridge"]["results"].items():
        out[pair] = {
            t: {k: v for k, v in m.items() if not k.endswith("_seconds")} for t, m in res["per_task"].items()
        }
    return out


def test_interrupted_run_resumes_and_keeps_finished_splits(tmp_path, toy_manifest, toy_method):
    toy_method.interrupt_at_fit = 2  # dies while training split_01
    with pytest.raises(KeyboardInterrupt):
        run(settings(tmp_path, splits=3), toy_manifest)
    mdir = tmp_path / "runs" / "toy-intra-small" / "toy-ridge"
    assert (mdir / "split_00" / RESULT_FILE).is_file()
    assert not (mdir / "split_01" / RESULT_FILE).exists()
    first = (mdir / "split_00" / RESULT_FILE).stat().st_mtime_ns
    kept = (mdir / "split_00" / RESULT_FILE).read_text()

    toy_method.interrupt_at_fit = None
    toy_method.fit_calls = 0
    metrics = run(settings(tmp_path, splits=3), toy_manifest)
    assert toy_method.fit_calls == 2  # split_01 and split_02 only
    assert (mdir / "split_00" / RESULT_FILE).stat().st_mtime_ns == first
    assert (mdir / "split_00" / RESULT_FILE).read_text() == kept
    assert metrics["methods"]["toy-ridge"]["results"]["toy -> toy"]["n_tasks"] == 3

    # an uninterrupted run elsewhere gives the same numbers as the resumed one
    fresh = run(settings(tmp_path, splits=3, run_name="fresh"), toy_manifest)
    assert _strip_times(fresh) == _strip_times(metrics)


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_changed_config_is_refused_in_the_same_folder_and_redone_in_another(tmp_path, toy_manifest, toy_method):
    run(settings(tmp_path), toy_manifest)
    assert toy_method.fit_calls == 2
    root = tmp_path / "runs" / "toy-intra-small"
    before = _files(root)
    cfg = tmp_path / "other.yaml"
    cfg.write_text("frames: 5\n")
    with pytest.raises(RunIdentityError) as err:
        run(settings(tmp_path, config=str(cfg), run_name="toy-intra-small"), toy_manifest)
    message = str(err.value)
    assert str(root) in message and "config: 'small' there, 'other.yaml' now" in message
    assert "toy-ridge config hash" in message and "--run-name" in message
    assert toy_method.fit_calls == 2 and _files(root) == before  # nothing trained, nothing rewritten

    # the fingerprint (config hash) changed: in its own folder nothing is reused
    run(settings(tmp_path, config=str(cfg), run_name="other"), toy_manifest)
    assert toy_method.fit_calls == 4
    # the same file name with other contents: the label matches, the method's config hash does not
    cfg.write_text("frames: 6\n")
    with pytest.raises(RunIdentityError) as err:
        run(settings(tmp_path, config=str(cfg), run_name="other"), toy_manifest)
    assert "toy-ridge config hash" in str(err.value) and "config: " not in str(err.value)
    assert toy_method.fit_calls == 4


def test_pretraining_stage_is_built_once_and_reused_across_runs(tmp_path, toy_manifest, toy_method):
    run(settings(tmp_path, splits=2, run_name="one", keep_work=True), toy_manifest)
    assert (tmp_path / "runs" / "one" / "toy-ridge" / "split_01" / "work" / "fit.json").is_file()
    run(settings(tmp_path, splits=2, run_name="two"), toy_manifest)
    assert toy_method.stage_builds == 1
    from vqa_core.cache import cache_dir

    stages = [p for p in cache_dir("stages").iterdir() if p.is_dir()]  # the default: the cache root's
    assert len(stages) == 1 and stages[0].name.startswith("stats-")
    metrics = json.loads((tmp_path / "runs" / "two" / "metrics.json").read_text())
    assert metrics["methods"]["toy-ridge"]["pretrain"]["stats"]["reused"] is True
    # a reused stage counts at its build's seconds, so wall s is what a fresh run costs
    first = json.loads((tmp_path / "runs" / "one" / "metrics.json").read_text())["methods"]["toy-ridge"]
    entry = metrics["methods"]["toy-ridge"]
    assert first["pretrain"]["stats"]["seconds"] >= 0.02 and first["pretrain"]["stats"]["reused"] is False
    assert entry["pretrain"]["stats"]["seconds"] == pytest.approx(first["pretrain"]["stats"]["seconds"], abs=1e-3)
    results = [json.loads(p.read_text()) for p in (tmp_path / "runs" / "two" / "toy-ridge").glob(f"split_*/{RESULT_FILE}")]
    tasks = sum(r["fit_seconds"] + sum(r["predict_seconds"].values()) + r["interrupted_seconds"] for r in results)
    assert entry["wall_seconds"] == pytest.approx(tasks + entry["pretrain"]["stats"]["seconds"], abs=1e-2)


def test_cross_dataset_matrix(tmp_path, toy_manifest, toy_method):
    from vqa_core.datasets import Manifest

    half = len(toy_manifest.items) // 2
    a = Manifest("toy-a", toy_manifest.items[:half], group_by="scene")
    b = Manifest("toy-b", toy_manifest.items[half:], group_by="scene")
    s = settings(tmp_path, datasets=["toy-a", "toy-b"])
    metrics = BenchRunner(s, manifests={"toy-a": a, "toy-b": b}).run()
    assert metrics["run"]["protocol"] == "cross"
    results = metrics["methods"]["toy-ridge"]["results"]
    assert sorted(results) == ["toy-a -> toy-b", "toy-b -> toy-a"]
    assert results["toy-a -> toy-b"]["per_task"]["train_toy-a"]["n_test"] == len(b.items)


def test_lsvq_protocol_official_parts_and_zero_shot(tmp_path, toy_manifest, toy_method):
    from dataclasses import replace

    from vqa_core.datasets import Manifest

    parts = {
        0: "train",
        1: "train",
        2: "train",
        3: "train",
        4: "test",
        5: "test",
        6: "test_1080p",
        7: "test_1080p",
    }
    items = [replace(i, split=parts[int(i.extra["scene"][1:])]) for i in toy_manifest.items]
    lsvq = Manifest("lsvq", items, official_split=True, group_by="scene")
    zero = Manifest("konvid-1k", toy_manifest.items[:9])
    s = settings(tmp_path, datasets=["lsvq"])
    metrics = BenchRunner(s, manifests={"lsvq": lsvq}, zero_shot={"konvid-1k": zero}).run()
    assert metrics["run"]["protocol"] == "lsvq"
    results = metrics["methods"]["toy-ridge"]["results"]
    assert sorted(results) == ["lsvq -> konvid-1k", "lsvq -> lsvq_test", "lsvq -> lsvq_test_1080p"]
    assert results["lsvq -> lsvq_test"]["per_task"]["official"]["n_test"] == 6
    assert toy_method.fit_calls == 1


def test_failing_method_is_reported_and_others_still_run(tmp_path, toy_manifest, toy_method):
    from vqa_core.method import METHODS

    class Broken(toy_method):
        name = "broken-toy"

        def fit(self, *a, **k):
            raise RuntimeError("boom in fit")

    METHODS.register("broken-toy", Broken)
    try:
        metrics = run(settings(tmp_path, methods=["broken-toy", "toy-ridge"], splits=2), toy_manifest)
    finally:
        METHODS.unregister("broken-toy")
    assert "boom in fit" in metrics["failed"]["broken-toy"]
    assert "toy-ridge" in metrics["methods"]
    assert (tmp_path / "runs" / "toy-intra-small" / "broken-toy" / "error.txt").is_file()


def test_task_checkpoints_are_scoreable_and_cost_survives_full_resume(tmp_path, toy_manifest, toy_method):
    from vqa_core.method import Method

    first = run(settings(tmp_path, splits=2), toy_manifest)
    ckpt = tmp_path / "runs" / "toy-intra-small" / "toy-ridge" / "split_00" / "model.pt"
    loaded = Method.load(ckpt, device="cpu")
    preds = [r for r in _predictions(tmp_path / "runs" / "toy-intra-small" / "toy-ridge" / "split_00")]
    items = toy_manifest.select([r["video_id"] for r in preds])
    assert np.allclose(loaded.predict(items), [float(r["pred"]) for r in preds])
    toy_method.fit_calls = 0
    again = run(settings(tmp_path, splits=2), toy_manifest)  # everything finished: nothing refit
    assert toy_method.fit_calls == 0
    assert again["methods"]["toy-ridge"]["cost"] == first["methods"]["toy-ridge"]["cost"]


def _predictions(task_dir: Path) -> list[dict]:
    with open(task_dir / "predictions.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_methods_run_separately_into_one_folder_share_the_table(tmp_path, toy_manifest, toy_method):
    from vqa_core.method import METHODS

    class Other(toy_method):
        name = "toy-other"

    METHODS.register("toy-other", Other)
    try:
        run(settings(tmp_path), toy_manifest)
        both = run(settings(tmp_path, methods=["toy-other"]), toy_manifest)
        assert sorted(both["methods"]) == ["toy-other", "toy-ridge"]
        # different seed, so different splits: refused, never mixed in (nor overwriting toy-other)
        root = tmp_path / "runs" / "toy-intra-small"
        before = _files(root)
        with pytest.raises(RunIdentityError, match=r"seed: 123 there, 7 now") as err:
            run(settings(tmp_path, methods=["toy-other"], seed=7, run_name="toy-intra-small"), toy_manifest)
        assert "split membership" in str(err.value)
        assert _files(root) == before
        assert sorted(json.loads((root / "metrics.json").read_text())["methods"]) == ["toy-other", "toy-ridge"]
    finally:
        METHODS.unregister("toy-other")


def test_a_stage_built_by_the_runner_is_reused_by_a_plain_fit(tmp_path, toy_manifest, toy_method):
    run(settings(tmp_path, splits=1), toy_manifest)
    assert toy_method.stage_builds == 1
    method = toy_method("small", device="cpu")  # no runner: what a plain fit does
    [stage] = method.ensure_pretrained()
    assert stage.reused and toy_method.stage_builds == 1 and method.stage_folder == stage.folder


def test_the_cache_option_holds_the_stages(tmp_path, toy_manifest, toy_method):
    metrics = run(settings(tmp_path, splits=1, cache_dir=tmp_path / "mine"), toy_manifest)
    key = metrics["methods"]["toy-ridge"]["pretrain"]["stats"]["key"]
    assert (tmp_path / "mine" / key / ".complete").is_file()


def test_caveats_label_the_method_in_metrics_and_tables(tmp_path, toy_manifest, toy_method):
    from vqa_core.method import METHODS

    class Caveated(toy_method):
        name = "toy-caveat"

        def caveats(self) -> list[str]:
            return ["frozen random trunk"]

    METHODS.register("toy-caveat", Caveated)
    try:
        metrics = run(settings(tmp_path, methods=["toy-caveat", "toy-ridge"], splits=1), toy_manifest)
    finally:
        METHODS.unregister("toy-caveat")
    entry = metrics["methods"]["toy-caveat"]  # results stay keyed by the method name
    assert entry["caveats"] == ["frozen random trunk"] and entry["label"] == "toy-caveat [frozen random trunk]"
    assert "caveats" not in metrics["methods"]["toy-ridge"]
    table = (tmp_path / "runs" / "toy-intra-small" / "results.md").read_text()
    assert "| toy-caveat [frozen random trunk] | toy -> toy |" in table and "| toy-ridge | toy -> toy |" in table


def test_the_terminal_table_shows_the_caveat_label():
    from rich.console import Console

    from vqa_bench.report import rich_table

    metrics = {"methods": {"qasa": {"label": "qasa [CLIP random]", "results": {"d -> d": {"n_tasks": 1}}}}}
    console = Console(width=200, record=True)
    console.print(rich_table(metrics))
    assert "qasa [CLIP random]" in console.export_text()


def test_floating_point_path_records_the_variables_that_pin_it(monkeypatch):
    from vqa_bench.settings import floating_point_path

    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.delenv("MKL_CBWR", raising=False)
    monkeypatch.setenv("UNRELATED_VARIABLE", "x")
    env = floating_point_path()["env"]
    assert env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert "MKL_CBWR" not in env and "UNRELATED_VARIABLE" not in env
