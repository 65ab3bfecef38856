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
