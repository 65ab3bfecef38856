"""BRISQUE NSS features: values worked out by hand on tiny arrays, and the paper's properties."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from vqa_floors.brisque import (
    BRISQUE_FEATURE_NAMES,
    NSS_FEATURE_NAMES,
    aggd_fit,
    brisque_features,
    downsample2,
    ggd_fit,
    mscn,
    nss_features,
)


def _grey(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    if image.ndim == 3:
        image = image[..., :3] @ np.array([0.299, 0.587, 0.114])
    return image.astype(np.float64)


def _jpeg(grey: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(np.clip(grey, 0, 255).astype(np.uint8)).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())), dtype=np.float64)


# -- hand-computed values -----------------------------------------------------------------


def test_ggd_fit_of_a_laplacian_moment_ratio_by_hand():
    # x = [2, -2, 0, 0]: E|x| = 1, E[x^2] = 2, so E|x|^2 / E[x^2] = 1/2, and
    # Gamma(2/a)^2 / (Gamma(1/a) Gamma(3/a)) = 1/2 exactly at a = 1 (1 / (1 * 2)): shape 1, variance 2
    shape, var = ggd_fit(np.array([2.0, -2.0, 0.0, 0.0]))
    assert shape == pytest.approx(1.0, abs=1e-6)
    assert var == pytest.approx(2.0)


def test_ggd_fit_of_a_gaussian_sample_has_shape_two():
    x = np.random.default_rng(0).normal(0.0, 3.0, size=400_000)
    shape, var = ggd_fit(x)
    assert shape == pytest.approx(2.0, abs=0.03)
    assert var == pytest.approx(9.0, rel=0.01)


def test_aggd_fit_of_an_asymmetric_array_by_hand():
    # x = [-1, 2, 2, 0, 0, 0]: left var = 1, right var = (4 + 4) / 2 = 4, gamma = 1/2;
    # r = (5/6)^2 / (9/6) = 25/54; R = r (1/8 + 1)(1/2 + 1) / (1/4 + 1)^2 = 25/54 * 1.08 = 1/2 -> shape 1;
    # mean = (2 - 1) sqrt(Gamma(1)/Gamma(3)) Gamma(2)/Gamma(1) = 1/sqrt(2)
    shape, mean, left, right = aggd_fit(np.array([-1.0, 2.0, 2.0, 0.0, 0.0, 0.0]))
    assert shape == pytest.approx(1.0, abs=1e-6)
    assert mean == pytest.approx(1 / math.sqrt(2), abs=1e-6)
    assert (left, right) == pytest.approx((1.0, 4.0))


def test_aggd_fit_of_a_symmetric_array_has_zero_mean():
    shape, mean, left, right = aggd_fit(np.array([2.0, -2.0, 0.0, 0.0]))
    assert shape == pytest.approx(1.0, abs=1e-6)
    assert mean == pytest.approx(0.0, abs=1e-12)
    assert left == right == pytest.approx(4.0)


def test_degenerate_inputs_have_no_shape():
    assert math.isnan(ggd_fit(np.zeros(10))[0])
    shape, mean, left, right = aggd_fit(np.array([0.0, 1.0, 2.0]))  # nothing negative
    assert math.isnan(shape) and math.isnan(mean) and left == 0.0 and right == pytest.approx(2.5)


def test_mscn_of_a_constant_image_is_zero():
    assert np.abs(mscn(np.full((12, 12), 77.0))).max() < 1e-4


def test_downsample2_averages_blocks():
    img = np.arange(16, dtype=np.float64).reshape(4, 4)
    np.testing.assert_allclose(downsample2(img), [[2.5, 4.5], [10.5, 12.5]])


# -- properties of natural and distorted images -------------------------------------------


@pytest.mark.parametrize("name", ["camera", "astronaut", "coffee"])
def test_mscn_of_natural_images_is_centred_and_normalised(name):
    image = _grey(name)
    coeffs = mscn(image)
    assert abs(float(coeffs.mean())) < 0.05
    # divisive normalisation takes a 0-255 image (variance in the thousands) to order one; it
    # stays below one because the centre pixel weighs 12% of its own local mean and flat regions
    # (local std under C = 1 grey level) shrink towards 0 (BRISQUE's pristine images: ~0.2-0.5)
    assert 0.1 < float(coeffs.var()) < 1.0
    # and it removes most of the contrast: halving it divides the image variance by 4 but the
    # coefficients' by less than 1.5 (only C = 1 breaks the invariance, in flat regions)
    ratio = float(mscn(0.5 * image + 64).var()) / float(coeffs.var())
    assert 0.67 < ratio < 1.0


def test_mscn_of_textured_noise_is_near_unit_variance():
    noise = np.random.default_rng(1).normal(128, 30, size=(256, 256))
    coeffs = mscn(noise)
    assert abs(float(coeffs.mean())) < 0.02
    # i.i.d. pixels: var(I - mu) = (1 - 2 w0 + sum w^2) s^2 = 0.82 s^2 against a local variance of
    # (1 - sum w^2) s^2 = 0.94 s^2 (7x7 Gaussian weights), and dividing by a noisy local estimate
    # lowers it further: close to, and below, one
    assert 0.6 < float(coeffs.var()) < 0.95


def test_blur_makes_mscn_more_laplacian():
    """Mittal et al. (Fig. 2): blur gives MSCN coefficients a more Laplacian (peakier) shape."""
    image = _grey("astronaut")
    sharp_shape = ggd_fit(mscn(image))[0]
    blurred_shape = ggd_fit(mscn(ndimage.gaussian_filter(image, 2.0)))[0]
    assert blurred_shape < sharp_shape - 0.2


def test_compressed_frame_differs_from_pristine():
    image = _grey("astronaut")
    pristine = brisque_features(image)
    light = brisque_features(_jpeg(image, 95))
    heavy = brisque_features(_jpeg(image, 5))
    # heavy JPEG moves the features much further from the pristine ones than near-lossless JPEG
    assert np.linalg.norm(heavy - pristine) > 3 * np.linalg.norm(light - pristine)
    # blocking flattens 8x8 blocks: the MSCN shape falls (peakier) and the variance drops
    assert heavy[0] < pristine[0] and heavy[1] < pristine[1]


def test_brisque_features_layout():
    image = _grey("camera")
    feats = brisque_features(image)
    assert feats.shape == (36,) == (len(BRISQUE_FEATURE_NAMES),)
    assert np.all(np.isfinite(feats))
    np.testing.assert_allclose(feats[:18], nss_features(mscn(image)), rtol=1e-6)
    np.testing.assert_allclose(feats[18:], nss_features(mscn(downsample2(image))), rtol=1e-6)
    assert len(NSS_FEATURE_NAMES) == 18
    assert np.array_equal(brisque_features(image), feats)  # deterministic


def test_brisque_features_rejects_tiny_or_colour_input():
    with pytest.raises(ValueError, match="2-D grey image"):
        brisque_features(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="2-D grey image"):
        brisque_features(np.zeros((32, 32, 3)))
