"""predict_maps windows, post-processing and alignment; PNG maps named by frame index."""

import numpy as np
import pytest
import torch
from PIL import Image

from saliency_core.config import ModelConfig
from saliency_core.infer import minmax_per_frame, predict_maps
from saliency_core.maps_io import read_maps, write_maps
from saliency_core.model import build_model
from vqa_core.errors import DatasetError


class BrightnessModel(torch.nn.Module):
    """Logits = mean colour of each pixel, so the map is the frame's brightness; records windows."""

    def __init__(self, clip_len: int, size: tuple[int, int]) -> None:
        super().__init__()
        self.config = ModelConfig(clip_len=clip_len, height=size[0], width=size[1])
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.windows: list[tuple[int, ...]] = []

    def forward(self, x):
        self.windows.append(tuple(x.shape))
        return (x.mean(1, keepdim=True) - 0.5) * 8 * self.scale


def test_windows_of_clip_len_with_padding_and_original_size():
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, size=(11, 20, 30, 3), dtype=np.uint8)
    model = BrightnessModel(clip_len=4, size=(20, 30))
    maps = predict_maps(model, clip, batch_windows=2)
    assert maps.shape == (11, 20, 30)
    assert model.windows == [(2, 3, 4, 20, 30), (1, 3, 4, 20, 30)]  # 3 windows, last padded
    assert float(maps.min()) == 0.0 and float(maps.max()) == 1.0
    for t in range(11):  # sigmoid is monotone and min-max is per frame: ranks follow brightness
        b = clip[t].mean(-1).ravel()
        m = maps[t].numpy().ravel()
        assert np.argmax(m) == np.argmax(b) and np.argmin(m) == np.argmin(b)
        assert m.min() == 0.0 and m.max() == 1.0


def test_maps_follow_frame_order_and_resize_back():
    clip = np.zeros((5, 24, 36, 3), dtype=np.uint8)
    for t in range(5):  # a bright square moving right
        clip[t, 8:16, 4 + 6 * t : 10 + 6 * t] = 255
    model = BrightnessModel(clip_len=3, size=(12, 18))
    maps = predict_maps(model, torch.from_numpy(clip))
    assert maps.shape == (5, 24, 36)
    assert model.windows[0][-2:] == (12, 18)
    for t in range(5):
        col = int(maps[t].sum(0).argmax())
        assert 4 + 6 * t <= col < 10 + 6 * t


def test_predict_maps_runs_the_tiny_unet():
    torch.manual_seed(0)
    model = build_model("tiny", registers="attention")
    clip = np.random.default_rng(1).integers(0, 256, size=(6, 40, 50, 3), dtype=np.uint8)
    maps = predict_maps(model, clip)
    assert maps.shape == (6, 40, 50) and maps.dtype == torch.float32
    assert float(maps.min()) >= 0.0 and float(maps.max()) <= 1.0
    assert model.training  # the caller's mode is restored


def test_bad_clip_shape_is_rejected():
    with pytest.raises(ValueError, match=r"\(T, H, W, 3\)"):
        predict_maps(BrightnessModel(4, (8, 8)), np.zeros((4, 8, 8), dtype=np.uint8))


def test_minmax_per_frame_handles_constant_frames():
    maps = torch.stack([torch.full((3, 3), 0.7), torch.arange(9.0).reshape(3, 3)])
    out = minmax_per_frame(maps)
    assert torch.equal(out[0], torch.zeros(3, 3))
    torch.testing.assert_close(out[1], torch.arange(9.0).reshape(3, 3) / 8)


def test_png_maps_named_by_frame_index_roundtrip(tmp_path):
    maps = torch.rand(3, 10, 12)
    paths = write_maps(tmp_path / "v", maps, [5, 40, 77])
    assert [p.name for p in paths] == ["000005.png", "000040.png", "000077.png"]
    img = Image.open(paths[1])
    assert img.mode == "L" and img.size == (12, 10)
    back, idx = read_maps(tmp_path / "v", [77, 5])
    assert idx == [77, 5]
    np.testing.assert_allclose(back[0], maps[2].numpy(), atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(back[1], maps[0].numpy(), atol=0.5 / 255 + 1e-6)
    with pytest.raises(DatasetError, match="41"):
        read_maps(tmp_path / "v", [41])


def test_float_clips_in_unit_range_give_the_same_maps():
    torch.manual_seed(0)
    model = build_model("tiny", registers="none").eval()
    clip = np.random.default_rng(2).integers(0, 256, size=(5, 32, 48, 3), dtype=np.uint8)
    a = predict_maps(model, clip)
    b = predict_maps(model, torch.from_numpy(clip).float() / 255)
    torch.testing.assert_close(a, b)
