"""Quality-prediction metrics and their aggregation over repeated splits (the field's protocol).

SRCC and KRCC are computed on the raw predictions. PLCC and RMSE are reported after the
4-parameter logistic mapping of VIDEVAL / SimpleVQA / ModularBVQA,

    f(x) = b2 + (b1 - b2) / (1 + exp(-(x - b3) / |b4|)),   init [max(mos), min(mos), mean(pred), 0.5],

(further starts with b4 = std(pred)/4 and centres at the quartiles are tried and the best fit
kept), which removes the monotonic non-linearity between a model's output scale and MOS
before the linear correlation is taken; `plcc_raw` is the plain Pearson correlation that
FAST-VQA, DOVER and pyiqa report. RMSE is in the units of `mos`.

The mapping is VQEG's *monotonic increasing* one: the fit is bounded to b1 >= b2 and b4 > 0.
An unconstrained fit bends either way, so a model whose scores fall as quality rises would be
mapped by a decreasing curve and report a high positive PLCC (ssl on the demo: SRCC -0.345,
PLCC 0.471). A least-squares fit over increasing curves never gives a negative correlation
either, so a predictor that is not positively correlated at all (`plcc_raw <= 0`, where the
best increasing line is flat) gets no mapping: `fit` is "none", PLCC is `plcc_raw` (<= 0, so a
backwards model reads as one in a table) and RMSE is that of the flat line, the standard
deviation of `mos`.

When the logistic fit fails (`curve_fit` does not converge, returns non-finite parameters, or
stops at a curve that fits worse than a straight line) the mapping falls back to a
least-squares line (increasing, since `plcc_raw > 0`); `fit` in the result says which
mapping was used ("logistic4", "linear" or "none"), so a table can flag it.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
from scipy import optimize, special, stats

from vqa_core.errors import VqaError

__all__ = ["MetricInputError", "aggregate", "fit_logistic4", "logistic4", "quality_metrics"]


class MetricInputError(VqaError, ValueError):
    """Inputs to a metric are unusable (length mismatch, NaN, constant, too few items)."""


def logistic4(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """VIDEVAL's monotonic 4-parameter logistic; `|b4|` keeps the slope sign fixed by b1 - b2."""
    # expit(u) = 1 / (1 + exp(-u)), evaluated without overflow for large |u|
    return b2 + (b1 - b2) * special.expit((x - b3) / abs(b4))


def _as_vector(name: str, values) -> np.ndarray:
    if hasattr(values, "detach"):  # torch tensor
        values = values.detach().cpu().numpy()
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 2 and 1 in arr.shape:  # (N, 1) or (1, N) columns from a model head
        arr = arr.reshape(-1)
    if arr.ndim != 1:
        raise MetricInputError(f"{name} must be a 1-D sequence of scores, got shape {arr.shape}")
    return arr


def _check_inputs(pred, mos) -> tuple[np.ndarray, np.ndarray]:
    p, y = _as_vector("pred", pred), _as_vector("mos", mos)
    if p.shape != y.shape:
        raise MetricInputError(f"pred has {p.size} scores but mos has {y.size}; they must pair one to one")
    if p.size < 3:
        raise MetricInputError(f"quality metrics need at least 3 videos, got {p.size}")
    for name, arr in (("pred", p), ("mos", y)):
        bad = np.flatnonzero(~np.isfinite(arr))
        if bad.size:
            raise MetricInputError(
                f"{name} has {bad.size} non-finite value(s) (first at index {bad[0]}: {arr[bad[0]]}); "
                "drop or fix those videos before computing metrics"
            )
        if np.ptp(arr) == 0:
            raise MetricInputError(
                f"{name} is constant ({arr[0]!r} for all {arr.size} videos): correlations are undefined"
            )
    return p, y


def _rising_logistic(x: np.ndarray, low: float, span: float, centre: float, scale: float) -> np.ndarray:
    """`logistic4` written as b2 = low, b1 = low + span, so that `span >= 0` (an increasing curve) is a bound."""
    return low + span * special.expit((x - centre) / scale)


def _rising_logistic_jacobian(
    x: np.ndarray, low: float, span: float, centre: float, scale: float
) -> np.ndarray:
    """Analytic derivatives of `_rising_logistic`.

    curve_fit's finite differences scale the step with each parameter, so a centre
    initialised at mean(pred) ~ 1e-16 (z-scored predictions) never moves; exact derivatives
    avoid that stall.
    """
    s = special.expit((x - centre) / scale)
    ds = span * s * (1.0 - s)
    return np.stack([np.ones_like(x), s, -ds / scale, -ds * (x - centre) / scale**2], axis=1)


