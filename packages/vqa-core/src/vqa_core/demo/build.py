"""Build the `demo` dataset: real scenes x the 13 versions of the distortion bank, labelled by proxy MOS.

Layout under `<root>/demo/`:
    videos/<scene>_vNN.mp4   every version, pristine included (`distorted_name`)
    manifest.csv             video_id, path (relative to the manifest), mos, scene, version,
                             family, level, ms_ssim, split, num_frames, height, width, fps
    build.json               the geometry the files were built with
    proxy_mos.json           cached MS-SSIM per file, keyed by the file's size and mtime

The build is resumable: each file is written to a temp name and renamed, and a rerun skips
every video whose container already has the expected frame count and size, and every score
whose file is unchanged. The split is by scene (all versions of a scene share it), so no
test scene is seen in training in any version.

Default geometry, and why: 320x240 (4:3, 16-divisible so 4 pyramid octaves are exact, big
enough for the standard 5-scale MS-SSIM), 64 frames at 25 fps (2.56 s: two 32-frame clips
or one 32-frame clip at stride 2, as FAST-VQA/ST-VQRL samplers take), 16 scenes x 13
versions = 208 videos, which a tiny model trains on in minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vqa_core.demo.cache import cache_root
from vqa_core.demo.files import build_lock, check_build_spec, write_csv_atomic, write_text_atomic
from vqa_core.demo.label import proxy_mos, video_ms_ssim
from vqa_core.demo.progress import build_progress
from vqa_core.demo.scenes import SceneSpec, render_scene, scene_specs
from vqa_core.distort import NUM_VERSIONS, apply, count_frames, distorted_name, version_spec
from vqa_core.distort.clip_io import LOSSLESS_H264, rgb_to_frames, write_frames
from vqa_core.errors import ConfigError

__all__ = ["DEMO_DIRNAME", "MANIFEST_COLUMNS", "DemoConfig", "build_demo", "ensure_demo", "scene_splits"]

DEMO_DIRNAME = "demo"
MANIFEST_COLUMNS = (
    "video_id",
    "path",
    "mos",
    "scene",
    "version",
    "family",
    "level",
    "ms_ssim",
    "split",
    "num_frames",
    "height",
    "width",
    "fps",
)
_BUILDER = 2  # bump when a change alters the pixels of existing files


@dataclass
class DemoConfig:
    """Geometry and content of the `demo` dataset (YAML-loadable through `vqa_core.config`)."""

    num_scenes: int = 16
    height: int = 240
    width: int = 320
    num_frames: int = 64
    fps: float = 25.0
    versions: list[int] = field(default_factory=lambda: list(range(NUM_VERSIONS)))
    seed: int = 0
    val_fraction: float = 0.2
    test_fraction: float = 0.2

    def validate(self) -> None:
        check_geometry(self, "demo")
        scene_specs(self.num_scenes)  # raises on a count outside the catalogue
        if not 0 <= self.val_fraction + self.test_fraction < 1:
            raise ConfigError("val_fraction + test_fraction must be in [0, 1)")

    def geometry(self) -> dict[str, object]:
        """What the pixels of an existing file depend on (the scene count and versions do not)."""
        return pixel_spec(self, _BUILDER)


def check_geometry(cfg: Any, what: str) -> None:
    """The frame geometry and versions any demo-style build (`demo`, `demo-pretrain`) needs."""
    if cfg.height % 2 or cfg.width % 2 or min(cfg.height, cfg.width) < 32:
        raise ConfigError(f"{what} frames must be even-sized and at least 32 px, got {cfg.width}x{cfg.height}")
    if cfg.num_frames < 8:
        raise ConfigError(f"{what} clips need at least 8 frames (frame-rate drop by 4), got {cfg.num_frames}")
    if 0 not in cfg.versions:
        raise ConfigError(f"{what} needs version 0 (pristine): every other version is derived from it")
    for v in cfg.versions:
        version_spec(v)


def pixel_spec(cfg: Any, builder: int) -> dict[str, object]:
    """What the pixels of a demo-style build's existing files depend on, for `check_build_spec`."""
    return {
        "height": cfg.height,
        "width": cfg.width,
        "num_frames": cfg.num_frames,
        "fps": cfg.fps,
        "seed": cfg.seed,
        "builder": builder,
    }


def video_row(spec: SceneSpec, version: int, path: Path, cfg: Any) -> dict[str, object]:
    """The manifest columns every demo-style build writes for one file (paths relative to the folder)."""
    vspec = version_spec(version)
    return {
        "video_id": path.stem,
        "path": f"videos/{path.name}",
        "scene": spec.scene_id,
        "version": version,
        "family": vspec.family,
        "level": vspec.level,
        "num_frames": cfg.num_frames,
        "height": cfg.height,
        "width": cfg.width,
        "fps": cfg.fps,
    }


