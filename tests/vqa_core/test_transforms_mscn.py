"""`local_contrast_normalize`: BRISQUE's MSCN coefficients as a network input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqa_core.transforms import fragment_contrast_normalize, local_contrast_normalize
from vqa_floors.brisque import mscn


def _texture(seed: int = 0, size: tuple[int, int] = (48, 64)) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    smooth = torch.nn.functional.avg_pool2d(torch.rand(1, 3, *size, generator=g), 3, 1, 1)
    return 0.1 + 0.8 * smooth  # (1, 3, H, W) in [0, 1], local contrast well above MSCN's stabiliser


def test_it_is_the_floors_mscn_per_channel_away_from_the_borders() -> None:
    x = _texture()
    ours = local_contrast_normalize(x)[0]
    for c in range(3):
        ref = mscn(x[0, c].numpy() * 255.0)  # the numpy BRISQUE feature, 0-255 scale
        # borders differ by design (replicate here, reflect there): compare the interior
        np.testing.assert_allclose(ours[c, 3:-3, 3:-3].numpy(), ref[3:-3, 3:-3], atol=1e-3, rtol=0)  # float32 both


def test_it_divides_out_local_brightness_and_contrast_and_keeps_structure() -> None:
    x = _texture(1)
    dim = 0.5 * x + 0.1  # the same scene, darker and at half the contrast
    coeffs = local_contrast_normalize(x)
    relit = (local_contrast_normalize(dim) - coeffs).abs().mean()
    blurred = torch.nn.functional.avg_pool2d(x, 3, 1, 1)  # a quality change, which must show
    blur = (local_contrast_normalize(blurred) - coeffs).abs().mean()
    # halving the contrast moves the coefficients only through the stabiliser C (~6% here);
    # a 3x3 blur moves them by most of their size; RGB moves more with the lighting than the blur
    assert relit < 0.1 * blur and blur > 0.5 * coeffs.abs().mean()
    assert (dim - x).abs().mean() > (blurred - x).abs().mean()

def test_it_keeps_any_leading_shape_and_rejects_integer_frames() -> None:
    clip = torch.rand(2, 4, 3, 20, 24)  # (B, T, 3, H, W)
    out = local_contrast_normalize(clip)
    assert out.shape == clip.shape and torch.isfinite(out).all()
    torch.testing.assert_close(out[1, 2], local_contrast_normalize(clip[1, 2]))
    assert torch.isfinite(local_contrast_normalize(torch.full((1, 3, 8, 8), 0.5))).all()  # flat: 0, not NaN
    with pytest.raises(ValueError, match="float"):
        local_contrast_normalize((clip * 255).to(torch.uint8))


def test_fragment_mscn_normalises_each_patch_on_its_own() -> None:
    torch.manual_seed(0)
    mosaics = torch.randint(0, 256, (2, 3, 4, 3 * 8, 3 * 8), dtype=torch.uint8)  # (B, 3, T, G*P, G*P), grid 3 x 8 px
    out = fragment_contrast_normalize(mosaics, grid=3, patch=8)
    assert out.shape == mosaics.shape and out.dtype == torch.float32
    x = mosaics.float() / 255
    for b, t, i, j in [(0, 0, 0, 0), (1, 3, 2, 1), (0, 2, 1, 2)]:
        patch = x[b, :, t, i * 8 : (i + 1) * 8, j * 8 : (j + 1) * 8]  # (3, P, P)
        torch.testing.assert_close(out[b, :, t, i * 8 : (i + 1) * 8, j * 8 : (j + 1) * 8], local_contrast_normalize(patch))
    # a patch's coefficients do not depend on its neighbours (no window spans a seam)
    changed = mosaics.clone()
    changed[..., 8:16, 8:16] = 0
    same = fragment_contrast_normalize(changed, grid=3, patch=8)
    torch.testing.assert_close(same[..., :8, :], out[..., :8, :])
    torch.testing.assert_close(fragment_contrast_normalize(x, grid=3, patch=8), out)  # float [0, 1] input too
    with pytest.raises(ValueError, match="grid 3 x patch 7"):
        fragment_contrast_normalize(mosaics, grid=3, patch=7)
