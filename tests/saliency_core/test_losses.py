"""Per-frame saliency losses against independent numpy/scipy computations."""

import numpy as np
import pytest
import torch
from scipy.stats import entropy, pearsonr

from saliency_core.config import LossConfig
from saliency_core.losses import SaliencyLoss, cc, kld, nss, sim


@pytest.fixture
def maps():
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.01, 1, size=(2, 3, 6, 7))
    gt = rng.uniform(0, 1, size=(2, 3, 6, 7)) ** 3
    return pred, gt


def test_cc_is_pearson_per_frame(maps):
    pred, gt = maps
    got = cc(torch.tensor(pred), torch.tensor(gt)).numpy()
    want = [pearsonr(p.ravel(), g.ravel())[0] for p, g in zip(pred.reshape(6, 6, 7), gt.reshape(6, 6, 7))]
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_kld_is_kl_of_spatial_distributions_per_frame(maps):
    pred, gt = maps
    got = kld(torch.tensor(pred), torch.tensor(gt)).numpy()
    # scipy.stats.entropy(pk, qk) = sum pk log(pk / qk) after normalising both
    want = [entropy(g.ravel(), p.ravel()) for p, g in zip(pred.reshape(6, 6, 7), gt.reshape(6, 6, 7))]
    np.testing.assert_allclose(got, want, rtol=1e-4)


def test_kld_normalises_over_space_not_time():
    # identical spatial distributions at different intensities over time: KL must be 0 per frame
    gt = torch.rand(4, 5, 6)
    pred = gt * torch.tensor([0.1, 1.0, 3.0, 7.0])[:, None, None]
    torch.testing.assert_close(kld(pred, gt), torch.zeros(4), atol=1e-5, rtol=0)


def test_nss_by_hand():
    pred = torch.tensor([[[0.0, 1.0], [2.0, 3.0]]])
    fix = torch.tensor([[[0, 0], [0, 1]]])
    mean, std = 1.5, np.std([0, 1, 2, 3])
    torch.testing.assert_close(nss(pred, fix), torch.tensor([(3 - mean) / std], dtype=torch.float32), rtol=1e-5, atol=1e-6)


def test_nss_without_fixations_is_nan():
    assert torch.isnan(nss(torch.rand(1, 4, 4), torch.zeros(1, 4, 4))).all()


def test_sim_by_hand():
    pred = torch.tensor([[[1.0, 1.0], [1.0, 1.0]]])  # uniform: 0.25 each
    gt = torch.tensor([[[1.0, 0.0], [0.0, 0.0]]])  # all mass on one pixel
    torch.testing.assert_close(sim(pred, gt), torch.tensor([0.25]))
    torch.testing.assert_close(sim(gt, gt * 5), torch.tensor([1.0]))


def test_seed_preset_is_001_kld_minus_cc():
    torch.manual_seed(0)
    logits, gt = torch.randn(2, 1, 3, 8, 8), torch.rand(2, 1, 3, 8, 8)
    loss, parts = SaliencyLoss(LossConfig.PRESETS["seed"])(logits, gt)
    p = torch.sigmoid(logits)
    want = 0.01 * kld(p, gt).mean() - cc(p, gt).mean()
    torch.testing.assert_close(loss, want)
    assert set(parts) == {"kld", "cc", "loss"}


def test_weighted_loss_uses_every_term_and_trains():
    torch.manual_seed(0)
    gt = torch.zeros(1, 1, 2, 8, 8)
    gt[..., 2:4, 5:7] = 1.0
    fix = (gt > 0.5).float()
    logits = torch.zeros(1, 1, 2, 8, 8, requires_grad=True)
    loss_fn = SaliencyLoss(LossConfig(kld=1.0, cc=1.0, nss=0.1, sim=1.0))
    opt = torch.optim.SGD([logits], lr=1.0)
    first = None
    for _ in range(30):
        loss, parts = loss_fn(logits + 0.01 * torch.randn_like(logits), gt, fix)
        first = first if first is not None else parts
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert parts["cc"] > 0.9 and parts["cc"] > first["cc"]
    assert parts["kld"] < first["kld"] and parts["nss"] > first["nss"] and parts["sim"] > first["sim"]


def test_nss_weight_without_fixations_is_a_clear_error():
    with pytest.raises(ValueError, match="fixation"):
        SaliencyLoss(LossConfig(nss=0.1))(torch.zeros(1, 1, 1, 4, 4), torch.rand(1, 1, 1, 4, 4))


def test_empty_or_constant_maps_give_finite_gradients():
    logits = torch.zeros(1, 1, 3, 6, 6, requires_grad=True)  # constant prediction
    gt = torch.rand(1, 1, 3, 6, 6)
    gt[:, :, 1] = 0.0  # a frame whose salient object was cropped away
    fix = torch.zeros_like(gt)
    fix[..., 2, 3] = 1
    loss, _ = SaliencyLoss(LossConfig(kld=1.0, cc=1.0, nss=0.1, sim=1.0))(logits, gt, fix)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(logits.grad).all()
    # the empty frame is left out: same loss as without it
    keep = [0, 2]
    ref, _ = SaliencyLoss(LossConfig(kld=1.0, cc=1.0, sim=1.0))(logits[:, :, keep], gt[:, :, keep])
    cc_only = SaliencyLoss(LossConfig(kld=1.0, cc=1.0, sim=1.0))(logits, gt)[0]
    torch.testing.assert_close(cc_only, ref)
    empty, _ = SaliencyLoss()(logits, torch.zeros_like(gt))
    assert float(empty.detach()) == 0.0
