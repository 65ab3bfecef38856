"""Quality and saliency metrics on hand-computed cases."""

from __future__ import annotations

import math
import statistics

import numpy as np
import pytest
import torch

from vqa_core import VqaError
from vqa_core.metrics import (
    MetricInputError,
    aggregate,
    fit_logistic4,
    logistic4,
    quality_metrics,
    saliency_metrics,
    saliency_metrics_per_frame,
)
from vqa_core.metrics import quality as quality_module

# ---------------------------------------------------------------- quality metrics


def test_rank_correlations_hand_computed():
    m = quality_metrics([1, 2, 3, 4], [1, 3, 2, 4])
    # Spearman: 1 - 6 * sum(d^2) / (n (n^2 - 1)) = 1 - 6*2/60; Kendall: (5 concordant - 1 discordant) / 6
    assert m["srcc"] == pytest.approx(0.8)
    assert m["krcc"] == pytest.approx(4 / 6)
    assert m["plcc_raw"] == pytest.approx(0.8)  # cov 1.0 / var 1.25 for these two vectors
    assert m["n"] == 4


def test_logistic_fit_recovers_monotonic_nonlinearity():
    x = np.linspace(-3, 3, 40)
    mos = logistic4(x, 80.0, 20.0, 0.3, 0.6)
    m = quality_metrics(x, mos)
    assert m["fit"] == "logistic4"
    assert m["plcc"] == pytest.approx(1.0, abs=1e-6)
    assert m["rmse"] == pytest.approx(0.0, abs=1e-3)
    assert m["srcc"] == pytest.approx(1.0) and m["krcc"] == pytest.approx(1.0)
    assert m["plcc_raw"] == pytest.approx(float(np.corrcoef(x, mos)[0, 1]))
    assert m["plcc_raw"] < 0.99


def test_logistic_fit_on_a_0_100_prediction_scale():
    # b4 = 0.5 is far too steep for predictions spread over 0-100; the std/4 start must rescue it
    x = np.linspace(0, 100, 30)
    mos = logistic4(x, 4.8, 1.2, 55.0, 9.0)
    m = quality_metrics(x, mos)
    assert m["fit"] == "logistic4"
    assert m["plcc"] == pytest.approx(1.0, abs=1e-6)
    assert m["rmse"] == pytest.approx(0.0, abs=1e-4)


def test_fit_logistic4_recovers_parameters_from_z_scored_predictions():
    # mean(pred) ~ 1e-16: finite-difference steps scaled by b3 would never move the centre
    x = np.linspace(-2, 2, 25)
    x = (x - x.mean()) / x.std()
    mos = logistic4(x, 4.5, 1.5, 0.4, 0.3)
    params = fit_logistic4(x, mos)
    assert params is not None
    assert np.allclose(logistic4(x, *params), mos, atol=1e-6)
    assert params[2] == pytest.approx(0.4, abs=1e-4)


def test_logistic4_form_and_abs_beta4():
    # b2 + (b1 - b2) / (1 + exp(-(x - b3) / |b4|)), by hand at x = b3 + |b4|
    value = logistic4(np.array([1.5]), 5.0, 1.0, 1.0, -0.5)[0]
    assert value == pytest.approx(1.0 + 4.0 / (1.0 + math.exp(-1.0)))


def test_linear_fallback_when_logistic_fit_fails(monkeypatch):
    def failing_fit(*args, **kwargs):
        raise RuntimeError("Optimal parameters not found")

    monkeypatch.setattr(quality_module.optimize, "curve_fit", failing_fit)
    m = quality_metrics([0, 1, 2, 3], [0, 1, 2, 4])
    assert m["fit"] == "linear"
    # least squares by hand: slope 6.5/5 = 1.3, intercept -0.2, residuals .2 -.1 -.4 .3
    assert m["rmse"] == pytest.approx(math.sqrt(0.3 / 4))
    assert m["plcc"] == pytest.approx(m["plcc_raw"])


