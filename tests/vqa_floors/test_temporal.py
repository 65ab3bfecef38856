"""Frame-difference statistics: temporal distortions leave the marks the features are built to see."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from vqa_floors.temporal import (
    DIFFERENCE_FEATURE_NAMES,
    RHYTHM_FEATURE_NAMES,
    autocorrelation,
    difference_features,
    rhythm_features,
)

T, H, W = 32, 64, 80


def _pan(frames: int = T) -> np.ndarray:
    """Smooth natural motion: a textured scene moving one pixel per frame (grey, 0-255)."""
    rng = np.random.default_rng(0)
    scene = ndimage.gaussian_filter(rng.uniform(0, 255, size=(H, W + frames)), 1.5) * 3 - 255
    scene = np.clip(scene, 0, 255)
    return np.stack([scene[:, t : t + W] for t in range(frames)])


def _named(values: np.ndarray) -> dict[str, float]:
    return dict(zip(RHYTHM_FEATURE_NAMES, values.tolist()))


def test_autocorrelation_by_hand():
    x = np.array([1.0, -1.0, 1.0, -1.0])  # mean 0, sum x^2 = 4
    assert autocorrelation(x, 1) == pytest.approx(-3 / 4)
    assert autocorrelation(x, 2) == pytest.approx(2 / 4)
    assert autocorrelation(np.ones(5), 1) == 0.0  # constant: no correlation to speak of
    assert autocorrelation(x, 9) == 0.0


def test_difference_features_layout_and_static_scene():
    pan = _pan()
    feats = difference_features(pan[0], pan[1])
    assert feats.shape == (len(DIFFERENCE_FEATURE_NAMES),) == (20,)
    assert np.all(np.isfinite(feats))
    still = difference_features(pan[0], pan[0])
    assert math.isnan(still[0])  # no change, no shape
    assert still[1] == 0.0  # log(1 + variance) of a zero difference
    assert feats[1] > 0


def test_difference_energy_grows_with_motion():
    pan = _pan()
    slow = difference_features(pan[0], pan[1])[1]
    fast = difference_features(pan[0], pan[4])[1]
    assert fast > slow


def test_duplicated_frames_show_as_zero_energy_and_period_two():
    natural = _pan()
    duplicated = natural.copy()
    duplicated[1::2] = duplicated[0::2]  # frame rate halved by repeating every other frame
    nat, dup = _named(rhythm_features(natural)), _named(rhythm_features(duplicated))
    assert dup["energy_min_over_median"] < 0.05 < nat["energy_min_over_median"]
    assert dup["energy_log_cv"] > nat["energy_log_cv"]
    assert dup["energy_autocorr_2"] > 0.5 > nat["energy_autocorr_2"]


def test_interpolated_frames_make_sharpness_periodic():
    natural = _pan()
    interpolated = natural.copy()
    # every third frame synthesised by blending its neighbours (a blurrier, in-between frame)
    for t in range(1, T - 1, 3):
        interpolated[t] = 0.5 * (natural[t - 1] + natural[t + 1])
    nat, interp = _named(rhythm_features(natural)), _named(rhythm_features(interpolated))
    assert interp["sharpness_flicker"] > 3 * nat["sharpness_flicker"]
    assert interp["sharpness_autocorr_3"] > 0.5
    assert interp["sharpness_autocorr_3"] > interp["sharpness_autocorr_2"]


def test_rhythm_features_need_a_window():
    with pytest.raises(ValueError, match="at least 6"):
        rhythm_features(_pan()[:4])
    feats = rhythm_features(_pan())
    assert feats.shape == (len(RHYTHM_FEATURE_NAMES),) and np.all(np.isfinite(feats))
