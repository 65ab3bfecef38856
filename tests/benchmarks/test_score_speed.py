"""`benchmarks/score_speed.py --quick` end to end: one floor and one tiny learned method with
saliency, on the generated 2 s 240p clip, against the two references measured in the same run."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "score_speed.py"


def test_quick_run_writes_every_field_with_positive_finite_ratios(tmp_path: Path) -> None:
    out = tmp_path / "speed.json"
    cmd = [sys.executable, str(SCRIPT), "--quick", "--methods", "sharpness,dagr", "--out", str(out)]
    env = dict(os.environ, VQA_ZOO_CACHE=str(tmp_path / "cache"))
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    assert out.with_suffix(".md").read_text().count("\n| 2s-240p |") == 4

    m = result["machine"]
    assert m["cpu"] and m["cores"] >= 1 and m["torch"] and len(m["load_before"]) == len(m["load_after"]) == 3
    assert {"vqa-core", "dagr-vqa", "vqa-floors"} <= set(m["packages"])
    assert result["repeats"] == 1 and set(result["clips"]) == {"2s-240p"}
    assert result["allocator"] in ("reuse", "system")  # vqa_core.allocator applied as `vqa score` does
    assert f"allocator {result['allocator']}" in out.with_suffix(".md").read_text()
    assert {"clips_s", "build_s", "2s-240p_s"} <= set(result["phases"])

    rows = {r["job"]: r for r in result["rows"]}
    assert set(rows) == {"full-decode", "fastervqa", "sharpness/tiny", "dagr/tiny"}
    for row in rows.values():
        assert len(row["runs"]) == 1
        for key in ("wall_s", "decode_s", "x_full_decode", "x_fastervqa"):
            assert math.isfinite(row[key]) and row[key] > 0, (row["job"], key, row[key])
        assert row["saliency_s"] >= 0 and row["network_s"] >= 0
    assert rows["full-decode"]["x_full_decode"] == 1.0 and rows["fastervqa"]["x_fastervqa"] == 1.0
    assert rows["dagr/tiny"]["saliency_s"] > 0 and rows["dagr/tiny"]["network_s"] > 0  # the UNet3D ran
    assert rows["sharpness/tiny"]["saliency_s"] == 0
    for job in ("sharpness/tiny", "dagr/tiny"):  # `vqa score` end to end, against its own decode + model
        e2e = rows[job]["e2e"]
        assert e2e["wall_s"] >= e2e["decode_plus_model_s"] > 0 and math.isfinite(e2e["ratio"]) and e2e["ratio"] >= 1
    assert rows["full-decode"]["e2e"] == {} and rows["fastervqa"]["e2e"] == {}
