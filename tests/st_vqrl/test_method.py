"""StVqrlMethod: tiny pretrain + probe + zero-shot, save/load of both scores, stage reuse, feature cache.

What every method must do (same video same score, load round trip, unreadable files, timings,
cost, goldens, DDP) is checked once for all in tests/test_method_contract.py.
"""

from __future__ import annotations

import numpy as np
import pytest

from st_vqrl import StVqrlConfig, StVqrlMethod
from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import ConfigError, WeightsUnavailableError
from vqa_core.method import Method, get_method, register_method
from vqa_core.testing import make_video

CRFS = (0, 30, 42, 51)


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """4 scenes x 4 versions (H.264 at rising CRF); scenes 0-1 train (and pretrain), 2 val, 3 test."""
    root = tmp_path_factory.mktemp("stvqrl")
    parts = {"train": [], "val": [], "test": []}
    for s in range(4):
        split = "train" if s < 2 else "val" if s == 2 else "test"
        for v, crf in enumerate(CRFS):
            path = make_video(
                root / split / f"sc{s}_v{v:02d}.mp4", num_frames=16, height=64, width=64, seed=s,
                options={"crf": str(crf)},
            )
            mos = 5.0 - crf / 13 + 0.05 * s
            parts[split].append(ManifestItem(f"sc{s}_v{v:02d}", path, mos, split, {"scene": f"sc{s}", "version": v}))
    parts["root"] = root
    return parts


def _config(data, **over) -> StVqrlConfig:
    overrides = {"pretrain.dataset": str(data["root"] / "train"), "pretrain.trainer.epochs": 1, **over}
    return load_config(StVqrlConfig, "tiny", overrides)


