"""Issue #14 point 2: each sampled frame's saliency map from its own window of consecutive frames
at the training stride (`faithful`), batched; the sampled frames as one clip stays as `fast`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from saliency_core.cache import SaliencyMapCache
from saliency_core.guided_method import saliency_windows
from saliency_core.infer import predict_maps, predict_window_maps, window_indices
from saliency_core.model import build_model
from vqa_core.method import get_method
from vqa_core.testing import make_video


def test_windows_are_centred_at_the_stride_and_clamped() -> None:
    idx = window_indices([0, 50, 99], clip_len=4, stride=5)
    assert idx[4:8] == [40, 45, 50, 55]  # centre (clip_len // 2) is the sampled frame
    assert idx[:4] == [0, 0, 0, 5] and idx[8:] == [89, 94, 99, 99]  # clamped to the sampled range
    assert len(window_indices(list(range(8)), 8, 5)) == 64


def _tiny_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("tiny").eval()


def test_batched_windows_give_each_windows_centre_map() -> None:
    model = _tiny_model()
    clip_len = model.config.clip_len
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, size=(3 * clip_len, 24, 40, 3), dtype=np.uint8)
    batched = predict_window_maps(model, frames, clip_len, batch_windows=2)
    assert batched.shape == (3, 24, 40)
    for w in range(3):
        alone = predict_maps(model, frames[w * clip_len : (w + 1) * clip_len])[clip_len // 2]
        torch.testing.assert_close(batched[w], alone, atol=1e-3, rtol=0)  # batched vs single float sums


def test_map_cache_keys_and_computes_by_window_mode(tmp_path) -> None:
    model = _tiny_model()
    video = make_video(tmp_path / "v.mp4", num_frames=40, height=32, width=48, seed=1)
    indices = [0, 13, 26, 39]
    fast = SaliencyMapCache(model, tmp_path / "maps", windows="fast")
    faithful = SaliencyMapCache(model, tmp_path / "maps", windows="faithful", stride=5)
    assert fast.key(video, indices, None) != faithful.key(video, indices, None)
    assert faithful.frames_to_read(indices) == window_indices(indices, model.config.clip_len, 5)
    a, b = fast.maps(video, indices, None), faithful.maps(video, indices, None)
    assert a.shape == b.shape == (4, 32, 48)
    assert not torch.allclose(a, b)
    with pytest.raises(ValueError, match="windows"):
        SaliencyMapCache(model, tmp_path, windows="slow")


@pytest.mark.parametrize("name", ["str", "dagr", "sc"])
def test_full_presets_use_faithful_windows_at_the_stage_stride(name: str, tmp_path) -> None:
    method = get_method(name)(config="full", device="cpu", cache_dir=tmp_path)
    assert method.map_windows == ("faithful", 5)
    model = build_model("tiny")
    # the cost counts one window per sampled frame
    assert saliency_windows(model, 8, "faithful").shape[0] == 8
    assert saliency_windows(model, 8, "fast").shape[0] == 2
