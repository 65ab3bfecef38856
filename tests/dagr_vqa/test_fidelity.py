"""Issue #14 point 10: STR/DAGR `full` train with the papers' loss and blend weight; DAGR's
spatial-only LSVQ model is an option."""

from __future__ import annotations

import pytest
import torch
from scipy.stats import spearmanr

from dagr_vqa.config import preset
from dagr_vqa.method import network_for, quality_loss
from vqa_core.errors import ConfigError


@pytest.mark.parametrize(("variant", "alpha"), [("str", 0.75), ("dagr", 1.0)])
def test_full_uses_the_papers_alpha_and_the_seeds_rank_term(variant: str, alpha: float) -> None:
    cfg = preset(variant, "full")
    assert cfg.saliency.alpha == alpha
    assert (cfg.loss.rank_term, cfg.loss.rank_weight) == ("soft_rank", 0.1)


def test_soft_rank_term_is_one_minus_srcc_and_has_a_gradient() -> None:
    torch.manual_seed(0)
    target = torch.rand(16)
    pred = torch.randn(16, requires_grad=True)
    cfg = preset("dagr", "full")
    loss, logs = quality_loss(pred, target, cfg.loss.rank_term, cfg.loss.rank_weight, temperature=1e-3)
    rho = spearmanr(pred.detach().numpy(), target.numpy()).statistic
    assert logs["soft_rank"] == pytest.approx(1 - rho, abs=1e-3)
    # the rank term alone moves the predictions (the seeds' argsort Spearman gave zero gradient)
    # at the preset's temperature
    loss, _ = quality_loss(pred, target, cfg.loss.rank_term, cfg.loss.rank_weight, cfg.loss.rank_temperature)
    (rank_grad,) = torch.autograd.grad(loss - torch.nn.functional.l1_loss(pred, target), pred)
    assert torch.isfinite(rank_grad).all()
    assert rank_grad.abs().sum() > 0


def test_spatial_only_dagr_is_the_seeds_lsvq_model() -> None:
    cfg = preset("dagr", "full")
    cfg.model.layers = 0
    cfg.model.pretrained = False
    net = network_for(cfg)
    assert net.head.temporal is None
    params = sum(p.numel() for p in net.parameters())
    # seed_audit §2.5: VideoQualityModelSpatialOnly has about 28.26M parameters
    assert params == pytest.approx(28.26e6, rel=2e-3)
    out = net(torch.rand(2, 3, 3, 64, 96), torch.rand(2, 3, 64, 96))
    assert out.shape == (2,)


def test_negative_layers_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"model\.layers"):
        from dagr_vqa.config import DagrConfig, ModelConfig

        DagrConfig(model=ModelConfig(layers=-1))
