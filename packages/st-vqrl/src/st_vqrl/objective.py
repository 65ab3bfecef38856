"""ST-VQRL's distribution-contrastive objective (seed_audit §4.3).

For one scene with V versions seen in two clips: fit a Gaussian to each clip's projected token
set, take the NIQE-like distance d(i, j) between version i in clip 1 and version j in clip 2
(`vqa_core.losses.gaussian_fit_distance`), score pairs by exp(-tau * d) (tau multiplies, as in
the seed) and ask each version to find itself in the other clip among the scene's versions:
InfoNCE `-log(sim(i, i) / sum_j sim(i, j))`, both directions, summed over i and divided by V
(= mean over i per direction, summed over the two directions), averaged over scenes. The
negatives are the other versions of the same scene only: the representation must separate
distortions, not contents.

`shrinkage` (0 = the seed) pulls each fitted covariance toward a multiple of the identity with
the same trace, `(1 - s) cov + s tr(cov)/D I`, before pooling. The seed fits 784 tokens in 64
dimensions; at CPU scale a clip has tens of tokens, the sample covariance is rank-deficient,
and with the seed's eps of 1e-4 the distance is dominated by mean differences in its null
space scaled by 1/sqrt(eps): large, noisy and not a property of the distributions. Shrinkage
keeps the pooled matrix well conditioned relative to the features' own scale.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vqa_core.losses import fit_gaussian, gaussian_distance, gaussian_fit_distance

__all__ = ["distance_matrix", "shrink_covariance", "stvqrl_loss"]


def shrink_covariance(cov: torch.Tensor, amount: float) -> torch.Tensor:
    """`(1 - amount) cov + amount * mean(diag(cov)) I` for covariances (..., D, D); trace kept."""
    if not 0.0 <= amount <= 1.0:
        raise ValueError(f"covariance shrinkage must be in [0, 1], got {amount}")
    if amount == 0.0:
        return cov
    scale = torch.diagonal(cov, dim1=-2, dim2=-1).mean(dim=-1)[..., None, None]
    eye = torch.eye(cov.shape[-1], dtype=cov.dtype, device=cov.device)
    return (1.0 - amount) * cov + amount * scale * eye


def distance_matrix(
    view1: torch.Tensor, view2: torch.Tensor, eps: float = 1e-4, shrinkage: float = 0.0
) -> torch.Tensor:
    """(V, V) distances between the token sets (V, N, D) of two clips; [i, j] = d(view1[i], view2[j])."""
    if shrinkage == 0.0:
        return gaussian_fit_distance(view1[:, None], view2[None, :], eps=eps)
    dtype = view1.dtype
    mean1, cov1 = fit_gaussian(view1.double())
    mean2, cov2 = fit_gaussian(view2.double())
    cov1, cov2 = shrink_covariance(cov1, shrinkage), shrink_covariance(cov2, shrinkage)
    return gaussian_distance(mean1[:, None], cov1[:, None], mean2[None], cov2[None], eps=eps).to(dtype)


def stvqrl_loss(
    tokens: torch.Tensor, tau: float = 0.1, eps: float = 1e-4, shrinkage: float = 0.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """Loss over a batch of scenes, tokens (B, V, 2, N, D); returns (loss, logs).

    Logs: `acc` (share of versions whose nearest version in the other clip is itself) and
    `d_pos` / `d_neg` (mean distance of positive and negative pairs).
    """
    if tokens.ndim != 5 or tokens.shape[2] != 2:
        raise ValueError(f"tokens must be (B, V, 2, N, D), got shape {tuple(tokens.shape)}")
    b, v = tokens.shape[:2]
    if v < 2:
        raise ValueError(f"the objective needs at least 2 versions per scene, got {v}")
    target = torch.arange(v, device=tokens.device)
    eye = torch.eye(v, dtype=torch.bool, device=tokens.device)
    losses, acc, d_pos, d_neg = [], 0.0, 0.0, 0.0
    for i in range(b):
        d = distance_matrix(tokens[i, :, 0], tokens[i, :, 1], eps=eps, shrinkage=shrinkage)
        logits = -tau * d
        losses.append(F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
        with torch.no_grad():
            acc += float((d.argmin(dim=1) == target).float().mean())
            d_pos += float(d[eye].mean())
            d_neg += float(d[~eye].mean())
    loss = torch.stack(losses).mean()
    return loss, {"acc": acc / b, "d_pos": d_pos / b, "d_neg": d_neg / b}
