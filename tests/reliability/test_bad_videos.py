"""Every kind of bad video through `vqa probe`, `vqa score` and `bench`: a named error in a few
seconds, never a crash, and never the end of a run that has good videos too (#16.1, #16.5)."""

from __future__ import annotations

import csv
import json
import shutil

PROBE_SECONDS = 10.0  # `vqa probe` loads no torch: one file is well under a second when idle
RUN_SECONDS = 60.0  # `vqa score` / `bench` import torch (4-5 s on two busy cores) and fit a toy model


def test_vqa_probe_names_the_file_and_the_cause(cli, bad_videos, bad_case, names_cause):
    path = bad_videos[bad_case]
    run = cli(f"{bad_case}: vqa probe", "vqa", "probe", path)
    assert run.returncode == 1
    assert str(path) in run.stderr and names_cause(run.stderr, bad_case), run.stderr
    assert "Traceback" not in run.stderr
    assert run.seconds < PROBE_SECONDS


def test_vqa_probe_json_reports_every_error_as_json(cli, bad_videos, good_video, names_cause):
    cases = sorted(bad_videos)
    paths = [good_video, *(bad_videos[c] for c in cases)]
    run = cli("all bad files: vqa probe --json", "vqa", "probe", "--json", *paths)
    assert run.returncode == 1 and run.stderr == ""
    rows = [json.loads(line) for line in run.stdout.splitlines()]
    assert [r["path"] for r in rows] == [str(p) for p in paths]
    assert rows[0]["num_frames"] == 16
    for case, row in zip(cases, rows[1:]):
        assert set(row) == {"path", "error"} and names_cause(row["error"], case), (case, row)
    assert run.seconds < PROBE_SECONDS


def test_vqa_probe_warns_about_a_truncated_file(cli, truncated_video):
    run = cli("truncated (index in front): vqa probe", "vqa", "probe", truncated_video)
    assert run.returncode == 0
    assert f"{truncated_video}: warning:" in run.stderr and "declares 64 frames" in run.stderr
    assert run.seconds < PROBE_SECONDS


def test_vqa_score_scores_the_good_videos_and_lists_every_bad_one(
    cli, bad_videos, good_video, truncated_video, checkpoint, tmp_path, names_cause
):
    folder = tmp_path / "clips"
    folder.mkdir()
    for path in [good_video, truncated_video, *bad_videos.values()]:
        if path.exists():
            shutil.copy(path, folder / path.name)
    out = tmp_path / "scores.csv"
    run = cli(
        "1 good + 1 truncated + every bad file: vqa score",
        "vqa",
        "score",
        folder,
        bad_videos["missing"],
        "--checkpoint",
        checkpoint,
        "--out",
        out,
        "--device",
        "cpu",
        "--no-progress",
    )
    assert run.returncode == 0, run.stderr
    with open(out, newline="") as fh:
        rows = {row["path"]: row for row in csv.DictReader(fh)}
    assert rows[str(folder / good_video.name)]["status"] == "ok"
    truncated = rows[str(folder / truncated_video.name)]
    assert (
        truncated["status"] == "ok" and "declares 64 frames" in truncated["reason"]
    )  # scored, with a warning
    for case, path in bad_videos.items():
        where = str(path) if case == "missing" else str(folder / path.name)
        assert rows[where]["status"] == "skipped" and names_cause(rows[where]["reason"], case), (
            case,
            rows[where],
        )
        assert where in run.stderr  # the skipped list names every file
    assert f"skipped {len(bad_videos)} file(s)" in run.stderr
    assert run.seconds < RUN_SECONDS


def test_bench_on_a_csv_with_every_bad_video_finishes_and_reports_them(
    cli, bad_videos, truncated_video, toy_csv, tmp_path, names_cause
):
    data = tmp_path / "data.csv"
    with open(toy_csv, newline="") as fh:
        rows = [{**r, "path": str(toy_csv.parent / r["path"])} for r in csv.DictReader(fh)]
    fields = list(rows[0])
    for k, (_, path) in enumerate(sorted(bad_videos.items())):
        rows.append(
            {
                **{f: "" for f in fields},
                "video_id": f"bad{k}",
                "path": str(path),
                "mos": "3.0",
                "scene": f"bad{k}",
            }
        )
    rows.append(
        {
            **{f: "" for f in fields},
            "video_id": "cut",
            "path": str(truncated_video),
            "mos": "2.0",
            "scene": "cut",
        }
    )
    with open(data, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fields)
        writer.writeheader()
        writer.writerows(rows)
    out = tmp_path / "runs"
    run = cli(
        "every bad video in a user's CSV: bench",
        "bench",
        "--method",
        "toy-ridge",
        "--dataset",
        data,
        "--group-by",
        "scene",
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
    assert run.returncode == 0, run.stderr
    n_bad, n_all = len(bad_videos), len(rows)
    assert f"bench: {n_bad} of {n_all} videos left out" in run.stderr
    metrics = json.loads((out / "data-intra-tiny" / "metrics.json").read_text())
    left_out = {r["video_id"]: r for r in metrics["videos_left_out"]["videos"]}
    for k, (case, path) in enumerate(sorted(bad_videos.items())):
        row = left_out[f"bad{k}"]
        assert row["path"] == str(path) and names_cause(row["reason"], case), (case, row)
    assert [n["video_id"] for n in metrics["videos_left_out"]["notes"]] == ["cut"]  # kept, with its note
    assert metrics["methods"]["toy-ridge"]["results"]["data -> data"]["n_tasks"] == 2
    table = (out / "data-intra-tiny" / "results.md").read_text()
    assert all(str(p) in table for p in bad_videos.values())
    assert run.seconds < RUN_SECONDS
