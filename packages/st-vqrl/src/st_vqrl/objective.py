"""ST-VQRL's distribution-contrastive objective (seed_audit §4.3).

For one scene with V versions seen in two clips: fit a Gaussian to each clip's projected token
set, take the NIQE-like distance d(i, j) between version i in clip 1 and version j in clip 2
(`vqa_core.losses.gaussian_fit_distance`), score pairs by exp(-tau * d) (tau multiplies, as in
the seed) and ask each version to find itself in the other clip among the scene's versions:
InfoNCE `-log(sim(i, i) / sum_j sim(i, j))`, both directions, summed over i and divided by V
(= mean over i per direction, summed over the two directions), averaged over scenes. The
negatives are the other versions of the same scene only: the representation must separate
distortions, not contents.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vqa_core.losses import gaussian_fit_distance

__all__ = ["distance_matrix", "stvqrl_loss"]


def distance_matrix(view1: torch.Tensor, view2: torch.Tensor, eps: float = 1e-4) -> torch.Tensor:
    """(V, V) distances between the token sets (V, N, D) of two clips; [i, j] = d(view1[i], view2[j])."""
    return gaussian_fit_distance(view1[:, None], view2[None, :], eps=eps)


def stvqrl_loss(
    tokens: torch.Tensor, tau: float = 0.1, eps: float = 1e-4
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
        d = distance_matrix(tokens[i, :, 0], tokens[i, :, 1], eps=eps)
        logits = -tau * d
        losses.append(F.cross_entropy(logits, target) + F.cross_entropy(logits.t(), target))
        with torch.no_grad():
            acc += float((d.argmin(dim=1) == target).float().mean())
            d_pos += float(d[eye].mean())
            d_neg += float(d[~eye].mean())
    loss = torch.stack(losses).mean()
    return loss, {"acc": acc / b, "d_pos": d_pos / b, "d_neg": d_neg / b}
