"""StrMethod / DagrMethod on tiny generated videos: validation selection, caches, stages, raw video.

What every method must do (same video same score, load round trip, unreadable files, timings,
cost, goldens, DDP) is checked once for all in tests/test_method_contract.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dagr_vqa.method import DagrMethod, StrMethod
from saliency_core import model as saliency_model_module
from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import VqaError
from vqa_core.sampling import uniform_indices
from vqa_core.testing import make_video, synthetic_frame

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
    # the test videos are 48x64: native-scale crops of 32x32 (the preset's 96x96 would not fit)
    cfg = load_config(DagrMethod.config_class, "tiny", {"data.train_crop": [32, 32], "trainer.epochs": 2})
    method = DagrMethod(cfg, device="cpu", cache_dir=root / "cache")
    method.use_saliency_model(_tiny_saliency_model())
    history = method.fit(videos[:4], videos[4:], root / "work", progress=False)
    return method, history, root


def test_fit_selects_on_validation(fitted) -> None:
    _, history, root = fitted
    assert history["best_epoch"] in (1, 2)
    assert set(history["val_metrics"]) >= {"srcc", "plcc"}
    assert history["val_metrics"]["n"] == 4  # every validation item scored once
    assert (root / "work" / "train" / "best.pt").is_file()


def test_maps_are_cached_at_the_rgb_frame_indices(fitted, videos) -> None:
    method, _, _ = fitted
    size = method.frame_size  # None: native size
    rgb_indices = [int(i) for i in uniform_indices(NUM_FRAMES, method.config.data.num_frames)]
    maps = method.map_cache()
    assert all(maps.has(v.path, rgb_indices, size) for v in videos)  # fit fills train and val
    assert not maps.has(videos[0].path, list(range(len(rgb_indices))), size)  # not "the first T maps"


def test_untrained_method_refuses_to_predict(videos) -> None:
    with pytest.raises(VqaError, match="not trained"):
        StrMethod("tiny", device="cpu").predict(videos[:1])


def test_frozen_backbone_features_are_cached_and_reused(videos, tmp_path) -> None:
    overrides = {
        "model.backbone": "resnet18",
        "data.height": 64,
        "data.width": 96,
        "data.train_crop": None,
        "saliency.enabled": False,
        "fit.freeze_backbone": True,
        "fit.cache_features": True,
        "fit.augment": False,
        "trainer.epochs": 1,
    }
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
    reference = second.new_network()
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

def _write_yuv420p(path: Path, frames: np.ndarray) -> Path:
    """A headerless .yuv file (LIVE-Qualcomm's layout): each frame's Y, U, V planes, no padding."""
    import av

    with path.open("wb") as fh:
        for rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24").reformat(
                format="yuv420p", threads=1
            )
            for plane in frame.planes:
                rows = np.frombuffer(plane, dtype=np.uint8).reshape(-1, plane.line_size)
                fh.write(rows[: plane.height, : plane.width].tobytes())
    return path


def test_a_raw_yuv_item_is_scored_the_way_sc_scores_it(tmp_path) -> None:
    """DAGR/STR once decoded .yuv items without their raw format and dropped LIVE-Qualcomm's
    videos while SC-VQA scored them; both now read frames and maps through one function."""
    from saliency_core.guided_clips import read_guided_clip
    from sc_vqa.method import ScMethod
    from vqa_core.video import RawFormat, read_clip

    frames = np.stack([synthetic_frame(i, 12, 48, 64, seed=3) for i in range(12)])
    raw = {"raw_width": 64, "raw_height": 48, "raw_pix_fmt": "yuv420p", "raw_fps": 25.0}
    item = ManifestItem("qualcomm", _write_yuv420p(tmp_path / "clip.yuv", frames), 3.0, "test", raw)
    fmt = RawFormat(width=64, height=48, pix_fmt="yuv420p", fps=25.0)
    saliency = _tiny_saliency_model()
    methods = []
    for cls in (DagrMethod, ScMethod):
        method = cls("tiny", device="cpu", cache_dir=tmp_path / cls.name)
        method.use_saliency_model(saliency)
        torch.manual_seed(0)
        method.model = method.new_network(pretrained=False).eval()
        methods.append(method)
    for method in methods:
        idx = method.clip_indices(item)
        assert idx == [int(i) for i in uniform_indices(12, method.config.data.num_frames)]  # probed as raw
        size = method.frame_size
        expected = read_clip(item.path, idx, size=size, raw=fmt)
        np.testing.assert_array_equal(read_guided_clip(item, idx, size), expected)
        report = method.score([item])
        assert report.errors == [None] and np.isfinite(report.scores).all(), report.errors
        assert report.parts["saliency_s"][0] > 0  # the maps were made from the raw frames, now cached
        assert method.map_cache().has(item.path, idx, size)
        sample = method.scoring_dataset([item], [idx])[0]
        torch.testing.assert_close(sample["frames"], torch.from_numpy(expected).permute(0, 3, 1, 2).float() / 255)
    with pytest.raises(Exception, match=r"clip\.yuv"):
        read_clip(item.path, [0])  # without its raw format a .yuv file is not a video
