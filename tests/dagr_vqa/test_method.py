"""StrMethod / DagrMethod end to end on tiny generated videos: fit, predict, save/load, caches."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from dagr_vqa.method import DagrMethod, StrMethod
from saliency_core import model as saliency_model_module
from vqa_core.datasets import ManifestItem
from vqa_core.errors import VideoDecodeError, VqaError
from vqa_core.method import Method, register_method
from vqa_core.sampling import uniform_indices
from vqa_core.testing import make_video

NUM_FRAMES = 12


def _items(root: Path, n: int) -> list[ManifestItem]:
    """n different scenes, increasingly compressed; the proxy MOS falls with the CRF."""
    items = []
    for i in range(n):
        crf = 8 + 6 * i
        path = make_video(
            root / f"clip{i}.mp4",
            num_frames=NUM_FRAMES,
            height=48,
            width=64,
            seed=i,
            options={"crf": str(crf)},
        )
        items.append(ManifestItem(video_id=f"clip{i}", path=path, mos=float(100 - crf), split="train"))
    return items


def _tiny_saliency_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return saliency_model_module.build_model("tiny")


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[ManifestItem]:
    return _items(tmp_path_factory.mktemp("videos"), 8)


@pytest.fixture(scope="module")
def fitted(
    videos: list[ManifestItem], tmp_path_factory: pytest.TempPathFactory
) -> tuple[DagrMethod, dict, Path]:
    root = tmp_path_factory.mktemp("dagr")
    method = DagrMethod("tiny", device="cpu", cache_dir=root / "cache")
    method.use_saliency_model(_tiny_saliency_model())
    history = method.fit(videos[:4], videos[4:], root / "work", progress=False)
    return method, history, root


def test_fit_selects_on_validation(fitted) -> None:
    _, history, root = fitted
    assert history["best_epoch"] in (1, 2)
    assert set(history["val_metrics"]) >= {"srcc", "plcc"}
    assert history["val_metrics"]["n"] == 4  # every validation item scored once
    assert (root / "work" / "train" / "best.pt").is_file()


def test_same_video_scores_the_same_twice(fitted, videos) -> None:
    method, _, _ = fitted
    first = method.predict([videos[0], videos[0]])
    again = method.predict([videos[0].path])
    assert first[0] == pytest.approx(first[1], abs=1e-6)
    assert first[0] == pytest.approx(again[0], abs=1e-6)


def test_different_videos_score_differently(fitted, videos) -> None:
    method, _, _ = fitted
    scores = method.predict(videos)
    assert scores.shape == (8,)
    assert np.isfinite(scores).all()
    assert len(np.unique(np.round(scores, 6))) == 8


def test_maps_are_cached_at_the_rgb_frame_indices(fitted, videos) -> None:
    method, _, _ = fitted
    size = (method.config.data.height, method.config.data.width)
    rgb_indices = [int(i) for i in uniform_indices(NUM_FRAMES, method.config.data.num_frames)]
    assert all(method._maps.has(v.path, rgb_indices, size) for v in videos)
    assert not method._maps.has(videos[0].path, list(range(len(rgb_indices))), size)  # not "the first T maps"


def test_checkpoint_round_trip_needs_nothing_else(fitted, videos, tmp_path) -> None:
    method, _, _ = fitted
    register_method("dagr", DagrMethod)
    path = method.save(tmp_path / "dagr-tiny.pt")
    loaded = Method.load(path, device="cpu")
    assert isinstance(loaded, DagrMethod)
    loaded.cache_dir = tmp_path / "fresh-cache"  # maps recomputed from the stored saliency model
    np.testing.assert_allclose(loaded.predict(videos[:3]), method.predict(videos[:3]), rtol=1e-5, atol=1e-5)


def test_predict_names_an_unreadable_file(fitted, tmp_path) -> None:
    method, _, _ = fitted
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    with pytest.raises(VideoDecodeError, match=r"broken\.mp4"):
        method.predict([bad])


def test_untrained_method_refuses_to_predict(videos) -> None:
    with pytest.raises(VqaError, match="not trained"):
        StrMethod("tiny", device="cpu").predict(videos[:1])


def test_frozen_backbone_features_are_cached_and_reused(videos, tmp_path) -> None:
    overrides = {
        "saliency.enabled": False,
        "fit.freeze_backbone": True,
        "fit.cache_features": True,
        "fit.augment": False,
        "trainer.epochs": 1,
    }
    from vqa_core.config import load_config

    cfg = load_config(StrMethod.config_class, "tiny", overrides)
    first = StrMethod(cfg, device="cpu", cache_dir=tmp_path / "cache")
    first.fit(videos[:4], videos[4:], tmp_path / "run1", progress=False)
    files = sorted((tmp_path / "cache" / "features").rglob("*.pt"))
    assert len(files) == 8
    stamps = {f: f.stat().st_mtime_ns for f in files}

    second = StrMethod(cfg, device="cpu", cache_dir=tmp_path / "cache")
    second.fit(videos[:4], videos[4:], tmp_path / "run2", progress=False)
    assert sorted((tmp_path / "cache" / "features").rglob("*.pt")) == files
    assert all(f.stat().st_mtime_ns == t for f, t in stamps.items())

    # the trunk stayed frozen: identical to a fresh random-init trunk built from the same seed
    torch.manual_seed(cfg.trainer.seed)
    reference = second._new_model()
    for (name, a), b in zip(
        second.model.spatial.state_dict().items(), reference.spatial.state_dict().values()
    ):
        assert torch.equal(a, b), name
    # and the cached path scores the same as the end-to-end network
    scores = second.predict(videos[:3])
    assert np.isfinite(scores).all()


def test_feature_key_depends_on_saliency_settings(videos, tmp_path) -> None:
    method = DagrMethod("tiny", device="cpu", cache_dir=tmp_path)
    method.use_saliency_model(_tiny_saliency_model(), identity="sal-a")
    base = method._feature_settings()
    method.config.saliency.alpha = 0.9
    assert method._feature_settings() != base
    method.config.saliency.alpha = 0.5
    method.use_saliency_model(_tiny_saliency_model(), identity="sal-b")
    assert method._feature_settings() != base


def test_saliency_stage_is_keyed_by_its_config() -> None:
    method = DagrMethod("tiny", device="cpu")
    stages = method.pretrain_stages()
    assert [s.name for s in stages] == ["saliency"]
    other = DagrMethod("small", device="cpu").pretrain_stages()[0]
    assert other.key != stages[0].key
    off = DagrMethod("tiny", device="cpu")
    off.config.saliency.enabled = False
    assert off.pretrain_stages() == []


@pytest.mark.slow
def test_ddp_validation_covers_every_item_once(videos, tmp_path) -> None:
    """Two CPU ranks under torchrun (gloo): validation is gathered, each item scored exactly once."""
    import subprocess
    import sys

    script = Path(__file__).with_name("ddp_fit_script.py")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = tmp_path / "ddp"
    paths = [str(v.path) for v in videos]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        str(script),
        str(out),
        *paths,
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = (out / "result.txt").read_text().split()
    assert result[0] == "val_n=4"
    assert result[1] == "pred_n=8"


def test_example_input_runs_through_the_network(fitted) -> None:
    method, _, _ = fitted
    frames, maps = method.example_input()
    assert frames.shape == (1, 4, 3, 64, 96)
    assert maps is not None and maps.shape == (1, 4, 64, 96)
    with torch.no_grad():
        assert method.model(frames, maps).shape == (1,)
