"""ScMethod on tiny generated videos: the loss wiring, validation selection, map sources.

What every method must do (same video same score, load round trip, unreadable files, timings,
cost, goldens, DDP) is checked once for all in tests/test_method_contract.py.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from saliency_core import model as saliency_model_module
from saliency_core import write_maps
from sc_vqa import contrastive_loss
from sc_vqa.data import OnTheFlyMaps
from sc_vqa.method import ContrastiveTask, ScMethod
from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import VqaError
from vqa_core.sampling import uniform_indices
from vqa_core.testing import make_video
from vqa_core.video import read_clip

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
        items.append(
            ManifestItem(video_id=f"clip{i}", path=path, mos=float(100 - crf), split="train", extra={})
        )
    return items


def _tiny_saliency_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return saliency_model_module.build_model("tiny")


def _naive_nt_xent(z1: np.ndarray, z2: np.ndarray, tau: float) -> float:
    """SimCLR's NT-Xent written out per anchor, in float64, as an independent reference."""
    z = np.concatenate([z1, z2]).astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    n, b = len(z), len(z1)
    total = 0.0
    for i in range(n):
        partner = (i + b) % n
        sims = [math.exp(float(z[i] @ z[k]) / tau) for k in range(n) if k != i]
        total += -math.log(math.exp(float(z[i] @ z[partner]) / tau) / sum(sims))
    return total / n


# --------------------------------------------------------------------------- the loss


def test_loss_is_mse_plus_lambda_nt_xent() -> None:
    torch.manual_seed(0)
    pred, target = torch.randn(4), torch.randn(4)
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    ntx = _naive_nt_xent(z1.numpy(), z2.numpy(), 0.1)
    mse = float(((pred - target) ** 2).mean())
    for lam in (0.0, 0.1, 1.0):
        loss, logs = contrastive_loss(pred, z1, z2, target, lam, 0.1)
        assert float(loss) == pytest.approx(mse + lam * ntx, rel=1e-5)
        assert logs["nt_xent"] == pytest.approx(ntx, rel=1e-5)
        assert logs["mse"] == pytest.approx(mse, rel=1e-5)


def test_training_step_feeds_both_views_to_nt_xent() -> None:
    """The task's loss on a two-view batch is MSE on the mean embedding + lambda * NT-Xent(view1, view2)."""
    method = ScMethod("tiny", device="cpu")
    loss_cfg = method.config.loss
    task = ContrastiveTask(method.new_network, loss_cfg.contrastive_weight, loss_cfg.tau)
    torch.manual_seed(0)
    model = task.build_model().eval()  # eval: no dropout, so the reference below sees the same embeddings
    batch = {
        "frames": torch.rand(3, 2, 4, 3, 48, 64),
        "maps": torch.rand(3, 2, 4, 48, 64),
        "target": torch.randn(3),
    }
    loss, logs = task.training_step(model, batch)
    with torch.no_grad():
        z1 = model.embed(batch["frames"][:, 0], batch["maps"][:, 0])
        z2 = model.embed(batch["frames"][:, 1], batch["maps"][:, 1])
        mse = float(((model.regress((z1 + z2) / 2) - batch["target"]) ** 2).mean())
    ntx = _naive_nt_xent(z1.numpy(), z2.numpy(), method.config.loss.tau)
    assert logs["nt_xent"] == pytest.approx(ntx, rel=1e-4)
    assert float(loss.detach()) == pytest.approx(mse + 0.1 * ntx, rel=1e-4)

    # with lambda = 0 the contrastive term sends no gradient: only MSE trains the encoder
    loss.backward()
    with_ntx = model.encoder.embed.weight.grad.clone()
    model.zero_grad()
    no_ntx = ContrastiveTask(method.new_network, 0.0, loss_cfg.tau)
    loss0, _ = no_ntx.training_step(model, batch)
    assert float(loss0.detach()) == pytest.approx(mse, rel=1e-4)
    loss0.backward()
    assert not torch.allclose(with_ntx, model.encoder.embed.weight.grad)


# --------------------------------------------------------------------------- fit and predict


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> list[ManifestItem]:
    return _items(tmp_path_factory.mktemp("videos"), 8)


