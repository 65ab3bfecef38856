"""`vqa probe`: the lead's CLI command on top of vqa_core.video.probe."""

from __future__ import annotations

import json
from dataclasses import asdict

from vqa_core.cli import main
from vqa_core.testing import make_video
from vqa_core.video import probe


def test_cli_probe_json_and_errors(tmp_path, capsys):
    good = make_video(tmp_path / "good.mp4", num_frames=12, rotation=90)
    bad = tmp_path / "bad.mp4"
    bad.write_text("nope")
    assert main(["probe", str(good), "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    assert row["path"] == str(good)
    assert {k: row[k] for k in ("num_frames", "width", "height", "rotation")} == {
        "num_frames": 12, "width": 64, "height": 96, "rotation": 90
    }
    assert row == {"path": str(good), **asdict(probe(good))}
    assert main(["probe", str(good), str(bad)]) == 1
    out = capsys.readouterr()
    assert "num_frames=12" in out.out and str(bad) in out.err
