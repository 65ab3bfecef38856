"""The NSS regressor: sklearn's fit, kept as plain arrays that predict exactly what sklearn would."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from vqa_core.errors import VqaError
from vqa_floors.config import RegressorConfig
from vqa_floors.regression import FeatureRegressor, fit_regressor


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    y = np.tanh(x[:, 0]) + 0.5 * x[:, 1] ** 2 + 0.05 * rng.normal(size=n)
    return x, y


def test_svr_arrays_predict_what_sklearn_predicts():
    x, y = _data(60, 0)
    x_val, y_val = _data(20, 1)
    cfg = RegressorConfig(c_grid=[3.0], gamma_grid=[0.5])
    reg, history = fit_regressor(x, y, x_val, y_val, cfg)
    scaler = StandardScaler().fit(x)
    ref = SVR(kernel="rbf", C=3.0, gamma=0.5 / 6, epsilon=cfg.epsilon).fit(scaler.transform(x), y)
    x_test, _ = _data(15, 2)
    np.testing.assert_allclose(
        reg.predict(x_test), ref.predict(scaler.transform(x_test)), rtol=1e-9, atol=1e-12
    )
    assert history["selected"] == {"C": 3.0, "gamma_mult": 0.5}


def test_selection_uses_validation_srcc_and_ignores_nothing_else():
    x, y = _data(80, 3)
    x_val, y_val = _data(30, 4)
    cfg = RegressorConfig(c_grid=[0.01, 10.0], gamma_grid=[0.01, 1.0])
    _, history = fit_regressor(x, y, x_val, y_val, cfg)
    best = max(history["grid"], key=lambda t: t["val_srcc"])
    assert history["selected"] == {"C": best["C"], "gamma_mult": best["gamma_mult"]}
    assert history["selected_by"] == "validation SRCC"
    assert len(history["grid"]) == 4
    assert history["val_srcc"] == pytest.approx(best["val_srcc"])  # the kept model is the one scored


def test_too_few_validation_items_fall_back_to_the_grid_middle():
    x, y = _data(30, 5)
    cfg = RegressorConfig(c_grid=[0.1, 1.0, 10.0], gamma_grid=[1.0])
    _, history = fit_regressor(x, y, x[:2], y[:2], cfg)
    assert history["selected"] == {"C": 1.0, "gamma_mult": 1.0}
    assert "fewer than" in history["selected_by"] and history["grid"] == []


def test_ridge_and_missing_features():
    x, y = _data(40, 6)
    x = x.copy()
    x[3, 2] = np.nan  # a flat frame has no NSS shape
    reg, _ = fit_regressor(x, y, *_data(10, 7), RegressorConfig(kind="ridge", alpha_grid=[1.0]))
    assert reg.kind == "ridge" and reg.support is None
    assert reg.fill[2] == pytest.approx(np.nanmean(x[:, 2]))
    probe = np.full((1, 6), np.nan)
    np.testing.assert_allclose(reg.predict(probe), reg.predict(reg.fill[None, :]))


def test_state_round_trip_through_weights_only_torch_load():
    x, y = _data(50, 8)
    reg, _ = fit_regressor(x, y, *_data(12, 9), RegressorConfig(c_grid=[1.0, 10.0], gamma_grid=[0.3]))
    buf = io.BytesIO()
    torch.save(reg.state_dict(), buf)
    buf.seek(0)
    state = torch.load(buf, weights_only=True)
    back = FeatureRegressor.from_state(state)
    x_test, _ = _data(9, 10)
    np.testing.assert_array_equal(back.predict(x_test), reg.predict(x_test))
    assert isinstance(state["support"], torch.Tensor) and isinstance(state["coef"], torch.Tensor)


def test_wrong_feature_count_is_an_error():
    x, y = _data(20, 11)
    reg, _ = fit_regressor(x, y, x[:0], y[:0], RegressorConfig())
    with pytest.raises(VqaError, match="expects 6 features"):
        reg.predict(np.zeros((1, 5)))
    with pytest.raises(VqaError, match="at least 3 training videos"):
        fit_regressor(x[:2], y[:2], x[:0], y[:0], RegressorConfig())
