"""Saliency-prediction metrics as defined by the MIT saliency benchmark (also used for DHF1K).

Each metric is computed per frame and then averaged over frames, which is how video saliency
benchmarks (DHF1K, DIEM) report them:

- `auc_judd`: ROC area with thresholds at the predicted saliency of every fixated pixel;
  true positives are fixations above the threshold, false positives are non-fixated pixels
  above it. MIT adds a tiny random jitter to break ties; here ties are counted exactly
  (`>=`, tie-aware true-positive counts) instead, which is deterministic and gives exactly
  0.5 for a uniform map.
- `sauc` (shuffled AUC): negatives are the predicted saliency at fixations of *other*
  frames/videos (`other_fixations`), which cancels centre bias. As in MIT's code the map is
  rescaled to [0, 1], thresholds step by 0.1, and the score is the mean over 100 random draws
  of `min(#fixations, #other fixations)` negatives (seeded, so repeatable).
- `nss`: mean of the z-scored prediction (std with ddof=1, as MATLAB) at fixations.
- `cc`: Pearson correlation between the prediction and the continuous ground-truth map.
- `sim`: histogram intersection `sum(min(p, g))` after rescaling each map to [0, 1] and
  normalising it to sum 1.
- `kld`: `sum(g * log(eps + g / (p + eps)))` with `p`, `g` normalised to sum 1 and MATLAB's
  eps 2.2204e-16 (KL divergence of the prediction from the ground truth; lower is better).

Undefined cases: a constant prediction carries no information, so its NSS and CC are 0
rather than NaN; frames whose ground-truth map is empty (all zero) are skipped for CC, SIM
and KLD, frames without fixations for AUC-Judd, sAUC and NSS.
"""

from __future__ import annotations

import numpy as np

from vqa_core.metrics.quality import MetricInputError

__all__ = ["KLD_EPS", "saliency_metrics", "saliency_metrics_per_frame"]

KLD_EPS = 2.2204e-16  # MATLAB eps, as in the MIT benchmark's KLdiv.m


