"""Per-frame saliency losses over H x W, in their standard forms (seed_audit §6 item 3).

The seeds normalised over the wrong axes (a softmax over *time* for KL, a correlation over
(T, H) per column for CC). Here every measure treats each frame's map as one distribution
over its H x W pixels; all leading dimensions are frames, and the loss is their mean.
Predictions are probabilities in [0, 1] (sigmoid of the logits); ground-truth maps are
non-negative and need no prior normalisation (all measures are scale-invariant in gt).
"""

from __future__ import annotations

import torch
from torch import nn

from saliency_core.config import LossConfig


def _flat(x: torch.Tensor) -> torch.Tensor:
    """(..., H, W) -> (frames, H*W) in float32."""
    return x.reshape(-1, x.shape[-2] * x.shape[-1]).float()


def _eps(x: torch.Tensor) -> float:
    return float(torch.finfo(x.dtype).eps)


def kld(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-frame KL(gt || pred) = sum g * log(eps + g / (p + eps)), both sum-normalised over H x W."""
    p, g = _flat(pred), _flat(gt)
    eps = _eps(p)
    p = p / (p.sum(1, keepdim=True) + eps)
    g = g / (g.sum(1, keepdim=True) + eps)
    return (g * torch.log(eps + g / (p + eps))).sum(1)


def cc(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-frame Pearson correlation over the H x W pixels."""
    p, g = _flat(pred), _flat(gt)
    p = p - p.mean(1, keepdim=True)
    g = g - g.mean(1, keepdim=True)
    # clamp before the sqrt: its gradient at 0 (a constant map) is infinite and would give NaN
    denom = ((p * p).sum(1) * (g * g).sum(1)).clamp_min(_eps(p) ** 2).sqrt()
    return (p * g).sum(1) / denom


def nss(pred: torch.Tensor, fixations: torch.Tensor) -> torch.Tensor:
    """Per-frame mean of the z-scored prediction at fixated pixels (NaN where a frame has none)."""
    p, f = _flat(pred), _flat(fixations) > 0
    std = p.var(1, unbiased=False, keepdim=True).clamp_min(_eps(p) ** 2).sqrt()  # finite gradient at 0
    z = (p - p.mean(1, keepdim=True)) / std
    count = f.sum(1)
    total = (z * f).sum(1)
    return torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, float("nan")))


def sim(pred: torch.Tensor, gt: torch.Tensor) -> torch.Tensor:
    """Per-frame histogram intersection sum min(p, g) of the sum-normalised maps (1 = identical)."""
    p, g = _flat(pred), _flat(gt)
    eps = _eps(p)
    p = p / (p.sum(1, keepdim=True) + eps)
    g = g / (g.sum(1, keepdim=True) + eps)
    return torch.minimum(p, g).sum(1)


class SaliencyLoss(nn.Module):
    """Weighted sum kld*KLD - cc*CC - nss*NSS - sim*SIM, averaged over frames.

    Takes logits (sigmoid is applied here, so the loss sees the same maps inference writes);
    NSS needs binary fixation maps and is skipped (with a clear error) when they are missing.
    """

    def __init__(self, weights: LossConfig | None = None) -> None:
        super().__init__()
        self.weights = weights or LossConfig()

    def forward(
        self, logits: torch.Tensor, gt: torch.Tensor, fixations: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """Return (scalar loss, {"kld", "cc", ...: mean per-frame values as floats})."""
        if logits.shape != gt.shape:
            raise ValueError(f"prediction {tuple(logits.shape)} and ground truth {tuple(gt.shape)} differ")
        pred = torch.sigmoid(logits.float())
        w = self.weights
        total = logits.new_zeros((), dtype=torch.float32)
        parts: dict[str, float] = {}
        # frames whose ground truth is empty (e.g. a crop cut the salient object away) carry no
        # distribution to match; they are left out, as the metrics leave them out
        valid = _flat(gt).sum(1) > 0
        if not bool(valid.any()):
            total = total + 0.0 * logits.sum()  # keeps the graph (DDP) without a signal
            parts["loss"] = 0.0
            return total, parts

        def masked_mean(values: torch.Tensor) -> torch.Tensor:
            return values[valid].mean()

        if w.kld:
            v = masked_mean(kld(pred, gt))
            total = total + w.kld * v
            parts["kld"] = float(v.detach())
        if w.cc:
            v = masked_mean(cc(pred, gt))
            total = total - w.cc * v
            parts["cc"] = float(v.detach())
        if w.sim:
            v = masked_mean(sim(pred, gt))
            total = total - w.sim * v
            parts["sim"] = float(v.detach())
        if w.nss:
            if fixations is None:
                raise ValueError("the loss weights NSS but the batch has no fixation maps; set loss.nss: 0")
            per_frame = nss(pred, fixations)
            valid = ~torch.isnan(per_frame)
            v = per_frame[valid].mean() if valid.any() else total.new_zeros(())
            total = total - w.nss * v
            parts["nss"] = float(v.detach())
        parts["loss"] = float(total.detach())
        return total, parts
