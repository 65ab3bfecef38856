"""`model.channels_last`: the dagr/str 2D trunk in NHWC memory format computes what the default
layout computes (same weights, ~1e-6 relative: another summation order in oneDNN's kernels)."""

from __future__ import annotations

import torch

from dagr_vqa.config import DagrConfig, StrConfig
from dagr_vqa.model import SpatialFeatures
from vqa_core.config import load_config


def test_channels_last_trunk_matches_the_default_layout() -> None:
    for cls in (DagrConfig, StrConfig):
        cfg = load_config(cls, "tiny", ["model.pretrained=false"])
        torch.manual_seed(0)
        plain = SpatialFeatures(cfg.model, cfg.saliency).eval()
        nhwc = SpatialFeatures(load_config(cls, "tiny", ["model.pretrained=false", "model.channels_last=true"]).model,
                               cfg.saliency).eval()  # fmt: skip
        nhwc.load_state_dict(plain.state_dict())  # copies into the NHWC weights, keeping their layout
        convs = [m for m in nhwc.trunk.modules() if isinstance(m, torch.nn.Conv2d)]
        assert convs and all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)
        frames, maps = torch.rand(2, 4, 3, 64, 96), torch.rand(2, 4, 64, 96)
        with torch.no_grad():
            a, b = plain(frames, maps), nhwc(frames, maps)
        assert a.shape == b.shape
        # measured: 0 to 2.3e-6 relative on these and on demo videos at `small`
        assert (a - b).abs().max() <= 1e-5 * a.abs().max()
