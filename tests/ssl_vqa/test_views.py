"""What SSL-VQA's and QASA-VQA's trunks read: the fragments of `stvqrl.clip`, in its input_norm."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from ssl_vqa.config import SslConfig
from ssl_vqa.data import make_views
from vqa_core.config import load_config
from vqa_core.errors import ConfigError
from vqa_core.transforms import denormalize, fragment_contrast_normalize


def _views(input_norm: str, two_views: bool) -> dict[str, torch.Tensor]:
    cfg = copy.deepcopy(SslConfig.PRESETS["tiny"])
    cfg.stvqrl.clip.input_norm = input_norm
    t = cfg.sampling.clip_len
    video = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (t, 72, 96, 3), dtype=np.uint8))
    return make_views(cfg, two_views, None)(video, seed=3)


@pytest.mark.parametrize("two_views", [True, False])
def test_mscn_views_are_the_same_fragments_normalised_per_patch(two_views: bool) -> None:
    grid, patch = SslConfig.PRESETS["tiny"].stvqrl.clip.grid, SslConfig.PRESETS["tiny"].stvqrl.clip.patch
    rgb, mscn = _views("fastvqa", two_views), _views("mscn", two_views)
    for key in ("v", "w") if two_views else ("clips",):
        pixels = denormalize(rgb[key], "fastvqa", channel_dim=-4).round() / 255  # the same fragments, in [0, 1]
        expected = fragment_contrast_normalize(pixels, grid, patch)
        torch.testing.assert_close(mscn[key], expected, atol=1e-4, rtol=1e-4)


def test_small_presets_read_mscn_and_a_released_model_refuses_it() -> None:
    assert SslConfig.PRESETS["small"].stvqrl.clip.input_norm == "mscn"
    with pytest.raises(ConfigError, match="released model trained on RGB"):
        load_config(SslConfig, "small", {"init_from": "ssl_vqa.pth"})
