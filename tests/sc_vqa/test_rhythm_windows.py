"""Rhythm windows of SC-VQA: consecutive frames per sampled position, conv and maps at the first,
the window statistics joining the conv features before the LSTM (as dagr_vqa's)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saliency_core import model as saliency_model_module
from sc_vqa.config import ModelConfig, SaliencyConfig
from sc_vqa.data import ScClipDataset
from sc_vqa.method import ScMethod
from sc_vqa.model import ScVQA
from vqa_core.config import load_config
from vqa_core.errors import ConfigError
from vqa_core.rhythm import window_indices
from vqa_core.video import read_clip

WINDOWS = {
    "model.rhythm_window": 2,
    "model.input_norm": "mscn",
    "data.height": None,
    "data.width": None,
    "data.train_crop": [24, 32],
    "data.cache_clips": True,
    "trainer.epochs": 1,
}


def _model(window: int) -> ScVQA:
    cfg = ModelConfig(conv_channels=4, pool_size=2, hidden=8, embed_dim=8, input_norm="mscn", rhythm_window=window)
    return ScVQA(cfg, SaliencyConfig(enabled=True))


def test_the_conv_sees_each_windows_first_frame_and_the_lstm_the_statistics() -> None:
    torch.manual_seed(0)
    model = _model(3).eval()
    assert model.encoder.lstm.input_size == 4 * 2 * 2 + 2 * 3  # conv features + 2w statistics
    frames, maps = torch.rand(2, 4 * 3, 3, 32, 32), torch.rand(2, 4, 32, 32)
    out = model(frames, maps)
    conv_in = []
    hook = model.encoder.frames.conv.register_forward_pre_hook(lambda m, args: conv_in.append(args[0]))
    other = frames.clone()
    other[:, 1::3] = torch.rand_like(other[:, 1::3])  # every frame but the windows' first
    moved = model(other, maps)
    hook.remove()
    assert conv_in[0].shape == (2 * 4, 4, 32, 32)  # 4 first frames per clip, RGB + the map
    assert not torch.allclose(moved, out) and torch.allclose(model(frames, maps), out)
    # the two-view training pass takes windows too
    score, z1, z2 = model(frames[:, None].expand(2, 2, 12, 3, 32, 32), maps[:, None].expand(2, 2, 4, 32, 32), True)
    assert score.shape == (2,) and z1.shape == z2.shape == (2, 8)
    with pytest.raises(ValueError, match="3 consecutive frames per sampled position"):
        model(frames[:, :10], maps)


def test_rhythm_window_is_validated_and_single_frames_by_default() -> None:
    assert load_config(ScMethod.config_class, "full").model.rhythm_window == 1  # the paper
    with pytest.raises(ConfigError, match=r"model\.rhythm_window must be >= 1, got 0"):
        load_config(ScMethod.config_class, "tiny", {"model.rhythm_window": 0})


def test_views_crop_windows_with_their_first_frames_maps(native_size_items) -> None:
    items = native_size_items[:2]

    class Maps:  # a map source that records where maps were asked for; map value = frame index
        def __init__(self) -> None:
            self.asked: list[list[int]] = []

        def __call__(self, item, indices, clip):
            self.asked.append(list(indices))
            assert clip.shape[0] == len(indices)  # the windows' first frames
            return torch.stack([torch.full(clip.shape[1:3], float(i)) for i in indices])

    source = Maps()
    method = ScMethod(load_config(ScMethod.config_class, "tiny", WINDOWS), device="cpu")
    train = ScClipDataset(items, [[0, 3, 6]] * 2, None, [0.0, 1.0], source, method.augmentation(), 0, window=2)
    sample = train[0]
    assert sample["frames"].shape == (2, 6, 3, 24, 32) and sample["maps"].shape == (2, 3, 24, 32)
    assert source.asked == [[0, 3, 6]]
    assert [float(m[0, 0]) for m in sample["maps"][0]] == [0.0, 3.0, 6.0]  # each window's first map
    plain = ScClipDataset(items, [[0, 3, 6]] * 2, None, [0.0, 1.0], None, window=2)
    frames = plain.clip(1)[0]
    expected = torch.from_numpy(read_clip(items[1].path, [0, 1, 3, 4, 6, 7])).permute(0, 3, 1, 2).float() / 255
    assert torch.equal(frames, expected)


def test_method_with_rhythm_windows_fits_and_scores(tmp_path, native_size_items) -> None:
    items = native_size_items
    method = ScMethod(load_config(ScMethod.config_class, "tiny", WINDOWS), device="cpu", cache_dir=tmp_path)
    torch.manual_seed(0)
    method.use_saliency_model(saliency_model_module.build_model("tiny"))
    assert method.frames_per_clip == 8  # 4 windows of 2
    method.fit(items[:4], items[4:], tmp_path / "work", progress=False)
    starts = method.clip_indices(items[0])
    assert len(starts) == 4 and starts[-1] + 1 == 9  # 10-frame videos: the last window ends on frame 9
    assert method.map_cache().has(items[0].path, starts, None)  # maps at the windows' first frames only
    scores = method.score(items).scores
    assert len(scores) == 7 and np.isfinite(scores).all()
    assert max(window_indices(starts, 2)) == 9
    net, args = method.cost_parts()["model"]  # FLOPs are counted on the windows too
    assert args[0].shape[1] == 8 and args[1].shape[1] == 4
    with torch.no_grad():
        assert net(*args).shape == (1,)