def _as_frames(name: str, value, allow_none: bool = False) -> np.ndarray | None:
    if value is None:
        if allow_none:
            return None
        raise MetricInputError(f"{name} is required")
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise MetricInputError(f"{name} must be (H, W) or (T, H, W), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise MetricInputError(f"{name} contains NaN or infinite values")
    if arr.min() < 0:
        raise MetricInputError(
            f"{name} has negative values (min {arr.min():.4g}); saliency maps must be >= 0"
        )
    return arr


def _minmax(x: np.ndarray) -> np.ndarray:
    span = x.max() - x.min()
    return (x - x.min()) / span if span > 0 else np.zeros_like(x)


def _to_distribution(x: np.ndarray, rescale: bool) -> np.ndarray:
    if rescale and np.ptp(x) > 0:
        x = _minmax(x)
    total = x.sum()
    return x / total if total > 0 else np.full_like(x, 1.0 / x.size)


def _zscore(x: np.ndarray) -> np.ndarray | None:
    std = x.std(ddof=1)
    return (x - x.mean()) / std if std > 0 else None


def _cc(pred: np.ndarray, gt: np.ndarray) -> float:
    zp, zg = _zscore(pred.ravel()), _zscore(gt.ravel())
    if zp is None or zg is None:
        return 0.0
    return float(np.sum(zp * zg) / (zp.size - 1))


def _sim(pred: np.ndarray, gt: np.ndarray) -> float:
    return float(np.minimum(_to_distribution(pred, True), _to_distribution(gt, True)).sum())


def _kld(pred: np.ndarray, gt: np.ndarray) -> float:
    p = pred / pred.sum() if pred.sum() > 0 else np.full_like(pred, 1.0 / pred.size)
    g = gt / gt.sum()
    return float(np.sum(g * np.log(KLD_EPS + g / (p + KLD_EPS))))


def _nss(pred: np.ndarray, fix: np.ndarray) -> float:
    z = _zscore(pred.ravel())
    return 0.0 if z is None else float(z[fix.ravel()].mean())


def _auc_judd(pred: np.ndarray, fix: np.ndarray) -> float:
    values = pred.ravel()
    at_fix = values[fix.ravel()]
    n_fix, n_pix = at_fix.size, values.size
    if n_fix == n_pix:
        return float("nan")  # every pixel fixated: no negatives
    thresholds = np.sort(at_fix)[::-1]
    sorted_all, sorted_fix = np.sort(values), np.sort(at_fix)
    above_all = n_pix - np.searchsorted(sorted_all, thresholds, side="left")
    above_fix = n_fix - np.searchsorted(sorted_fix, thresholds, side="left")
    tp = np.concatenate([[0.0], above_fix / n_fix, [1.0]])
    fp = np.concatenate([[0.0], (above_all - above_fix) / (n_pix - n_fix), [1.0]])
    return float(np.trapezoid(tp, fp))


def _sauc(
    pred: np.ndarray, fix: np.ndarray, other: np.ndarray, rng: np.random.Generator, splits: int, step: float
) -> float:
    values = _minmax(pred).ravel()
    at_fix = values[fix.ravel()]
    other_idx = np.flatnonzero(other.ravel())
    if other_idx.size == 0:
        return float("nan")
    k = min(at_fix.size, other_idx.size)
    draws = np.stack([values[rng.permutation(other_idx)[:k]] for _ in range(splits)])  # (splits, k)
    # MIT steps thresholds from max(positives, negatives) down to 0; thresholds above that max
    # only add (0, 0) points, so one shared grid over [0, 1] gives the same areas for all draws.
    thresholds = (np.arange(int(np.floor(1.0 / step + 1e-9)) + 1) * step)[::-1]
    tp = (at_fix[None, :] >= thresholds[:, None]).mean(axis=1)  # (K,)
    fp = (draws[:, None, :] >= thresholds[None, :, None]).mean(axis=2)  # (splits, K)
    zeros, ones = np.zeros((splits, 1)), np.ones((splits, 1))
    tp_curve = np.concatenate([zeros, np.broadcast_to(tp, fp.shape), ones], axis=1)
    fp_curve = np.concatenate([zeros, fp, ones], axis=1)
    return float(np.trapezoid(tp_curve, fp_curve, axis=1).mean())


def saliency_metrics_per_frame(
    pred_map,
    gt_map,
    fixations=None,
    other_fixations=None,
    sauc_splits: int = 100,
    sauc_step: float = 0.1,
    seed: int = 0,
) -> dict[str, np.ndarray]:
    """Every computable metric for every frame, shape (T,), NaN where a frame is skipped.

    `pred_map` and `gt_map` are non-negative (T, H, W) or (H, W) arrays or tensors of the
    same shape; `fixations` are binary maps of the same shape (> 0 means fixated);
    `other_fixations` is a binary (H, W) map shared by all frames or a (T, H, W) stack, the
    fixations of other frames/videos used as sAUC negatives. `seed` drives the sAUC draws.
    """
    pred = _as_frames("pred_map", pred_map)
    gt = _as_frames("gt_map", gt_map)
    if pred.shape != gt.shape:
        raise MetricInputError(f"pred_map {pred.shape} and gt_map {gt.shape} must have the same shape")
    fix = _as_frames("fixations", fixations, allow_none=True)
    other = _as_frames("other_fixations", other_fixations, allow_none=True)
    if fix is not None and fix.shape != pred.shape:
        raise MetricInputError(f"fixations {fix.shape} must match pred_map {pred.shape}")
    if other is not None:
        if fix is None:
            raise MetricInputError("other_fixations (for sAUC) need fixations too")
        if other.shape[1:] != pred.shape[1:] or other.shape[0] not in (1, pred.shape[0]):
            raise MetricInputError(
                f"other_fixations {other.shape} must be (H, W) or (T, H, W) matching pred_map {pred.shape}"
            )
    num_frames = pred.shape[0]
    names = ["cc", "sim", "kld"]
    if fix is not None:
        names += ["auc_judd", "nss"]
    if other is not None:
        names.append("sauc")
    out = {name: np.full(num_frames, np.nan) for name in names}
    rng = np.random.default_rng(seed)
    for t in range(num_frames):
        p, g = pred[t], gt[t]
        if g.sum() > 0:
            out["cc"][t], out["sim"][t], out["kld"][t] = _cc(p, g), _sim(p, g), _kld(p, g)
        if fix is None:
            continue
        f = fix[t] > 0
        if not f.any():
            continue
        out["auc_judd"][t] = _auc_judd(p, f)
        out["nss"][t] = _nss(p, f)
        if other is not None:
            o = other[t if other.shape[0] > 1 else 0] > 0
            out["sauc"][t] = _sauc(p, f, o, rng, sauc_splits, sauc_step)
    return out


def saliency_metrics(
    pred_map,
    gt_map,
    fixations=None,
    other_fixations=None,
    sauc_splits: int = 100,
    sauc_step: float = 0.1,
    seed: int = 0,
) -> dict[str, float]:
    """Per-frame saliency metrics averaged over the frames where each is defined.

    Returns `cc`, `sim`, `kld` always; `auc_judd` and `nss` when `fixations` are given;
    `sauc` when `other_fixations` are given too. A metric undefined on every frame is NaN.
    See `saliency_metrics_per_frame` for the input conventions.
    """
    per_frame = saliency_metrics_per_frame(
        pred_map, gt_map, fixations, other_fixations, sauc_splits=sauc_splits, sauc_step=sauc_step, seed=seed
    )
    return {
        name: float(np.mean(v[~np.isnan(v)])) if np.any(~np.isnan(v)) else float("nan")
        for name, v in per_frame.items()
    }
