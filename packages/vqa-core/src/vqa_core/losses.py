"""Differentiable training losses shared by the methods.

- `plcc_loss` and `rank_loss`: FAST-VQA's batch-level, scale-free regression losses (used by
  SSL-VQA, QASA-VQA and as the fix for the seeds' non-differentiable Spearman loss).
- `soft_rank_loss`: 1 - Pearson correlation of soft ranks (pairwise sigmoids), a smooth
  surrogate of 1 - SRCC that tends to it as the temperature goes to 0.
- `nt_xent`: SimCLR's normalised-temperature cross entropy (SC-VQA's contrastive term).
- `fit_gaussian`, `gaussian_distance`, `gaussian_fit_distance`: the NIQE-like distance
  between Gaussians fitted to two token sets (ST-VQRL's contrastive objective, SSL-VQA's
  auxiliary score), `sqrt(dmu^T ((Sa + Sb)/2 + eps I)^-1 dmu)`, computed with a Cholesky
  solve rather than an explicit (pseudo-)inverse.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = [
    "fit_gaussian",
    "gaussian_distance",
    "gaussian_fit_distance",
    "nt_xent",
    "plcc_loss",
    "rank_loss",
    "soft_rank_loss",
]


def _scores(name: str, x: torch.Tensor) -> torch.Tensor:
    x = x.reshape(-1)
    if x.numel() < 2:
        raise ValueError(f"{name} needs a batch of at least 2 scores, got {x.numel()}")
    return x


def _paired(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    pred, target = _scores("pred", pred), _scores("target", target)
    if pred.shape != target.shape:
        raise ValueError(f"pred has {pred.numel()} scores but target has {target.numel()}")
    return pred, target.to(pred.dtype)


def _zscore(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """(x - mean) / (std + eps) as in FAST-VQA, but with a finite gradient for constant x.

    sqrt'(0) is infinite, so a batch of identical predictions (a dead head at init) would
    make the plain std back-propagate NaN; flooring the variance at 1e-24 changes the value
    by < 1e-12 and keeps the gradient finite.
    """
    var, mean = torch.var_mean(x, unbiased=False)
    return (x - mean) / (var.clamp_min(1e-24).sqrt() + eps)


def plcc_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """FAST-VQA's PLCC loss: 0 for perfectly linearly correlated batches, invariant to scale and shift.

    Both vectors are z-scored (population std, NaN-safe for constant batches); the loss averages MSE(p, y)/4 and
    MSE(rho*p, y)/4 with rho their correlation, which works out to (1 - rho)(3 + rho)/8:
    0 at rho = 1, 0.5 at rho = -1. Any shape is flattened to a batch of scores.
    """
    p, y = _paired(pred, target)
    p, y = _zscore(p), _zscore(y)
    loss0 = F.mse_loss(p, y) / 4
    rho = torch.mean(p * y)
    loss1 = F.mse_loss(rho * p, y) / 4
    return (loss0 + loss1) / 2


def rank_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """FAST-VQA's pairwise rank loss: hinge on every pair ordered against the target.

    For each ordered pair (i, j) whose predictions disagree in order with the targets, the
    penalty is the size of the disagreement `relu((p_i - p_j) * sign(y_j - y_i))`; the sum is
    averaged over the B(B-1) pairs and divided by `1 + max penalty` (not detached, as in
    FAST-VQA), which keeps it bounded for badly scaled predictions.
    """
    p, y = _paired(pred, target)
    p, y = p[:, None], y[:, None]
    hinge = F.relu((p - p.t()) * torch.sign(y.t() - y))
    n = p.shape[0]
    return hinge.sum() / n / (n - 1) / (1 + hinge.max())


def _hard_ranks(x: torch.Tensor) -> torch.Tensor:
    """1-based average ranks (ties share their mean rank, as scipy.stats.rankdata)."""
    diff = x[:, None] - x[None, :]
    return 1.0 + (diff > 0).sum(1).to(x.dtype) + 0.5 * ((diff == 0).sum(1).to(x.dtype) - 1.0)


def _soft_ranks(x: torch.Tensor, temperature: float) -> torch.Tensor:
    """Soft 1-based ranks: 1 + sum_{j != i} sigmoid((x_i - x_j) / temperature)."""
    pairwise = torch.sigmoid((x[:, None] - x[None, :]) / temperature)
    return 0.5 + pairwise.sum(1)  # the diagonal contributes sigmoid(0) = 0.5


def _pearson(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / (a.norm() * b.norm() + eps)


def soft_rank_loss(pred: torch.Tensor, target: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """1 - Pearson(soft ranks of pred, ranks of target): a differentiable 1 - SRCC.

    Predictions are z-scored first, so `temperature` is in units of the batch's standard
    deviation and the loss does not depend on the prediction scale. Target ranks are exact
    (ties averaged); they need no gradient. As `temperature -> 0` the loss tends to
    1 - SRCC; larger temperatures give smoother gradients.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    p, y = _paired(pred, target)
    return 1.0 - _pearson(_soft_ranks(_zscore(p), temperature), _hard_ranks(y.detach()))


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, tau: float = 0.1) -> torch.Tensor:
    """SimCLR's NT-Xent over a batch of B positive pairs (z1[i], z2[i]), embeddings (B, D).

    Embeddings are L2-normalised; each of the 2B views must pick its partner (i <-> i+B)
    among the other 2B-1 views by cosine similarity / tau. The mean cross entropy over all
    2B views is returned.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(
            f"z1 and z2 must both be (B, D) with the same shape, got {tuple(z1.shape)}, {tuple(z2.shape)}"
        )
    if tau <= 0:
        raise ValueError(f"tau must be > 0, got {tau}")
    b = z1.shape[0]
    z = F.normalize(torch.cat([z1, z2], dim=0), dim=1)
    logits = z @ z.t() / tau
    self_mask = torch.eye(2 * b, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(self_mask, float("-inf"))
    targets = torch.cat([torch.arange(b, 2 * b), torch.arange(0, b)]).to(z.device)
    return F.cross_entropy(logits, targets)


def fit_gaussian(tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (…, D) and unbiased covariance (…, D, D) of a token set (…, N, D).

    Exposed so a fixed reference set (SSL-VQA's pristine cubes) is fitted once and compared
    with many videos through `gaussian_distance`.
    """
    if tokens.ndim < 2 or tokens.shape[-2] < 2:
        raise ValueError(f"tokens must be (..., N, D) with N >= 2, got shape {tuple(tokens.shape)}")
    mean = tokens.mean(dim=-2)
    centred = tokens - mean.unsqueeze(-2)
    cov = centred.transpose(-1, -2) @ centred / (tokens.shape[-2] - 1)
    return mean, cov