def fit_logistic4(pred, mos) -> np.ndarray | None:
    """Least-squares parameters (b1, b2, b3, b4) of an *increasing* `logistic4` mapping `pred` to `mos`, or None.

    The fit is bounded to b1 >= b2 and b4 > 0 (VQEG's monotonic mapping, see the module doc):
    on anti-correlated predictions it flattens (b1 ~ b2) instead of turning over. Starts from
    VIDEVAL's init `[max(mos), min(mos), mean(pred), 0.5]`; since a slope of 0.5 only suits
    predictions on a unit-ish scale, a second slope `b4 = std(pred)/4` (pyiqa's init) is tried
    too, and since one centre can stall on a skewed curve, centres at the quartiles of `pred`
    as well; the lowest squared error is kept. None means no start converged to finite
    parameters. This is the one fit `quality_metrics`, the checkpoint calibration and the
    plots share.
    """
    p, y = _as_vector("pred", pred), _as_vector("mos", mos)
    if p.size < 4 or np.ptp(p) == 0:  # four parameters need four distinct-ish points; callers fall back
        return None
    best, best_sse = None, np.inf
    centres = (float(np.mean(p)), float(np.percentile(p, 25)), float(np.percentile(p, 75)))
    starts = [(c, b4) for c in centres for b4 in (0.5, float(np.std(p)) / 4) if b4 > 0]
    span0 = max(float(np.ptp(y)), 1e-12)
    # b4 is kept off 0 by a tiny fraction of the prediction range: a step, but a finite one.
    lower = [-np.inf, 0.0, -np.inf, 1e-9 * float(np.ptp(p))]
    for centre, b4 in starts:
        p0 = [float(np.min(y)), span0, centre, max(b4, 2 * lower[3])]
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optimize.OptimizeWarning)
                params, _ = optimize.curve_fit(
                    _rising_logistic,
                    p,
                    y,
                    p0=p0,
                    jac=_rising_logistic_jacobian,
                    bounds=(lower, [np.inf] * 4),
                    max_nfev=20000,
                )
        except (RuntimeError, ValueError, FloatingPointError):
            continue
        if not np.all(np.isfinite(params)) or params[3] <= 0:
            continue
        fitted = _rising_logistic(p, *params)
        sse = float(np.sum((fitted - y) ** 2))
        if np.all(np.isfinite(fitted)) and sse < best_sse:
            low, span, centre, scale = (float(v) for v in params)
            best, best_sse = np.array([low + span, low, centre, scale]), sse
    return best


def _fit_mapping(p: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, str]:
    """Predictions mapped to MOS units by the increasing logistic, by an increasing line when
    the logistic fails, or by the flat line (`fit` "none") when no increasing map helps."""
    slope, intercept = np.polyfit(p, y, 1)
    if not slope > 0:  # the best increasing line is flat: nothing to map (see the module doc)
        return np.full_like(y, float(np.mean(y))), "none"
    linear = slope * p + intercept
    params = fit_logistic4(p, y)
    if params is None:
        return linear, "linear"
    fitted = logistic4(p, *params)
    # A logistic that fits worse than a straight line stopped in a poor local minimum.
    if float(np.sum((fitted - y) ** 2)) > float(np.sum((linear - y) ** 2)) * (1 + 1e-9) + 1e-12:
        return linear, "linear"
    return fitted, "logistic4"


def _pearson(a: np.ndarray, b: np.ndarray) -> float:
    if np.ptp(a) == 0:  # a fitted mapping collapsed to a constant: no linear association
        return 0.0
    return float(stats.pearsonr(a, b)[0])


def quality_metrics(pred, mos) -> dict[str, float | str]:
    """SRCC, KRCC, PLCC (after logistic fit), raw PLCC and RMSE (after fit, MOS units) of predictions.

    `pred` and `mos` are 1-D sequences (lists, numpy arrays, torch tensors) of equal length,
    at least 3 items, finite and not constant; otherwise `MetricInputError` (a `ValueError`
    and a `VqaError`) says what is wrong. SRCC, KRCC and `plcc_raw` keep their sign: a model
    whose score falls as quality rises gets negative values, which a benchmark should show,
    not hide. `plcc` after the fit measures how well the fitted *increasing* curve explains
    MOS; for a predictor with `plcc_raw <= 0` there is none (`fit` "none") and `plcc` is
    `plcc_raw`, so it is never positive then (see the module doc).
    """
    p, y = _check_inputs(pred, mos)
    mapped, fit = _fit_mapping(p, y)
    plcc_raw = _pearson(p, y)
    return {
        "srcc": float(stats.spearmanr(p, y)[0]),
        "krcc": float(stats.kendalltau(p, y)[0]),
        "plcc": plcc_raw if fit == "none" else _pearson(mapped, y),
        "plcc_raw": plcc_raw,
        "rmse": float(np.sqrt(np.mean((mapped - y) ** 2))),
        "fit": fit,
        "n": int(p.size),
    }


def aggregate(per_split: Sequence[Mapping[str, object]]) -> dict[str, dict[str, float]]:
    """Median, mean and standard deviation (ddof=1, 0 for one split) of each numeric metric over splits.

    The field reports the median over repeated 80/20 splits (VIDEVAL, ModularBVQA) and often
    mean +- std (pyiqa); both are returned. Non-numeric entries such as `fit` are skipped; a
    metric missing from some splits is aggregated over the splits that have it, and `n` says
    how many did.
    """
    if not per_split:
        raise MetricInputError("aggregate needs at least one split's metrics, got an empty list")
    names: list[str] = []
    for split in per_split:
        for key, value in split.items():
            if (
                key not in names
                and isinstance(value, int | float | np.number)
                and not isinstance(value, bool)
            ):
                names.append(key)
    out: dict[str, dict[str, float]] = {}
    for key in names:
        values = np.array([float(s[key]) for s in per_split if key in s], dtype=np.float64)
        out[key] = {
            "median": float(np.median(values)),
            "mean": float(np.mean(values)),
            "std": float(np.std(values, ddof=1)) if values.size > 1 else 0.0,
            "n": float(values.size),
        }
    return out