@pytest.fixture(scope="module")
def fitted(data, tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    method = StVqrlMethod(_config(data), device="cpu", cache_dir=work / "cache")
    history = method.fit(data["train"], data["val"], work / "run", progress=False)
    return method, history, work


def test_fit_predict_save_load(fitted, data, tmp_path):
    method, history, _ = fitted
    assert history["num_references"] == 2  # the pristine versions of the two train scenes
    assert history["alpha"] in method.config.eval.alphas
    scores = method.score_both(data["test"])
    assert np.all(np.isfinite(scores["probe"]))
    assert np.all((scores["zero_shot"] > 0) & (scores["zero_shot"] <= 1))
    assert np.array_equal(scores["zero_shot"], scores["zero_shot_projection"])  # the default space
    assert np.all((scores["zero_shot_backbone"] > 0) & (scores["zero_shot_backbone"] <= 1))
    backbone, (clips,) = method.cost_parts()["model"]
    assert backbone is method.backbone and backbone(clips).shape[:2] == (method.config.eval.num_clips, 128)

    register_method("stvqrl", StVqrlMethod)
    assert get_method("stvqrl") is StVqrlMethod
    path = method.save(tmp_path / "stvqrl.pt")
    loaded = Method.load(path, device="cpu")
    assert isinstance(loaded, StVqrlMethod)
    again = loaded.score_both(data["test"])
    np.testing.assert_allclose(again["probe"], scores["probe"], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(again["zero_shot"], scores["zero_shot"], rtol=1e-6, atol=1e-9)


def test_zero_shot_calibration_keeps_the_raw_ranking(fitted, data):
    """Mapping the zero-shot score to the MOS scale must neither saturate nor flip it."""
    from scipy import stats

    from vqa_core.method import ScoreCalibration

    method, _, _ = fitted
    scores = method.score_both(data["test"])
    raw, mos_scale = scores["zero_shot"], scores["zero_shot_mos"]
    assert len(set(np.round(mos_scale, 12))) == len(set(np.round(raw, 12)))  # nothing collapsed
    assert stats.spearmanr(raw, mos_scale)[0] == pytest.approx(1.0)
    # labels that fall with the score: the map stays increasing, spread matches the MOS
    raw = np.array([0.1, 0.2, 0.3, 0.4])
    mos = np.array([4.0, 3.0, 2.5, 1.0])
    cal = ScoreCalibration.fit_increasing(raw, mos, fallback="moments")
    out = np.asarray(cal.to_mos(raw))
    assert np.all(np.diff(out) > 0)
    assert out.mean() == pytest.approx(mos.mean()) and out.std() == pytest.approx(mos.std())
    # rising labels: plain least squares
    cal = ScoreCalibration.fit_increasing(raw, 2 * raw + 1, fallback="moments")
    np.testing.assert_allclose(cal.to_mos(raw), 2 * raw + 1)


def test_pretrain_stage_is_keyed_by_what_it_depends_on(data):
    a = StVqrlMethod(_config(data), device="cpu").pretrain_stages()[0]
    b = StVqrlMethod(_config(data, **{"eval.score": "zero_shot"}), device="cpu").pretrain_stages()[0]
    c = StVqrlMethod(_config(data, **{"pretrain.k": 2}), device="cpu").pretrain_stages()[0]
    assert a.name == "stvqrl" and a.key == b.key != c.key
    assert StVqrlMethod(_config(data, **{"pretrain.enabled": False}), device="cpu").pretrain_stages() == []


def test_reused_stage_is_not_trained_again(fitted, data, tmp_path):
    from st_vqrl.pretrain import ARTIFACT
    from vqa_core.stages import DONE_MARKER, stage_root

    method, _, work = fitted
    (stage,) = method.pretrain_stages()
    stage_folder = stage_root() / stage.key  # where the plain fit built it: the cache root's stages
    assert method.pretrained_artifact == stage_folder / ARTIFACT and (stage_folder / DONE_MARKER).is_file()
    built = (stage_folder / ARTIFACT).stat().st_mtime_ns
    other = StVqrlMethod(_config(data), device="cpu", cache_dir=work / "cache")
    other.use_pretrained("stvqrl", stage_folder)
    other.fit(data["train"], data["val"], tmp_path / "run2", progress=False)
    assert (stage_folder / ARTIFACT).stat().st_mtime_ns == built
    again = StVqrlMethod(_config(data), device="cpu", cache_dir=work / "cache")  # a plain fit finds it too
    again.fit(data["train"], data["val"], tmp_path / "run3", progress=False)
    assert again.pretrained_artifact == stage_folder / ARTIFACT
    assert (stage_folder / ARTIFACT).stat().st_mtime_ns == built
    np.testing.assert_allclose(other.predict(data["test"]), method.predict(data["test"]), rtol=1e-6, atol=1e-6)


def test_features_are_cached(fitted, data):
    method, _, work = fitted
    files = sorted((work / "cache").rglob("*.pt"))
    assert len(files) >= len(data["train"]) + len(data["val"]) + len(data["test"])
    stamps = {f: f.stat().st_mtime_ns for f in files}
    method.predict(data["test"])
    assert {f: f.stat().st_mtime_ns for f in files} == stamps
    assert sorted((work / "cache").rglob("*.pt")) == files


def test_random_init_and_errors(data, tmp_path):
    cfg = _config(data, **{"pretrain.enabled": False, "eval.cache_features": False, "eval.score": "zero_shot"})
    method = StVqrlMethod(cfg, device="cpu")
    no_refs = [it for it in data["train"] if it.extra["version"] != 0]
    with pytest.raises(ConfigError, match="reference_dir"):
        method.fit(no_refs, data["val"], tmp_path / "a", progress=False)
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video")
    extra = ManifestItem("broken", broken, 3.0, "train", {"scene": "x", "version": 1})
    method.fit([*data["train"], extra], [], tmp_path / "b", progress=False)  # no val: RidgeCV; broken dropped
    assert np.all(np.isfinite(method.predict(data["test"])))
    released = StVqrlMethod(_config(data, init_from=str(tmp_path / "missing.pth")), device="cpu")
    assert released.pretrain_stages() == []
    with pytest.raises(WeightsUnavailableError, match=r"missing\.pth"):
        released.fit(data["train"], data["val"], tmp_path / "c", progress=False)


def test_stage_statistics_reach_the_probe():
    """`eval.pool`: the probe input grows by the token spread, then by every stage's mean and std."""
    import torch

    from st_vqrl import StVqrlConfig
    from st_vqrl.method import StVqrlMethod
    from st_vqrl.pretrain import build_net
    from vqa_core.config import load_config

    cfg = load_config(StVqrlConfig, "tiny", {"pretrain.enabled": False})
    assert StVqrlConfig.PRESETS["tiny"].eval.pool == "stages"
    net = build_net(cfg, pretrained=False).eval()
    clips = torch.rand(2, 3, cfg.clip.clip_len, cfg.clip.size, cfg.clip.size)
    with torch.no_grad():
        tokens, stats = net.backbone.forward_stages(clips)
        assert torch.equal(tokens, net.backbone(clips))
    widths = [net.backbone.features[i][-1].norm1.normalized_shape[0] for i in range(0, len(net.backbone.features), 2)]
    assert stats.shape == (2, 2 * sum(widths))
    entry = {"tokens": torch.randn(8, net.backbone.out_channels), "projected": torch.randn(8, cfg.pretrain.proj_dim),
             "stages": stats}
    sizes = {}
    for pool in ("mean", "mean_std", "stages"):
        method = StVqrlMethod(load_config(StVqrlConfig, cfg, {"eval.pool": pool}), device="cpu", cache_dir=None)
        sizes[pool] = method._pooled([entry]).shape[1]
    c, d = net.backbone.out_channels, cfg.pretrain.proj_dim
    assert sizes == {"mean": c, "mean_std": 2 * (c + d), "stages": 2 * (c + d) + stats.shape[1]}
