"""`bench` through its main(argv): help, errors, a CSV dataset, baselines and the regression check."""

from __future__ import annotations

import json

import pytest

from vqa_bench.cli import main
from vqa_bench.regression import compare, make_baseline
from vqa_bench.table import baselines_table
from vqa_core.errors import ConfigError


@pytest.fixture
def toy_csv(tmp_path, toy_manifest):
    path = tmp_path / "data" / "toy.csv"
    toy_manifest.to_csv(path)
    return path


def bench(tmp_path, toy_csv, *extra: str) -> int:
    return main(
        [
            "--method",
            "toy-ridge",
            "--dataset",
            str(toy_csv),
            "--group-by",
            "scene",
            "--config",
            "tiny",
            "--splits",
            "2",
            "--device",
            "cpu",
            "--out",
            str(tmp_path / "runs"),
            "--no-progress",
            *extra,
        ]
    )


def test_help_explains_protocols_and_output(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for words in ("--check-regression", "intra", "lsvq", "cross", "resumes", "--splits", "--device"):
        assert words in out


def test_unknown_method_is_a_clear_error(tmp_path, toy_csv, toy_method, capsys):
    code = main(["--method", "toy-ridg", "--dataset", str(toy_csv), "--out", str(tmp_path), "--no-progress"])
    assert code == 1
    err = capsys.readouterr().err
    assert "unknown method 'toy-ridg'" in err and "toy-ridge" in err


def test_missing_data_root_names_the_dataset(tmp_path, toy_method, capsys):
    assert (
        main(["--method", "toy-ridge", "--dataset", "konvid-1k", "--out", str(tmp_path), "--no-progress"])
        == 1
    )
    assert "konvid-1k" in capsys.readouterr().err


def test_interrupt_exits_130_and_rerun_resumes(tmp_path, toy_csv, toy_method, capsys):
    toy_method.interrupt_at_fit = 2
    assert bench(tmp_path, toy_csv) == 130
    assert "rerun the same command to resume" in capsys.readouterr().err
    toy_method.interrupt_at_fit = None
    toy_method.fit_calls = 0
    assert bench(tmp_path, toy_csv) == 0
    assert toy_method.fit_calls == 1
    assert "finished earlier, kept" in capsys.readouterr().err


def test_baseline_written_then_checked_pass_and_fail(tmp_path, toy_csv, toy_method, capsys):
    baseline = tmp_path / "baselines" / "toy-tiny.json"
    assert bench(tmp_path, toy_csv, "--write-baseline", str(baseline)) == 0
    data = json.loads(baseline.read_text())
    assert data["tolerance"] == {"srcc": 0.02, "plcc": 0.02}
    assert data["run"]["dataset"] == "toy" and data["run"]["splits"] == 2

    # same settings, fresh run folder: the check passes
    assert bench(tmp_path, toy_csv, "--run-name", "again", "--check-regression", str(baseline)) == 0
    assert "PASS" in capsys.readouterr().out

    # a baseline 0.05 better in SRCC than what the code does now: the check fails with a diff
    worse = json.loads(baseline.read_text())
    agg = worse["methods"]["toy-ridge"]["results"]["toy -> toy"]["aggregate"]["srcc"]
    agg["median"] += 0.05
    shifted = tmp_path / "shifted.json"
    shifted.write_text(json.dumps(worse))
    assert bench(tmp_path, toy_csv, "--run-name", "third", "--check-regression", str(shifted)) == 1
    out = capsys.readouterr()
    assert "FAIL" in out.out and "-0.0500" in out.out and "REGRESSION" in out.err

    table = baselines_table(baseline.parent)
    assert "| toy-ridge |" in table and "toy -> toy (tiny, intra)" in table
    assert "toy -> toy (tiny, intra): CI anchor, 2 splits |" in table  # a tiny run is not a result


def test_compare_refuses_different_settings_and_flags_missing_methods():
    fresh = {"run": {"dataset": "demo", "protocol": "intra", "config": "tiny", "splits": 2}, "methods": {}}
    base = make_baseline(
        {
            "run": {"dataset": "demo", "protocol": "intra", "config": "tiny", "splits": 2},
            "methods": {
                "m": {
                    "results": {
                        "demo -> demo": {"aggregate": {"srcc": {"median": 0.8}, "plcc": {"median": 0.7}}}
                    }
                }
            },
        }
    )
    report = compare(fresh, base)
    assert not report.ok and len(report.failures) == 2 and "was not run" in report.notes[0]
    assert "missing" in report.to_markdown()
    with pytest.raises(ConfigError, match="splits"):
        compare({**fresh, "run": {**fresh["run"], "splits": 3}}, base)


def test_compare_tolerance_boundary():
    def metrics(s):
        return {
            "run": {"dataset": "d", "protocol": "intra", "config": "tiny", "splits": 2},
            "methods": {
                "m": {"results": {"p": {"aggregate": {"srcc": {"median": s}, "plcc": {"median": 0.5}}}}}
            },
        }

    base = make_baseline(metrics(0.80))
    assert compare(metrics(0.82), base).ok  # exactly at the tolerance: accepted
    assert compare(metrics(0.78), base).ok
    assert not compare(metrics(0.7799), base).ok
    assert compare(metrics(0.70), base, tolerance={"srcc": 0.2}).ok


def test_one_sided_baseline_fails_only_on_a_drop_and_checks_the_minimum():
    def metrics(s, p=0.5):
        return {
            "run": {"dataset": "d", "protocol": "intra", "config": "tiny", "splits": 2},
            "methods": {
                "m": {"results": {"p": {"aggregate": {"srcc": {"median": s}, "plcc": {"median": p}}}}}
            },
        }

    base = make_baseline(metrics(0.60), {"srcc": 0.05, "plcc": 0.05}, one_sided=True, minimum={"srcc": 0.4},
                         note="measured spread 0.02")  # fmt: skip
    assert base["one_sided"] is True and base["minimum"] == {"srcc": 0.4}
    assert base["tolerance_note"] == "measured spread 0.02"
    assert compare(metrics(0.90), base).ok  # a method that gets better never fails
    assert compare(metrics(0.55), base).ok  # a drop inside the tolerance
    report = compare(metrics(0.54), base)  # a drop beyond it
    assert [c.metric for c in report.failures] == ["srcc"] and ">= -0.050" in report.to_markdown()
    low = make_baseline(metrics(0.42), {"srcc": 0.05}, one_sided=True, minimum={"srcc": 0.4})
    report = compare(metrics(0.39), low)  # inside the tolerance, but below the absolute minimum
    assert [(c.kind, c.metric) for c in report.failures] == [("minimum", "srcc")]
    assert ">= 0.400" in report.to_markdown()


def test_measured_tolerance_is_per_method_and_overrides_the_global_one():
    from vqa_bench.regression import measured_tolerance

    def metrics(a, b):
        run = {"dataset": "d", "protocol": "intra", "config": "tiny", "splits": 2, "command": "bench x"}
        agg = lambda s: {"results": {"p": {"aggregate": {"srcc": {"median": s}, "plcc": {"median": 0.5}}}}}  # noqa: E731
        return {"run": run, "methods": {"steady": agg(a), "chaotic": agg(b)}}

    per, note = measured_tolerance(metrics(0.60, 0.50), [metrics(0.60, 0.47), metrics(0.60, 0.43)], {"srcc": 0.02, "plcc": 0.02}, 2.0)
    assert per["steady"] == {"srcc": 0.02, "plcc": 0.02}  # no difference: the floor
    assert per["chaotic"]["srcc"] == 0.14  # 2 x 0.07
    assert "chaotic srcc 0.070" in note and "steady srcc 0.000" in note
    kept = metrics(0.60, 0.47) | {"source": "the CI machine's log, transcribed"}
    _, note = measured_tolerance(metrics(0.60, 0.50), [kept])
    assert "the CI machine's log, transcribed" in note and "bench x" not in note  # a kept run says where it came from
    base = make_baseline(metrics(0.60, 0.50), {"srcc": 0.02, "plcc": 0.02}, one_sided=True, method_tolerance=per)
    assert compare(metrics(0.59, 0.37), base).ok  # chaotic may drop by its own measured 0.14
    report = compare(metrics(0.57, 0.37), base)  # steady may not drop by 0.03
    assert [(c.method, c.metric) for c in report.failures] == [("steady", "srcc")]
    assert not compare(metrics(0.60, 0.35), base).ok
    other = metrics(0.6, 0.5)
    other["run"]["splits"] = 3
    with pytest.raises(ConfigError, match="settings differ"):
        measured_tolerance(metrics(0.6, 0.5), [other])


def test_spread_from_needs_a_finished_run_and_a_baseline_to_write(tmp_path, capsys):
    assert main(["--method", "sharpness", "--dataset", "demo", "--spread-from", str(tmp_path)]) == 1
    assert "--write-baseline" in capsys.readouterr().err
    argv = ["--method", "sharpness", "--dataset", "demo", "--write-baseline", str(tmp_path / "b.json"),
            "--spread-from", str(tmp_path / "nothing")]  # fmt: skip
    assert main(argv) == 1
    assert "no metrics.json" in capsys.readouterr().err


def test_table_without_baselines_is_an_error(tmp_path, capsys):
    assert main(["--table", str(tmp_path)]) == 1
    assert "no baseline" in capsys.readouterr().err


def test_roots_of_other_datasets_are_lsvq_zero_shot_sets():
    from pathlib import Path

    from vqa_bench.cli import resolve_roots

    roots, zs = resolve_roots(["lsvq=/d/L", "konvid-1k=/d/K"], ["live-vqc=/d/V"], ["lsvq"], "auto")
    assert roots == {"lsvq": Path("/d/L")}
    assert zs == {"konvid-1k": Path("/d/K"), "live-vqc": Path("/d/V")}
    assert resolve_roots(["/d/K"], [], ["konvid-1k"], "auto")[0] == {"konvid-1k": Path("/d/K")}
    with pytest.raises(ConfigError, match="not in --dataset"):
        resolve_roots(["live-vqc=/d/V"], [], ["konvid-1k"], "auto")
    with pytest.raises(ConfigError, match="NAME=DIR"):
        resolve_roots(["/a", "/b"], [], ["konvid-1k", "live-vqc"], "cross")


def test_method_all_means_every_registered_method(toy_method):
    from vqa_bench.cli import _methods
    from vqa_core.method import list_methods

    assert _methods(["all"]) == list_methods() and "toy-ridge" in _methods(["all"])
    assert _methods(["toy-ridge,str", "toy-ridge"]) == ["toy-ridge", "str"]
    with pytest.raises(ConfigError, match="no method given"):
        _methods(None)
