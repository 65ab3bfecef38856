"""Rhythm windows of STR / DAGR: consecutive frames per sampled position, maps and trunk at the first."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dagr_vqa.config import ModelConfig, SaliencyConfig
from dagr_vqa.data import ClipDataset, augmentation
from dagr_vqa.method import DagrMethod, StrMethod
from dagr_vqa.model import SaliencyVQA
from saliency_core import model as saliency_model_module
from saliency_core.guided_clips import clip_indices
from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import ConfigError, VideoDecodeError
from vqa_core.rhythm import window_indices


def test_clip_indices_spread_windows_so_the_last_ends_on_the_last_frame() -> None:
    item = ManifestItem(video_id="v", path="v.mp4", mos=3.0, extra={"num_frames": 64})
    assert clip_indices(item, 8) == [0, 9, 18, 27, 36, 45, 54, 63]  # the papers' linspace
    starts = clip_indices(item, 8, window=4)
    assert starts[0] == 0 and starts[-1] + 3 == 63
    assert max(window_indices(starts, 4)) == 63
    short = ManifestItem(video_id="s", path="short.mp4", mos=3.0, extra={"num_frames": 3})
    with pytest.raises(VideoDecodeError, match=r"short\.mp4: 3 frame\(s\), fewer than one window of 4"):
        clip_indices(short, 8, window=4)


def _model(window: int) -> SaliencyVQA:
    cfg = ModelConfig(
        backbone="narrow",
        pretrained=False,
        trunk_widths=[8, 8, 16, 16],
        input_norm="mscn",
        rhythm_window=window,
        temporal_dim=16,
        ff_dim=16,
        layers=1,
        fusion_dim=16,
        regressor_hidden=[8],
    )
    return SaliencyVQA(cfg, SaliencyConfig(enabled=True))


def test_the_trunk_sees_each_windows_first_frame_and_the_head_the_statistics() -> None:
    torch.manual_seed(0)
    model = _model(3).eval()
    frames, maps = torch.rand(2, 4 * 3, 3, 32, 32), torch.rand(2, 4, 32, 32)
    out = model(frames, maps)
    assert out.shape == (2,)
    # the trunk's input is the windows' first frames only: changing the others moves the score
    # through the statistics alone, and changing nothing gives the same score
    trunk_in = []
    hook = model.spatial.trunk.register_forward_pre_hook(lambda m, args: trunk_in.append(args[0]))
    other = frames.clone()
    other[:, 1::3] = torch.rand_like(other[:, 1::3])
    moved = model(other, maps)
    hook.remove()
    assert trunk_in[0].shape[0] == 2 * 4
    assert not torch.allclose(moved, out) and torch.allclose(model(frames, maps), out)
    with pytest.raises(ValueError, match="3 consecutive frames per sampled position"):
        model(frames[:, :10], maps)


def test_rhythm_window_is_validated_and_on_in_the_small_presets() -> None:
    for cls in (DagrMethod.config_class, StrMethod.config_class):
        assert load_config(cls, "small").model.rhythm_window == 4
        assert load_config(cls, "full").model.rhythm_window == 1  # the papers read single frames
        with pytest.raises(ConfigError, match=r"model\.rhythm_window=0"):
            load_config(cls, "small", {"model.rhythm_window": 0})
        with pytest.raises(ConfigError, match="feature cache"):
            load_config(
                cls,
                "full",
                {
                    "model.rhythm_window": 2,
                    "fit.freeze_backbone": True,
                    "fit.cache_features": True,
                    "fit.augment": False,
                },
            )


def test_clip_dataset_reads_windows_and_keeps_maps_at_the_sampled_frames(native_size_items) -> None:
    items = native_size_items[:2]
    starts = [[0, 3, 6]] * 2

    class Maps:  # a map source that records where maps were asked for
        def __init__(self) -> None:
            self.asked: list[list[int]] = []

        def maps(self, path, indices, size, raw=None):
            self.asked.append(list(indices))
            return torch.stack(
                [torch.full((40, 72) if "v0" in str(path) else (48, 64), float(i)) for i in indices]
            )

    source = Maps()
    train = ClipDataset(items, starts, None, [0.0, 1.0], source, augmentation([32, 24]), 0, window=2)
    sample = train[0]
    assert sample["frames"].shape == (6, 3, 32, 24) and sample["maps"].shape == (3, 32, 24)
    assert source.asked == [[0, 3, 6]]
    assert [float(m[0, 0]) for m in sample["maps"]] == [
        0.0,
        3.0,
        6.0,
    ]  # each window's first map, after the crop
    plain = ClipDataset(items, starts, None, [0.0, 1.0], None, window=2)
    frames = plain.clip(1)[0].numpy()
    from vqa_core.video import read_clip

    assert np.array_equal(frames, read_clip(items[1].path, [0, 1, 3, 4, 6, 7]))


def test_method_with_rhythm_windows_fits_and_scores(tmp_path, native_size_items) -> None:
    items = native_size_items
    overrides = {
        "model.backbone": "narrow",
        "model.trunk_widths": [8, 8, 16, 16],
        "model.pool": "meanstd",
        "model.input_norm": "mscn",
        "model.rhythm_window": 2,
        "data.height": None,
        "data.width": None,
        "data.train_crop": [32, 32],
        "data.cache_clips": True,
        "data.num_frames": 4,
        "trainer.epochs": 1,
    }
    method = DagrMethod(
        load_config(DagrMethod.config_class, "tiny", overrides), device="cpu", cache_dir=tmp_path
    )
    torch.manual_seed(0)
    method.use_saliency_model(saliency_model_module.build_model("tiny"))
    assert method.frames_per_clip == 8
    method.fit(items[:4], items[4:], tmp_path / "work", progress=False)
    starts = method.clip_indices(items[0])
    assert len(starts) == 4 and starts[-1] + 1 == 9  # 10-frame videos: the last window ends on frame 9
    assert method.map_cache().has(items[0].path, starts, None)  # maps at the windows' first frames only
    scores = method.score(items).scores
    assert len(scores) == 7 and np.isfinite(scores).all()
    from vqa_core.video import read_clip

    clip = read_clip(items[0].path, window_indices(starts, 2))
    assert np.isfinite(method.score_clip(clip))
    net, args = method.cost_parts()["model"]  # what FLOPs are counted on: the windows too
    assert args[0].shape[1] == 8 and args[1].shape[1] == 4
    with torch.no_grad():
        assert net(*args).shape == (1,)
