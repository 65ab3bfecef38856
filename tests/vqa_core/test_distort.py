"""The distortion bank: geometry kept, names consistent, each family degrades with its level."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from vqa_core.distort import (
    NUM_VERSIONS,
    VERSIONS,
    apply,
    apply_to_dir,
    distorted_name,
    parse_distorted_name,
    pyramid_blur_frames,
    read_yuv_frames,
    version_spec,
)
from vqa_core.errors import ConfigError, VideoDecodeError
from vqa_core.testing import index_level, make_video
from vqa_core.video import probe

N_FRAMES, HEIGHT, WIDTH, FPS = 24, 48, 64, 25


@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    """A near-lossless synthetic source and all 13 versions of it."""
    root = tmp_path_factory.mktemp("bank")
    src = make_video(
        root / "src.mp4", num_frames=N_FRAMES, height=HEIGHT, width=WIDTH, fps=FPS, options={"crf": "0"}
    )
    paths = apply_to_dir(src, root / "out", "clip", range(NUM_VERSIONS))
    return src, paths


def _luma(path) -> np.ndarray:
    frames, _ = read_yuv_frames(path)
    return np.stack([f.to_ndarray()[: f.height] for f in frames]).astype(np.float64)


def test_every_version_keeps_frame_count_size_and_rate(bank):
    src, paths = bank
    source = probe(src, exact=True)
    for version, path in enumerate(paths):
        info = probe(path, exact=True)
        assert (info.num_frames, info.height, info.width) == (N_FRAMES, HEIGHT, WIDTH), (version, info)
        assert info.fps == pytest.approx(source.fps), version
        assert info.pix_fmt == "yuv420p"


def test_names_are_consistent_pristine_included(bank, tmp_path):
    _, paths = bank
    assert [p.name for p in paths] == [f"clip_v{v:02d}.mp4" for v in range(NUM_VERSIONS)]
    assert distorted_name("yfcc-batch1_725", 0) == "yfcc-batch1_725_v00.mp4"
    for v in range(NUM_VERSIONS):
        assert parse_distorted_name(distorted_name("a_v01", v)) == ("a_v01", v)
    assert not list(paths[0].parent.glob(".*partial*")), "temp files must not survive a write"


@pytest.mark.parametrize("bad", [-1, 13, 1.0, "3"])
def test_unknown_version_is_rejected(bad, tmp_path):
    with pytest.raises(ConfigError, match=r"valid versions are 0\.\.12"):
        version_spec(bad)
    with pytest.raises(ConfigError):
        apply(tmp_path / "missing.mp4", tmp_path / "out.mp4", bad)


def test_bad_names_and_ids_are_rejected():
    with pytest.raises(ConfigError):
        parse_distorted_name("clip_v13.mp4")
    with pytest.raises(ConfigError):
        parse_distorted_name("1.mp4")  # the seed's naming
    with pytest.raises(ConfigError):
        distorted_name("a/b", 1)


def test_missing_source_names_the_file(tmp_path):
    missing = tmp_path / "nope.mp4"
    with pytest.raises(VideoDecodeError, match=r"nope\.mp4"):
        apply(missing, tmp_path / "x_v02.mp4", 2)
    assert not (tmp_path / "x_v02.mp4").exists()


def test_pristine_is_lossless(bank):
    src, paths = bank
    assert np.array_equal(_luma(src), _luma(paths[0]))


@pytest.mark.parametrize("family", ["mpeg2", "h264", "pyramid_blur", "fps_drop"])
def test_error_grows_with_level(bank, family):
    _, paths = bank
    ref = _luma(paths[0])
    versions = [v.version for v in VERSIONS if v.family == family]
    mse = [float(np.mean((_luma(paths[v]) - ref) ** 2)) for v in versions]
    assert mse[0] < mse[1] < mse[2], (family, mse)
    assert mse[0] > 0


def test_fps_drop_keeps_the_kept_frames_and_interpolates_between(bank):
    """Frame i of the output sits at source time i: the kept frames carry their own index band."""
    src, paths = bank
    band = HEIGHT // 8 - 1
    levels = _luma(paths[11])[:, :band].mean(axis=(1, 2))  # divisor 3
    source_levels = _luma(src)[:, :band].mean(axis=(1, 2))
    kept = list(range(0, N_FRAMES, 3))
    # Luma of the grey band tracks index_level (limited-range Y); kept frames equal the source.
    assert np.allclose(levels[kept], source_levels[kept], atol=1.0)
    last_kept = kept[-1]
    for i in range(N_FRAMES):
        if i % 3 and i < last_kept:  # synthesised frames lie between their kept neighbours
            lo, hi = source_levels[i - i % 3], source_levels[i - i % 3 + 3]
            assert lo - 1 <= levels[i] <= hi + 1, i
    assert np.allclose(levels[last_kept:], source_levels[last_kept], atol=1.0)  # the tail holds
    assert index_level(0, N_FRAMES) < index_level(N_FRAMES - 1, N_FRAMES)


def test_pyramid_blur_keeps_mean_and_removes_detail():
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, size=(2, 64, 96, 3), dtype=np.uint8)
    outs = [pyramid_blur_frames(rgb, depth) for depth in (2, 3, 4)]
    for out in outs:
        assert out.shape == rgb.shape and out.dtype == np.uint8
        assert abs(out.astype(float).mean() - rgb.astype(float).mean()) < 2.0
    detail = [np.abs(np.diff(o.astype(float), axis=2)).mean() for o in outs]
    assert np.abs(np.diff(rgb.astype(float), axis=2)).mean() > detail[0] > detail[1] > detail[2]


def test_odd_sized_pyramid_input_keeps_its_size():
    rgb = np.full((1, 50, 70, 3), 100, dtype=np.uint8)
    out = pyramid_blur_frames(rgb, 3)
    assert out.shape == rgb.shape
    assert np.all(np.abs(out.astype(int) - 100) <= 1)  # a flat image stays flat


@pytest.mark.parametrize(("fps", "version"), [(30000 / 1001, 10), (7.0, 2)])
def test_source_rate_is_kept(tmp_path, fps, version):
    """NTSC through minterpolate; 7 fps, which MPEG-2 bitstreams cannot code, through MPEG-2."""
    src = make_video(tmp_path / "src.mp4", num_frames=12, height=32, width=48, fps=fps)
    out = apply(src, tmp_path / f"src_v{version:02d}.mp4", version)
    with av.open(str(out)) as c:
        assert Fraction(c.streams.video[0].average_rate) == Fraction(fps).limit_denominator(1001)
    assert probe(out, exact=True).num_frames == 12


def test_encodes_are_reproducible(bank, tmp_path):
    """Same source, same version -> the same bytes (single-threaded encoders)."""
    src, paths = bank
    for version in (3, 5):
        again = apply(src, tmp_path / f"again_v{version:02d}.mp4", version)
        assert again.read_bytes() == paths[version].read_bytes(), version
