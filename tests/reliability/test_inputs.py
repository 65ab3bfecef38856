"""Bad labels, foreign checkpoints and hostile configs through `bench` and `vqa score`: refused
where they are read, with the file (and line) named, nothing executed (#16.4, #16.7)."""

from __future__ import annotations

import csv
import os

import pytest
import torch

RUN_SECONDS = 60.0  # a subprocess that imports torch (4-5 s on two busy cores), no training


def _with_mos(toy_csv, folder, value: str):
    """The toy CSV with the MOS of its 5th video replaced by `value`; (path, line, id)."""
    with open(toy_csv, newline="") as fh:
        rows = [{**r, "path": str(toy_csv.parent / r["path"])} for r in csv.DictReader(fh)]
    rows[4]["mos"] = value
    path = folder / f"mos_{value}.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path, 6, rows[4]["video_id"]  # line 1 is the header


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_mos_is_refused_at_read_time_with_file_and_line(cli, toy_csv, tmp_path, value):
    path, line, video_id = _with_mos(toy_csv, tmp_path, value)
    out = tmp_path / "runs"
    run = cli(
        f"MOS {value} in a CSV: bench",
        "bench",
        "--method",
        "toy-ridge",
        "--dataset",
        path,
        "--config",
        "tiny",
        "--splits",
        "2",
        "--device",
        "cpu",
        "--out",
        out,
        "--no-progress",
    )
    assert run.returncode == 1
    assert f"{path}:{line}: mos '{value}' is not a" in run.stderr and repr(video_id) in run.stderr, run.stderr
    assert not out.exists()  # refused before a run folder was made
    assert run.seconds < RUN_SECONDS


class _Payload:
    """Unpickling this runs a shell command; a safe loader must refuse it."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _foreign_checkpoint(folder, kind: str):
    """(path, marker): random bytes, or a pickle that would create `marker` if it were loaded."""
    marker, path = folder / "pwned", folder / "model.pt"
    if kind == "random bytes":
        path.write_bytes(os.urandom(8192))
    else:
        torch.save({"method": "toy-ridge", "state": _Payload(marker)}, path)
    return path, marker


KINDS = ["random bytes", "malicious pickle"]


@pytest.fixture(scope="module")
def foreign_runs(cli, good_video, tmp_path_factory):
    """kind -> (checkpoint path, marker, the `vqa score` run on it), run once for the two tests."""
    runs = {}
    for kind in KINDS:
        path, marker = _foreign_checkpoint(tmp_path_factory.mktemp(kind.replace(" ", "-")), kind)
        runs[kind] = (
            path,
            marker,
            cli(
                f"{kind} as --checkpoint: vqa score",
                "vqa",
                "score",
                good_video,
                "--checkpoint",
                path,
                "--device",
                "cpu",
                "--no-progress",
            ),
        )
    return runs


@pytest.mark.parametrize("kind", KINDS)
def test_a_foreign_checkpoint_is_refused_naming_it_and_never_executed(foreign_runs, kind):
    path, marker, run = foreign_runs[kind]
    assert run.returncode == 1
    assert str(path) in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert not marker.exists()
    assert run.seconds < RUN_SECONDS


@pytest.mark.parametrize("kind", KINDS)
def test_a_foreign_checkpoint_message_gives_no_unsafe_advice(foreign_runs, kind):
    path, _, run = foreign_runs[kind]
    assert f"{path} is not a vqa-zoo checkpoint" in run.stderr
    assert "weights_only" not in run.stderr


def test_a_yaml_python_tag_is_refused_naming_the_file_and_never_run(cli, toy_csv, tmp_path):
    marker = tmp_path / "pwned"
    config = tmp_path / "evil.yaml"
    config.write_text(f"frames: !!python/object/apply:os.system ['touch {marker}']\n")
    out = tmp_path / "runs"
    run = cli(
        "YAML !!python/object tag as --config: bench",
        "bench",
        "--method",
        "toy-ridge",
        "--dataset",
        toy_csv,
        "--config",
        config,
        "--splits",
        "2",
        "--device",
        "cpu",
        "--out",
        out,
        "--no-progress",
    )
    assert run.returncode == 1
    assert str(config) in run.stderr and "not valid YAML" in run.stderr, run.stderr
    assert not marker.exists()
    assert not out.exists()  # a config error leaves no run folder behind
    assert run.seconds < RUN_SECONDS
