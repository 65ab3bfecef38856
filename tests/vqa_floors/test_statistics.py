"""The training-free statistics and the frame plumbing they share with the NSS floor."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from vqa_core.errors import VideoDecodeError
from vqa_core.testing import make_audio, make_video
from vqa_floors.bitrate import bits_per_pixel
from vqa_floors.frames import analysis_size, decode_grey, plan_frames, to_grey
from vqa_floors.sharpness import laplacian_variance, sharpness_statistic


def test_laplacian_variance_by_hand():
    # a single bright pixel in a 5x5 zero image: Laplacian -4 at the pixel, +1 at its 4 neighbours,
    # 0 elsewhere; mean 0 over 25 pixels, variance (16 + 4) / 25
    img = np.zeros((5, 5))
    img[2, 2] = 1.0
    assert laplacian_variance(img) == pytest.approx(20 / 25)


def test_sharpness_falls_with_blur_and_is_finite_on_flat_video(natural):
    frames = to_grey(natural("astronaut", frames=3))
    blurred = np.stack([ndimage.gaussian_filter(f, 2.0) for f in frames])
    assert sharpness_statistic(blurred) < sharpness_statistic(frames) - 0.5
    assert sharpness_statistic(np.zeros((2, 16, 16))) == 0.0


def test_to_grey_uses_bt601_luma():
    rgb = np.array([[[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    np.testing.assert_allclose(to_grey(rgb), [[76.245, 149.685, 29.07, 255.0]], rtol=1e-5)


def test_analysis_size_never_upscales_and_keeps_aspect():
    assert analysis_size(1080, 1920, 360) == (360, 640)
    assert analysis_size(240, 320, 360) == (240, 320)
    assert analysis_size(1920, 1080, 270) == (480, 270)  # portrait: the shorter side is the width


def test_plan_frames():
    plan = plan_frames(64, spatial=4, pairs=3, window=24)
    np.testing.assert_array_equal(plan.spatial, [0, 21, 42, 63])
    np.testing.assert_array_equal(plan.pairs, [[0, 1], [31, 32], [62, 63]])
    np.testing.assert_array_equal(plan.window, np.arange(20, 44))
    short = plan_frames(1, spatial=2, pairs=2, window=24)  # one frame: no pairs, no window
    assert short.pairs.shape == (0, 2) and short.window.size == 0
    assert plan_frames(10, 2, 0, 8).window.tolist() == list(range(1, 9))


def test_decode_grey_reads_at_the_analysis_size(tmp_path):
    path = make_video(tmp_path / "a.mp4", num_frames=8, height=96, width=128)
    grey = decode_grey(path, [0, 7], short_side=48)
    assert grey.shape == (2, 48, 64) and grey.dtype == np.float32
    assert grey.min() >= 0 and grey.max() <= 255


def test_bits_per_pixel_from_the_stream_and_from_the_file_size(tmp_path):
    path = make_video(tmp_path / "a.mp4", num_frames=20, height=64, width=96)
    by_size = bits_per_pixel(path, "file_size")
    assert by_size.source == "file_size"
    assert by_size.value == pytest.approx(path.stat().st_size * 8 / (64 * 96 * 20))
    by_stream = bits_per_pixel(path)
    assert by_stream.source == "stream"
    # the mp4 stream rate counts the video payload only: a little under the file's bits
    assert 0.5 * by_size.value < by_stream.value <= by_size.value


def test_bits_per_pixel_orders_compression_levels(tmp_path, natural):
    frames = natural("coffee", frames=12)
    fine = make_video(tmp_path / "fine.mp4", frames=frames, options={"crf": "18"})
    coarse = make_video(tmp_path / "coarse.mp4", frames=frames, options={"crf": "45"})
    assert bits_per_pixel(coarse).value < bits_per_pixel(fine).value / 2


def test_bits_per_pixel_errors_name_the_file(tmp_path):
    audio = make_audio(tmp_path / "sound.m4a")
    with pytest.raises(VideoDecodeError, match=r"sound\.m4a"):
        bits_per_pixel(audio)
    with pytest.raises(VideoDecodeError, match=r"missing\.mp4"):
        bits_per_pixel(tmp_path / "missing.mp4")