@pytest.fixture(scope="module")
def fitted(videos, tmp_path_factory) -> tuple[ScMethod, dict, Path]:
    root = tmp_path_factory.mktemp("sc")
    # the test videos are 48x64: native-scale windows of 32x32 (the preset's 96x96 would not fit)
    cfg = load_config(ScMethod.config_class, "tiny", {"data.train_crop": [32, 32], "trainer.epochs": 2})
    method = ScMethod(cfg, device="cpu", cache_dir=root / "cache")
    method.use_saliency_model(_tiny_saliency_model())
    history = method.fit(videos[:4], videos[4:], root / "work", progress=False)
    return method, history, root


def test_fit_selects_on_validation(fitted) -> None:
    _, history, root = fitted
    assert history["best_epoch"] in (1, 2)
    assert set(history["val_metrics"]) >= {"srcc", "plcc"}
    assert history["val_metrics"]["n"] == 4  # every validation item scored once
    assert (root / "work" / "train" / "best.pt").is_file()
    logged = history["history"][0]
    assert any("nt_xent" in str(k) for k in logged), logged  # the contrastive term is trained and logged


def test_maps_are_cached_at_the_rgb_frame_indices(fitted, videos) -> None:
    method, _, _ = fitted
    size = (method.config.data.height, method.config.data.width)
    rgb_indices = [int(i) for i in uniform_indices(NUM_FRAMES, method.config.data.num_frames)]
    cache = method.map_cache()
    assert all(cache.has(v.path, rgb_indices, size) for v in videos)
    assert not cache.has(videos[0].path, list(range(len(rgb_indices))), size)  # not "the first T maps"


def test_on_the_fly_maps_equal_the_cached_ones(fitted, videos) -> None:
    method, _, _ = fitted
    size = method.frame_size  # None: native size
    idx = [int(i) for i in uniform_indices(NUM_FRAMES, method.config.data.num_frames)]
    cached = method.map_cache().maps(videos[1].path, idx, size)
    live = OnTheFlyMaps(method.saliency_model)(videos[1], idx, read_clip(videos[1].path, idx, size=size))
    torch.testing.assert_close(live, cached, atol=1e-3, rtol=0)  # the cache stores float16


def test_untrained_method_refuses_to_predict(videos) -> None:
    with pytest.raises(VqaError, match="not trained"):
        ScMethod("tiny", device="cpu").predict(videos[:1])


def test_folder_maps_and_on_the_fly_maps_train_without_a_cache(videos, tmp_path) -> None:
    """saliency.source=folder reads <maps_dir>/<video_id>/<index>.png; cache=false writes nothing."""
    maps_dir = tmp_path / "maps"
    for v in videos[:6]:
        write_maps(maps_dir / v.video_id, torch.rand(NUM_FRAMES, 24, 32), list(range(NUM_FRAMES)))
    cfg = load_config(
        ScMethod.config_class,
        "tiny",
        {
            "saliency.source": "folder",
            "saliency.maps_dir": str(maps_dir),
            "trainer.max_steps": 1,
            "data.train_crop": [32, 32],
        },
    )
    method = ScMethod(cfg, device="cpu", cache_dir=tmp_path / "cache")
    assert method.pretrain_stages() == []
    method.fit(videos[:3], videos[3:5], tmp_path / "run-folder", progress=False)
    assert np.isfinite(method.predict(videos[:2])).all()

    live = load_config(
        ScMethod.config_class, "tiny", {"saliency.cache": False, "trainer.max_steps": 1, "data.train_crop": [32, 32]}
    )
    method = ScMethod(live, device="cpu", cache_dir=tmp_path / "cache")
    method.use_saliency_model(_tiny_saliency_model())
    method.fit(videos[:3], videos[3:5], tmp_path / "run-live", progress=False)
    assert np.isfinite(method.predict(videos[:2])).all()
    assert not (tmp_path / "cache").exists()


def test_saliency_stage_is_keyed_by_its_config() -> None:
    method = ScMethod("tiny", device="cpu")
    stages = method.pretrain_stages()
    assert [s.name for s in stages] == ["saliency"]
    assert ScMethod("small", device="cpu").pretrain_stages()[0].key != stages[0].key
    off = ScMethod(load_config(ScMethod.config_class, "tiny", {"saliency.enabled": False}), device="cpu")
    assert off.pretrain_stages() == []
