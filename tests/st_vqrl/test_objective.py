"""ST-VQRL's InfoNCE over distortion versions against an independent numpy computation."""

from __future__ import annotations

import numpy as np
import torch

from st_vqrl import distance_matrix, stvqrl_loss


def _np_distance(a, b, eps):
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov = (np.cov(a, rowvar=False) + np.cov(b, rowvar=False)) / 2 + eps * np.eye(a.shape[1])
    d = mu_a - mu_b
    return float(np.sqrt(d @ np.linalg.pinv(cov) @ d))  # the seed's pinv formulation


def _np_loss(z, tau, eps):
    total = 0.0
    for scene in z:
        v = scene.shape[0]
        d = np.array([[_np_distance(scene[i, 0], scene[j, 1], eps) for j in range(v)] for i in range(v)])
        sim = np.exp(-tau * d)
        rows = -np.log(np.diag(sim) / sim.sum(1))
        cols = -np.log(np.diag(sim) / sim.sum(0))
        total += (rows.sum() + cols.sum()) / v  # summed over versions, both directions, / k
    return total / len(z)


def test_loss_matches_numpy():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(2, 4, 2, 40, 6))
    z[:, :, :, :, 0] += np.arange(4)[None, :, None, None] * 0.5  # versions differ in mean
    loss, logs = stvqrl_loss(torch.from_numpy(z), tau=0.1, eps=1e-4)
    assert abs(float(loss) - _np_loss(z, 0.1, 1e-4)) < 1e-6
    assert 0.0 <= logs["acc"] <= 1.0


def test_distance_matrix_entries():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(3, 30, 5)), rng.normal(size=(3, 30, 5))
    d = distance_matrix(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    assert abs(d[2, 0] - _np_distance(a[2], b[0], 1e-4)) < 1e-8


def test_separated_versions_beat_shuffled_and_gradients_flow():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(1, 5, 1, 50, 4, generator=g)
    shift = torch.arange(5.0).view(1, 5, 1, 1, 1) * 3
    good = torch.cat([base + shift, torch.randn(1, 5, 1, 50, 4, generator=g) + shift], dim=2)
    bad = good.clone()
    bad[:, :, 1] = good[:, torch.tensor([1, 2, 3, 4, 0]), 1]  # clip 2 versions misaligned
    good.requires_grad_(True)
    loss_good, logs = stvqrl_loss(good)
    loss_bad, _ = stvqrl_loss(bad)
    assert loss_good < loss_bad
    assert logs["acc"] == 1.0 and logs["d_pos"] < logs["d_neg"]
    loss_good.backward()
    assert torch.isfinite(good.grad).all() and good.grad.abs().sum() > 0


def _np_shrunk_distance(a, b, eps, s):
    def shrink(c):
        return (1 - s) * c + s * np.trace(c) / c.shape[0] * np.eye(c.shape[0])

    cov = (shrink(np.cov(a, rowvar=False)) + shrink(np.cov(b, rowvar=False))) / 2 + eps * np.eye(a.shape[1])
    d = a.mean(0) - b.mean(0)
    return float(np.sqrt(d @ np.linalg.solve(cov, d)))


def test_shrinkage_matches_numpy_and_zero_is_the_seed():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(3, 12, 8)), rng.normal(size=(3, 12, 8)) + 0.3
    d = distance_matrix(torch.from_numpy(a), torch.from_numpy(b), eps=1e-4, shrinkage=0.2).numpy()
    assert abs(d[1, 2] - _np_shrunk_distance(a[1], b[2], 1e-4, 0.2)) < 1e-8
    seed = distance_matrix(torch.from_numpy(a), torch.from_numpy(b), eps=1e-4, shrinkage=0.0)
    assert torch.equal(seed, distance_matrix(torch.from_numpy(a), torch.from_numpy(b), eps=1e-4))


def test_shrink_covariance_keeps_trace_and_reaches_scaled_identity():
    from st_vqrl.objective import shrink_covariance

    rng = np.random.default_rng(3)
    x = torch.from_numpy(rng.normal(size=(20, 5)))
    cov = torch.cov(x.t())
    full = shrink_covariance(cov, 1.0)
    assert torch.allclose(full, torch.eye(5, dtype=cov.dtype) * torch.diagonal(cov).mean())
    assert torch.allclose(torch.trace(shrink_covariance(cov, 0.3)), torch.trace(cov))
    assert shrink_covariance(cov, 0.0) is cov


def test_few_tokens_make_the_seed_distance_depend_on_feature_scale():
    """8 tokens in 64-D (the tiny preset's clip): rank-7 covariances, so with eps 1e-4 the seed
    distance is set by the null space and grows with the features' scale; shrinkage removes that."""
    rng = np.random.default_rng(4)
    a = torch.from_numpy(rng.normal(size=(2, 8, 64)))
    b = a + torch.from_numpy(rng.normal(size=(2, 8, 64))) * 0.5
    seed_1, seed_10 = distance_matrix(a, b, 1e-4), distance_matrix(a * 10, b * 10, 1e-4)
    assert float((seed_10 / seed_1).min()) > 5  # degenerate: ~10x for a pure rescaling
    shr_1, shr_10 = distance_matrix(a, b, 1e-4, 0.5), distance_matrix(a * 10, b * 10, 1e-4, 0.5)
    assert torch.allclose(shr_1, shr_10, rtol=1e-2)  # a distance between distributions, not scales
