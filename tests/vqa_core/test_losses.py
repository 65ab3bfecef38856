"""Losses: values on known cases, independent references, and gradients that flow."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from vqa_core.losses import (
    fit_gaussian,
    gaussian_distance,
    gaussian_fit_distance,
    nt_xent,
    plcc_loss,
    rank_loss,
    soft_rank_loss,
)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _assert_grad_flows(tensor: torch.Tensor) -> None:
    assert tensor.grad is not None
    assert torch.all(torch.isfinite(tensor.grad))
    assert tensor.grad.abs().sum() > 0


# ---------------------------------------------------------------- plcc / rank


# FAST-VQA z-scores with (x - mean) / (std + 1e-8); that guard shifts values by ~1e-8 relative,
# so closed forms that ignore it hold to 1e-7, not to machine precision.
GUARD_TOL = 1e-7


def test_plcc_loss_perfect_and_anti_correlation():
    x = torch.randn(16, generator=_gen(0), dtype=torch.float64)
    assert plcc_loss(x, 3 * x + 2).item() == pytest.approx(0.0, abs=GUARD_TOL)
    assert plcc_loss(x, -x).item() == pytest.approx(0.5, abs=GUARD_TOL)


def test_plcc_loss_closed_form_in_correlation():
    x = torch.randn(32, generator=_gen(1), dtype=torch.float64)
    y = x + torch.randn(32, generator=_gen(2), dtype=torch.float64)
    rho = float(np.corrcoef(x.numpy(), y.numpy())[0, 1])
    # (MSE(p,y) + MSE(rho p, y)) / 8 on z-scored vectors = ((2 - 2 rho) + (1 - rho^2)) / 8
    assert plcc_loss(x[:, None], y).item() == pytest.approx((1 - rho) * (3 + rho) / 8, abs=GUARD_TOL)


def test_rank_loss_hand_computed():
    assert rank_loss(torch.tensor([0.0, 1.0, 2.0]), torch.tensor([1.0, 2.0, 3.0])).item() == 0.0
    # both ordered pairs disagree by 1: sum 2 / (2 * 1) / (1 + max 1)
    assert rank_loss(torch.tensor([0.0, 1.0]), torch.tensor([1.0, 0.0])).item() == pytest.approx(0.5)


def test_soft_rank_loss_approaches_one_minus_spearman():
    pred = torch.randn(24, generator=_gen(3), dtype=torch.float64)
    target = pred + 0.8 * torch.randn(24, generator=_gen(4), dtype=torch.float64)
    srcc = stats.spearmanr(pred.numpy(), target.numpy())[0]
    assert soft_rank_loss(pred, target, temperature=1e-3).item() == pytest.approx(1 - srcc, abs=1e-3)
    assert soft_rank_loss(pred, pred * 10 + 1, temperature=1e-3).item() == pytest.approx(0.0, abs=1e-6)
    # a larger temperature smooths, so it cannot reach the exact value
    assert abs(soft_rank_loss(pred, target, temperature=1.0).item() - (1 - srcc)) > 1e-3


@pytest.mark.parametrize("loss", [plcc_loss, rank_loss, soft_rank_loss])
def test_regression_losses_have_gradients(loss):
    pred = torch.randn(8, generator=_gen(5), requires_grad=True)
    target = torch.randn(8, generator=_gen(6))
    loss(pred, target).backward()
    _assert_grad_flows(pred)


@pytest.mark.parametrize("loss", [plcc_loss, soft_rank_loss])
def test_constant_predictions_give_finite_gradients(loss):
    pred = torch.zeros(6, requires_grad=True)  # e.g. a dead ReLU head at initialisation
    value = loss(pred, torch.arange(6.0))
    value.backward()
    assert torch.isfinite(value) and torch.all(torch.isfinite(pred.grad))


def test_loss_input_errors():
    with pytest.raises(ValueError, match="8 scores"):
        plcc_loss(torch.zeros(8), torch.zeros(7))
    with pytest.raises(ValueError, match="at least 2"):
        rank_loss(torch.zeros(1), torch.zeros(1))
    with pytest.raises(ValueError, match="temperature"):
        soft_rank_loss(torch.zeros(3), torch.zeros(3), temperature=0)


# ---------------------------------------------------------------- NT-Xent


def _nt_xent_loop(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> float:
    views = [v / v.norm() for v in torch.cat([z1, z2]).double()]
    b = z1.shape[0]
    total = 0.0
    for k in range(2 * b):
        partner = (k + b) % (2 * b)
        denom = sum(math.exp(float(views[k] @ views[m]) / tau) for m in range(2 * b) if m != k)
        total += -math.log(math.exp(float(views[k] @ views[partner]) / tau) / denom)
    return total / (2 * b)


def test_nt_xent_matches_direct_loop():
    z1 = torch.randn(5, 7, generator=_gen(7))
    z2 = torch.randn(5, 7, generator=_gen(8))
    assert nt_xent(z1, z2, tau=0.1).item() == pytest.approx(_nt_xent_loop(z1, z2, 0.1), rel=1e-5)
    assert nt_xent(z1, z2, tau=0.5).item() == pytest.approx(_nt_xent_loop(z1, z2, 0.5), rel=1e-5)


def test_nt_xent_prefers_matching_pairs_and_has_gradients():
    z1 = torch.randn(6, 16, generator=_gen(9), requires_grad=True)
    matched = nt_xent(z1, z1.detach() + 0.01)
    shuffled = nt_xent(z1, z1.detach()[torch.randperm(6, generator=_gen(10))])
    assert matched.item() < shuffled.item()
    matched.backward()
    _assert_grad_flows(z1)
    with pytest.raises(ValueError):
        nt_xent(torch.zeros(4, 3), torch.zeros(5, 3))


# ---------------------------------------------------------------- Gaussian-fit distance


def test_gaussian_distance_of_identical_sets_is_zero_with_finite_grad():
    tokens = torch.randn(64, 8, generator=_gen(11), dtype=torch.float64, requires_grad=True)
    d = gaussian_fit_distance(tokens, tokens.clone())
    assert d.item() == 0.0
    d.backward()
    assert torch.all(torch.isfinite(tokens.grad))


def test_gaussian_distance_of_shifted_isotropic_gaussians_is_shift_over_sigma():
    sigma, shift = 2.0, 3.0
    a = sigma * torch.randn(20000, 3, generator=_gen(12), dtype=torch.float64)
    b = sigma * torch.randn(20000, 3, generator=_gen(13), dtype=torch.float64)
    b[:, 0] += shift
    assert gaussian_fit_distance(a, b, eps=1e-8).item() == pytest.approx(shift / sigma, rel=0.03)


def test_gaussian_distance_matches_explicit_inverse_reference():
    a = torch.randn(40, 5, generator=_gen(14), dtype=torch.float64)
    b = 1.5 * torch.randn(30, 5, generator=_gen(15), dtype=torch.float64) + 0.3
    eps = 1e-4
    an, bn = a.numpy(), b.numpy()
    pooled = (np.cov(an, rowvar=False) + np.cov(bn, rowvar=False)) / 2 + eps * np.eye(5)
    delta = an.mean(0) - bn.mean(0)
    expected = math.sqrt(delta @ np.linalg.inv(pooled) @ delta)
    assert gaussian_fit_distance(a, b, eps=eps).item() == pytest.approx(expected, rel=1e-10)


def test_gaussian_distance_batched_and_pairwise_broadcast():
    a = torch.randn(4, 50, 6, generator=_gen(16), dtype=torch.float64)
    b = torch.randn(4, 50, 6, generator=_gen(17), dtype=torch.float64) + 0.2
    batched = gaussian_fit_distance(a, b)
    assert batched.shape == (4,)
    for k in range(4):
        assert batched[k].item() == pytest.approx(gaussian_fit_distance(a[k], b[k]).item(), rel=1e-12)
    pairwise = gaussian_fit_distance(a[:, None], b[None])
    assert pairwise.shape == (4, 4)
    assert pairwise[2, 1].item() == pytest.approx(gaussian_fit_distance(a[2], b[1]).item(), rel=1e-12)
    # a reference set fitted once, compared with many videos
    mean_r, cov_r = fit_gaussian(b.reshape(-1, 6))
    mean_v, cov_v = fit_gaussian(a)
    many = gaussian_distance(mean_v, cov_v, mean_r, cov_r)
    assert many.shape == (4,) and torch.all(many > 0)


def test_gaussian_distance_survives_rank_deficient_float32_covariances():
    # 10 tokens in 48-D with eps 1e-8: the pooled covariance is singular up to rounding
    a = torch.randn(10, 48, generator=_gen(20))
    b = torch.randn(10, 48, generator=_gen(21)) + 0.5
    d = gaussian_fit_distance(a, b, eps=1e-8)
    reference = gaussian_fit_distance(a.double(), b.double(), eps=1e-8)
    assert d.dtype == torch.float32 and torch.isfinite(d)
    assert d.item() == pytest.approx(reference.item(), rel=1e-5)


def test_gaussian_distance_gradients_flow():
    a = torch.randn(32, 4, generator=_gen(18), requires_grad=True)
    b = torch.randn(32, 4, generator=_gen(19)) + 1.0
    gaussian_fit_distance(a, b).backward()
    _assert_grad_flows(a)
    with pytest.raises(ValueError, match="N >= 2"):
        gaussian_fit_distance(torch.zeros(1, 4), torch.zeros(3, 4))
