"""`vqa score` on a saliency method (issue #18): decode and model seconds filled for every video,
and no DataLoader warning about more workers than this process's CPUs."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import torch

from vqa_core.cli import main as vqa_main
from vqa_core.config import load_config
from vqa_core.method import get_method
from vqa_core.testing import make_video
from vqa_core.train import predict_dataset
from vqa_core.train.inference import available_cpus


def test_vqa_score_fills_dagr_timings_without_a_worker_warning(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("VQA_ZOO_CACHE", str(tmp_path / "cache"))
    cls = get_method("dagr")
    too_many = available_cpus() + 2  # the presets ask for 4 workers; this machine may have fewer CPUs
    method = cls(load_config(cls.config_class, "tiny", {"trainer.num_workers": too_many}), device="cpu")
    method.init_for_scoring(seed=0)
    ckpt = method.save(tmp_path / "dagr.pt")
    videos = [make_video(tmp_path / f"v{i}.mp4", num_frames=12, height=48, width=64, seed=i) for i in range(2)]
    out = tmp_path / "scores.csv"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc = vqa_main(["score", *map(str, videos), "--checkpoint", str(ckpt), "--no-progress", "--out", str(out)])
    assert rc == 0
    assert not [w for w in caught if "worker" in str(w.message)], [str(w.message) for w in caught]
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 2 and all(r["status"] == "ok" for r in rows)
    for row in rows:
        decode, model, total = float(row["decode_s"]), float(row["model_s"]), float(row["total_s"])
        assert decode > 0 and model > 0 and total >= decode


def test_predict_dataset_caps_workers_at_the_cpus_available() -> None:
    data = [torch.full((2,), float(i)) for i in range(6)]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = predict_dataset(
            torch.nn.Identity(), data, lambda m, b: {"x": m(b)}, batch_size=2, num_workers=available_cpus() + 3
        )
    assert not [w for w in caught if "worker" in str(w.message)], [str(w.message) for w in caught]
    np.testing.assert_array_equal(out["x"][:, 0], np.arange(6))