def scene_splits(
    scene_ids: list[str], seed: int, val_fraction: float, test_fraction: float
) -> dict[str, str]:
    """train / val / test per scene, from a seeded permutation (val and test get >= 1 scene when there are >= 3)."""
    order = np.random.default_rng(seed).permutation(len(scene_ids))
    n = len(scene_ids)
    n_test = max(round(n * test_fraction), 1 if n >= 3 and test_fraction > 0 else 0)
    n_val = max(round(n * val_fraction), 1 if n >= 3 and val_fraction > 0 else 0)
    splits = {}
    for rank, index in enumerate(order):
        splits[scene_ids[index]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return splits


def _is_complete(path: Path, cfg: Any) -> bool:
    return path.is_file() and count_frames(path) == (cfg.num_frames, cfg.height, cfg.width)


def ensure_scene_versions(spec: SceneSpec, cfg: Any, videos: Path, step) -> list[tuple[int, Path]]:
    """Render a scene's pristine and derive its distorted versions (each only when missing or
    stale); `cfg` is any config with the demo's geometry fields and `versions`. Returns
    (version, path) in version order. Shared by the `demo` and `demo-pretrain` builders."""
    pristine_path = videos / distorted_name(spec.scene_id, 0)
    if not _is_complete(pristine_path, cfg):
        step(f"{spec.scene_id}: rendering", advance=0)
        frames = render_scene(spec, cfg.height, cfg.width, cfg.num_frames, cfg.seed)
        write_frames(
            pristine_path,
            rgb_to_frames(frames),
            Fraction(cfg.fps).limit_denominator(1001),
            "libx264",
            LOSSLESS_H264,
        )
    out = []
    for version in sorted(cfg.versions):
        path = videos / distorted_name(spec.scene_id, version)
        # A version older than its pristine was derived from a previous pristine: redo it.
        stale = version and path.is_file() and path.stat().st_mtime_ns < pristine_path.stat().st_mtime_ns
        if version and (stale or not _is_complete(path, cfg)):
            step(f"{spec.scene_id}: {version_spec(version).description}", advance=0)
            apply(pristine_path, path, version)
        out.append((version, path))
    return out


def _score(scores: dict[str, dict], video_id: str, pristine_path: Path, path: Path, version: int) -> float:
    """MS-SSIM of one file against its pristine, reusing the cached value while the file is unchanged."""
    stat = path.stat()
    key = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    ref_stat = pristine_path.stat()
    key["ref_mtime_ns"] = ref_stat.st_mtime_ns
    cached = scores.get(video_id)
    if cached is not None and all(cached.get(k) == v for k, v in key.items()):
        return float(cached["ms_ssim"])
    value = 1.0 if version == 0 else video_ms_ssim(pristine_path, path)
    scores[video_id] = {"ms_ssim": value, **key}
    return value


def _build_scene(spec: SceneSpec, cfg: DemoConfig, videos: Path, scores: dict, step) -> list[dict]:
    rows = []
    pristine_path = videos / distorted_name(spec.scene_id, 0)
    for version, path in ensure_scene_versions(spec, cfg, videos, step):
        q = _score(scores, path.stem, pristine_path, path, version)
        rows.append({**video_row(spec, version, path, cfg), "mos": round(proxy_mos(q), 4), "ms_ssim": round(q, 6)})
        step(f"{spec.scene_id}: v{version:02d} done")
    return rows


def build_demo(
    root: str | Path | None = None,
    config: DemoConfig | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Build (or finish building) `<root>/demo/` and return that folder."""
    cfg = config or DemoConfig()
    cfg.validate()
    folder = cache_root(root) / DEMO_DIRNAME
    with build_lock(folder):
        return _build_locked(folder, cfg, force, progress)


def _build_locked(folder: Path, cfg: DemoConfig, force: bool, progress: bool) -> Path:
    check_build_spec(folder, cfg.geometry(), force, owned=("videos", "manifest.csv", "proxy_mos.json"))
    videos = folder / "videos"
    videos.mkdir(exist_ok=True)
    scores_path = folder / "proxy_mos.json"
    scores: dict[str, dict] = json.loads(scores_path.read_text()) if scores_path.is_file() else {}
    specs = scene_specs(cfg.num_scenes)
    splits = scene_splits([s.scene_id for s in specs], cfg.seed, cfg.val_fraction, cfg.test_fraction)
    rows: list[dict] = []
    with build_progress("demo", len(specs) * len(cfg.versions), progress) as step:
        for spec in specs:
            scene_rows = _build_scene(spec, cfg, videos, scores, step)
            for row in scene_rows:
                row["split"] = splits[spec.scene_id]
            rows.extend(scene_rows)
            write_text_atomic(scores_path, json.dumps(scores, indent=0, sort_keys=True))
    write_csv_atomic(folder / "manifest.csv", rows, MANIFEST_COLUMNS)
    return folder


def ensure_demo(
    root: str | Path | None = None,
    config: DemoConfig | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """The `demo` folder (with `manifest.csv`), built on first use and reused afterwards.

    A complete build returns after a header check of each file; an interrupted one resumes.
    """
    return build_demo(root, config, force=force, progress=progress)