def _unconstrained_logistic_plcc(pred: np.ndarray, mos: np.ndarray) -> float:
    """PLCC after the fit as it was before the bounds: curve_fit free to bend either way (reference)."""
    from scipy import optimize

    best, best_sse = None, np.inf
    for centre in (np.mean(pred), *np.percentile(pred, [25, 75])):
        for b4 in (0.5, np.std(pred) / 4):
            p0 = [mos.max(), mos.min(), centre, b4]
            try:
                params, _ = optimize.curve_fit(logistic4, pred, mos, p0=p0, maxfev=20000)
            except RuntimeError:
                continue
            sse = float(np.sum((logistic4(pred, *params) - mos) ** 2))
            if sse < best_sse:
                best, best_sse = params, sse
    return float(np.corrcoef(logistic4(pred, *best), mos)[0, 1])


def _anti_correlated(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Scores that fall as MOS rises, with a saturating bend a free logistic can follow."""
    rng = np.random.default_rng(seed)
    mos = rng.uniform(1.0, 5.0, 80)
    pred = -np.tanh(1.5 * (mos - 3.0)) + rng.normal(0, 0.35, mos.size)
    return pred, mos


def test_anti_correlated_predictor_gets_no_positive_plcc():
    pred, mos = _anti_correlated()
    # What a free fit reported: the curve turns over and a backwards model looks good.
    assert _unconstrained_logistic_plcc(pred, mos) > 0.6
    m = quality_metrics(pred, mos)
    assert m["srcc"] < -0.5 and m["plcc_raw"] < -0.5
    assert m["fit"] == "none"
    assert m["plcc"] == m["plcc_raw"] <= 0
    assert m["rmse"] == pytest.approx(float(np.std(mos)))  # the flat line: mean MOS for every video


def test_fit_logistic4_only_fits_increasing_curves():
    pred, mos = _anti_correlated()
    b1, b2, _, b4 = fit_logistic4(pred, mos)
    assert b1 >= b2 and b4 > 0
    curve = logistic4(np.sort(pred), b1, b2, _, b4)
    assert np.all(np.diff(curve) >= 0)
    # At best a near-flat curve that explains noise, far from the 0.6+ of a curve that turns over.
    mapped = logistic4(pred, b1, b2, _, b4)
    assert np.ptp(mapped) < 1e-9 or np.corrcoef(mapped, mos)[0, 1] < 0.3


def test_positive_predictor_keeps_its_plcc_after_the_bounds():
    rng = np.random.default_rng(4)
    mos = rng.uniform(1.0, 5.0, 60)
    pred = np.tanh(1.2 * (mos - 2.5)) + rng.normal(0, 0.3, mos.size)
    m = quality_metrics(pred, mos)
    assert m["fit"] == "logistic4"
    assert m["plcc"] > 0.8
    assert m["plcc"] == pytest.approx(_unconstrained_logistic_plcc(pred, mos), abs=1e-4)
    b1, b2, _, b4 = fit_logistic4(pred, mos)
    assert b1 > b2 and b4 > 0


def test_a_falling_prediction_scale_is_not_flipped_by_the_calibration():
    from vqa_core.method import ScoreCalibration

    pred, mos = _anti_correlated()
    cal = ScoreCalibration.fit_logistic(pred, mos)
    mapped = cal.to_mos(np.sort(pred))
    assert np.all(np.diff(mapped) >= 0)  # never reverses the model's own ranking


def test_accepts_torch_and_column_vectors():
    pred = torch.tensor([[0.1], [0.4], [0.35], [0.8], [0.9]])
    m = quality_metrics(pred, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert m["srcc"] == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("pred", "mos", "match"),
    [
        ([1, 2, 3], [1, 2], "pair"),
        ([1, 2], [1, 2], "at least 3"),
        ([1, float("nan"), 3], [1, 2, 3], "non-finite"),
        ([2, 2, 2, 2], [1, 2, 3, 4], "constant"),
        ([1, 2, 3, 4], [3, 3, 3, 3], "constant"),
    ],
)
def test_bad_inputs_raise_clear_errors(pred, mos, match):
    with pytest.raises(MetricInputError, match=match) as info:
        quality_metrics(pred, mos)
    assert isinstance(info.value, ValueError) and isinstance(info.value, VqaError)


def test_aggregate_median_mean_std():
    splits = [
        {"srcc": 0.8, "plcc": 0.82, "fit": "logistic4"},
        {"srcc": 0.9, "plcc": 0.91, "fit": "linear"},
        {"srcc": 0.6, "plcc": 0.65, "fit": "logistic4"},
    ]
    agg = aggregate(splits)
    assert set(agg) == {"srcc", "plcc"}
    assert agg["srcc"]["median"] == pytest.approx(0.8)
    assert agg["srcc"]["mean"] == pytest.approx(statistics.mean([0.8, 0.9, 0.6]))
    assert agg["srcc"]["std"] == pytest.approx(statistics.stdev([0.8, 0.9, 0.6]))
    assert agg["plcc"]["n"] == 3
    assert aggregate([{"srcc": 0.5}])["srcc"]["std"] == 0.0
    with pytest.raises(MetricInputError):
        aggregate([])


# ---------------------------------------------------------------- saliency metrics


def test_identical_maps_are_perfect():
    rng = np.random.default_rng(0)
    gt = rng.random((3, 12, 16))
    m = saliency_metrics(gt, gt)
    assert m["cc"] == pytest.approx(1.0)
    assert m["sim"] == pytest.approx(1.0)
    assert m["kld"] == pytest.approx(0.0, abs=1e-10)
    assert set(m) == {"cc", "sim", "kld"}


def test_uniform_prediction_is_chance():
    rng = np.random.default_rng(1)
    gt = rng.random((2, 10, 10))
    fix = rng.random((2, 10, 10)) > 0.9
    other = rng.random((10, 10)) > 0.8
    m = saliency_metrics(np.ones((2, 10, 10)), gt, fix, other)
    assert m["auc_judd"] == pytest.approx(0.5)
    assert m["sauc"] == pytest.approx(0.5)
    assert m["nss"] == 0.0 and m["cc"] == 0.0


def test_auc_judd_hand_computed():
    pred = np.array([[0.9, 0.1], [0.5, 0.3]])
    fix = np.array([[1, 0], [0, 1]])
    # thresholds 0.9 -> (fp 0, tp .5); 0.3 -> (fp .5, tp 1); trapezoid area 0.375 + 0.5
    m = saliency_metrics(pred, pred, fix)
    assert m["auc_judd"] == pytest.approx(0.875)


def test_auc_judd_matches_mit_loop_without_ties():
    rng = np.random.default_rng(5)
    pred = rng.random((9, 11))
    fix = rng.random((9, 11)) > 0.85
    values, at_fix = pred.ravel(), np.sort(pred[fix])[::-1]
    n_fix, n_pix = at_fix.size, values.size
    tp, fp = [0.0], [0.0]
    for i, th in enumerate(at_fix, start=1):  # MIT AUC_Judd.m
        tp.append(i / n_fix)
        fp.append((np.sum(values >= th) - i) / (n_pix - n_fix))
    tp.append(1.0)
    fp.append(1.0)
    expected = sum((fp[k + 1] - fp[k]) * (tp[k + 1] + tp[k]) / 2 for k in range(len(tp) - 1))
    assert saliency_metrics(pred, pred, fix)["auc_judd"] == pytest.approx(expected, abs=1e-12)


def test_nss_kld_sim_hand_computed():
    # NSS: mean 1, std (ddof=1) 2, z at the fixation (4 - 1) / 2
    m = saliency_metrics(
        np.array([[0.0, 0.0, 0.0, 4.0]]), np.array([[1.0, 1.0, 1.0, 1.0]]), np.array([[0, 0, 0, 1]])
    )
    assert m["nss"] == pytest.approx(1.5)
    # KLD of a uniform prediction from a one-hot ground truth: log 2
    assert saliency_metrics(np.array([[1.0, 1.0]]), np.array([[1.0, 0.0]]))["kld"] == pytest.approx(
        math.log(2)
    )
    # SIM: [0,1,3] -> [0,1/3,1] -> [0,.25,.75]; [0,1,1] -> [0,.5,.5]; sum of minima .75
    assert saliency_metrics(np.array([[0.0, 1.0, 3.0]]), np.array([[0.0, 1.0, 1.0]]))["sim"] == pytest.approx(
        0.75
    )


def test_cc_matches_pearson():
    rng = np.random.default_rng(2)
    pred, gt = rng.random((8, 8)), rng.random((8, 8))
    assert saliency_metrics(pred, gt)["cc"] == pytest.approx(np.corrcoef(pred.ravel(), gt.ravel())[0, 1])


def test_sauc_perfect_and_chance():
    fix = np.zeros((10, 10))
    fix[2, 3] = fix[5, 5] = fix[7, 1] = 1
    other = np.zeros((10, 10))
    other[0, 0] = other[9, 9] = other[4, 8] = other[1, 6] = 1
    # prediction peaks exactly at the fixations: negatives all score 0
    assert saliency_metrics(fix, fix + 0.1, fix, other)["sauc"] == pytest.approx(1.0)
    # negatives drawn from the very same fixations: indistinguishable from positives
    rng = np.random.default_rng(3)
    pred = rng.random((10, 10))
    assert saliency_metrics(pred, pred, fix, fix)["sauc"] == pytest.approx(0.5)


def _sauc_mit_loop(pred: np.ndarray, fix: np.ndarray, other: np.ndarray, step: float = 0.1) -> float:
    """MIT AUC_shuffled for one draw that uses every other fixation: thresholds 0:step:max."""
    s = (pred - pred.min()) / (pred.max() - pred.min())
    pos, neg = s[fix > 0], s[other > 0]
    top = max(pos.max(), neg.max())
    thresholds = [k * step for k in range(int(top / step + 1e-9) + 1)][::-1]
    tp, fp = [0.0], [0.0]
    for th in thresholds:
        tp.append(float(np.mean(pos >= th)))
        fp.append(float(np.mean(neg >= th)))
    tp.append(1.0)
    fp.append(1.0)
    return sum((fp[i + 1] - fp[i]) * (tp[i + 1] + tp[i]) / 2 for i in range(len(tp) - 1))


def test_sauc_matches_mit_procedure():
    rng = np.random.default_rng(4)
    pred = rng.random((12, 12)) ** 2
    flat = rng.permutation(144)
    fix = np.zeros(144)
    fix[flat[:30]] = 1
    other = np.zeros(144)
    other[flat[30:50]] = 1  # 20 other fixations < 30 fixations: every draw uses all of them
    fix, other = fix.reshape(12, 12), other.reshape(12, 12)
    expected = _sauc_mit_loop(pred, fix, other)
    assert saliency_metrics(pred, pred, fix, other)["sauc"] == pytest.approx(expected, abs=1e-12)


def test_per_frame_skips_frames_without_fixations_and_accepts_torch():
    gt = torch.rand(3, 6, 6, generator=torch.Generator().manual_seed(0))
    fix = torch.zeros(3, 6, 6)
    fix[0, 1, 1] = fix[2, 3, 4] = 1
    per = saliency_metrics_per_frame(gt, gt, fix)
    assert np.isnan(per["nss"][1]) and not np.isnan(per["nss"][0]) and not np.isnan(per["nss"][2])
    assert per["cc"].shape == (3,)
    avg = saliency_metrics(gt, gt, fix)
    assert avg["nss"] == pytest.approx(np.mean(per["nss"][[0, 2]]))


def test_saliency_input_errors():
    with pytest.raises(MetricInputError, match="same shape"):
        saliency_metrics(np.ones((4, 4)), np.ones((4, 5)))
    with pytest.raises(MetricInputError, match="negative"):
        saliency_metrics(-np.ones((4, 4)), np.ones((4, 4)))
    with pytest.raises(MetricInputError, match="need fixations"):
        saliency_metrics(np.ones((4, 4)), np.ones((4, 4)), other_fixations=np.ones((4, 4)))


def test_three_items_use_the_linear_mapping():
    # Three points cannot pin four logistic parameters: the metrics fall back to a line, not a crash.
    pred, mos = [1.0, 2.0, 3.5], [1.1, 2.5, 3.0]
    m = quality_metrics(pred, mos)
    assert m["fit"] == "linear" and m["n"] == 3
    slope, intercept = np.polyfit(pred, mos, 1)
    expected = np.sqrt(np.mean((slope * np.asarray(pred) + intercept - np.asarray(mos)) ** 2))
    assert m["rmse"] == pytest.approx(expected)
    assert m["srcc"] == pytest.approx(1.0)