def _float64_device(device: torch.device) -> torch.device:
    """Where double-precision maths can run: Apple's MPS has no float64, so use the CPU there."""
    return torch.device("cpu") if device.type == "mps" else device


def gaussian_distance(
    mean_a: torch.Tensor, cov_a: torch.Tensor, mean_b: torch.Tensor, cov_b: torch.Tensor, eps: float = 1e-4
) -> torch.Tensor:
    """NIQE-like distance between two fitted Gaussians; leading dimensions broadcast.

    `sqrt(dmu^T ((cov_a + cov_b)/2 + eps I)^-1 dmu)`. The pooled covariance is symmetric
    positive definite for eps > 0, so a Cholesky factorisation and triangular solve replace
    the seeds' `pinv` / `inverse`: cheaper, stabler, and differentiable. The solve runs in
    float64 whatever the input precision (SSL-VQA's eps of 1e-8 is below float32 resolution,
    where the result would be rounding noise) and the distance is returned in the input
    dtype; if rounding still leaves the matrix indefinite, a pivoted LU solve takes over. The
    square root has a zero (not NaN) gradient where the distance is exactly 0.
    """
    if eps <= 0:
        raise ValueError(f"eps must be > 0 so the pooled covariance is invertible, got {eps}")
    out_dtype, out_device = mean_a.dtype, mean_a.device
    work = _float64_device(out_device)
    mean_a, cov_a, mean_b, cov_b = (t.to(work, torch.float64) for t in (mean_a, cov_a, mean_b, cov_b))
    dim = mean_a.shape[-1]
    pooled = (cov_a + cov_b) / 2 + eps * torch.eye(dim, dtype=torch.float64, device=cov_a.device)
    delta = (mean_a - mean_b).unsqueeze(-1)
    delta = delta.expand(*pooled.shape[:-1], 1)
    chol, info = torch.linalg.cholesky_ex(pooled)
    if bool((info == 0).all()):
        sq = torch.linalg.solve_triangular(chol, delta, upper=False).square().sum(dim=(-2, -1))
    else:
        sq = (delta * torch.linalg.solve(pooled, delta)).sum(dim=(-2, -1)).clamp_min(0)
    positive = sq > 0
    dist = torch.where(
        positive, torch.sqrt(torch.where(positive, sq, torch.ones_like(sq))), torch.zeros_like(sq)
    )
    return dist.to(out_device, out_dtype)


def gaussian_fit_distance(tokens_a: torch.Tensor, tokens_b: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """Distance between Gaussians fitted to token sets (N, D) or batches (…, N, D).

    Leading dimensions broadcast, so `gaussian_fit_distance(a[:, None], b[None])` with
    a, b of shape (K, N, D) gives the (K, K) matrix of ST-VQRL's objective; each set is
    fitted once. `eps` regularises the pooled covariance (ST-VQRL 1e-4, SSL-VQA 1e-8). The
    statistics are computed in float64 (see `gaussian_distance`); the result has the
    tokens' dtype and gradients flow back through the casts.
    """
    if tokens_a.shape[-1] != tokens_b.shape[-1]:
        raise ValueError(
            f"token sets must have the same feature size, got {tokens_a.shape[-1]} and {tokens_b.shape[-1]}"
        )
    out_dtype, out_device = tokens_a.dtype, tokens_a.device
    work = _float64_device(out_device)
    mean_a, cov_a = fit_gaussian(tokens_a.to(work, torch.float64))
    mean_b, cov_b = fit_gaussian(tokens_b.to(work, torch.float64))
    return gaussian_distance(mean_a, cov_a, mean_b, cov_b, eps=eps).to(out_device, out_dtype)
