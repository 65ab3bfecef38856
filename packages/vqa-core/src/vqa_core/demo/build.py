"""Build the `demo` dataset: real scenes x the 13 versions of the distortion bank, labelled by proxy MOS.

Layout under `<root>/demo/`:
    videos/<scene>_vNN.mp4   every version, pristine included (`distorted_name`)
    manifest.csv             video_id, path (relative to the manifest), mos, scene, source, version,
                             family, level, ms_ssim, split, num_frames, height, width, fps
    build.json               the request (geometry, seed) and its producer (`vqa_core.demo.producer`)
    proxy_mos.json           cached MS-SSIM per file, keyed by the file's size and mtime

The build is resumable: each file is written to a temp name and renamed, and a rerun skips
every video whose container already has the expected frame count and size, and every score
whose file is unchanged. A build by another producer (builder version, distortion bank, label
code, library versions) is rebuilt, never reused. Scenes are built in parallel worker
processes (`workers`, default one per core), with the same bytes as a serial build
(`vqa_core.demo.parallel`).

Content and splits: 44 scenes from 15 sources (3 clips, 12 photos; `vqa_core.demo.scenes`),
none of which `demo-pretrain` or `demo-saliency` film (`vqa_core.demo.content`). Scenes of one
source are near-duplicates, so every split groups by `source`: the builder's own `split`
column here, and the benchmark's seeded 80/20 splits through `group_by: source` in
`data_manifests/demo.yaml`. An 80/20 split then tests on about 9 scenes (at least 8 in the
default 10 splits) from 3 to 4 sources that training never saw.

Default geometry, and why: 320x240 (4:3, 16-divisible so 4 pyramid octaves are exact, big
enough for the standard 5-scale MS-SSIM), 64 frames at 25 fps (2.56 s: two 32-frame clips
or one 32-frame clip at stride 2, as FAST-VQA/ST-VQRL samplers take), 44 scenes x 13
versions = 572 videos, which a tiny model trains on in minutes on 2 CPU cores.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from vqa_core.demo.cache import cache_root
from vqa_core.demo.content import ContentUse, check_demo_sets_disjoint
from vqa_core.demo.files import build_lock, check_build_spec, write_csv_atomic, write_text_atomic
from vqa_core.demo.label import ReferenceClip, proxy_mos
from vqa_core.demo.parallel import resolve_workers, run_jobs
from vqa_core.demo.producer import producer_spec
from vqa_core.demo.progress import StepReporter, build_progress
from vqa_core.demo.scenes import SCENES, SceneSpec, render_scene, scene_specs
from vqa_core.distort import NUM_VERSIONS, apply, count_frames, distorted_name, version_spec
from vqa_core.distort.clip_io import LOSSLESS_H264, rgb_to_frames, write_frames
from vqa_core.errors import ConfigError

__all__ = [
    "DEMO_DIRNAME",
    "MANIFEST_COLUMNS",
    "DemoConfig",
    "build_demo",
    "ensure_demo",
    "scene_splits",
    "source_splits",
]

DEMO_DIRNAME = "demo"
MANIFEST_COLUMNS = (
    "video_id",
    "path",
    "mos",
    "scene",
    "source",
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
_BUILDER = 3  # bump when a change alters the pixels or labels of existing files


@dataclass
class DemoConfig:
    """Geometry and content of the `demo` dataset (YAML-loadable through `vqa_core.config`)."""

    num_scenes: int = len(SCENES)
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
        check_demo_sets_disjoint(demo=self)

    def geometry(self) -> dict[str, object]:
        """What the pixels and labels of an existing file depend on (the scene count and versions do not):
        the request and its producer, the build.json of a demo folder."""
        return pixel_spec(self, producer_spec(_BUILDER, bank=True, label=True))

    def content(self) -> list[ContentUse]:
        """The photos and clip frames this demo films (`vqa_core.demo.content`)."""
        return [spec.content(self.num_frames) for spec in scene_specs(self.num_scenes)]


def check_geometry(cfg: Any, what: str) -> None:
    """The frame geometry and versions any demo-style build (`demo`, `demo-pretrain`) needs."""
    if cfg.height % 2 or cfg.width % 2 or min(cfg.height, cfg.width) < 32:
        raise ConfigError(
            f"{what} frames must be even-sized and at least 32 px, got {cfg.width}x{cfg.height}"
        )
    if cfg.num_frames < 8:
        raise ConfigError(f"{what} clips need at least 8 frames (frame-rate drop by 4), got {cfg.num_frames}")
    if 0 not in cfg.versions:
        raise ConfigError(f"{what} needs version 0 (pristine): every other version is derived from it")
    for v in cfg.versions:
        version_spec(v)


def pixel_spec(cfg: Any, producer: dict[str, object]) -> dict[str, object]:
    """What the files of a demo-style build depend on, for `check_build_spec`: the request and its producer."""
    return {
        "height": cfg.height,
        "width": cfg.width,
        "num_frames": cfg.num_frames,
        "fps": cfg.fps,
        "seed": cfg.seed,
        "producer": producer,
    }


def video_row(spec: SceneSpec, version: int, path: Path, cfg: Any) -> dict[str, object]:
    """The manifest columns every demo-style build writes for one file (paths relative to the folder)."""
    vspec = version_spec(version)
    return {
        "video_id": path.stem,
        "path": f"videos/{path.name}",
        "scene": spec.scene_id,
        "source": spec.source,
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


def source_splits(
    specs: tuple[SceneSpec, ...], seed: int, val_fraction: float, test_fraction: float
) -> dict[str, str]:
    """train / val / test per scene, drawn per source (`scene_splits` over the sources in catalogue order),
    so all scenes of a source share a part."""
    sources = list(dict.fromkeys(spec.source for spec in specs))
    by_source = scene_splits(sources, seed, val_fraction, test_fraction)
    return {spec.scene_id: by_source[spec.source] for spec in specs}


def _is_complete(path: Path, cfg: Any) -> bool:
    return path.is_file() and count_frames(path) == (cfg.num_frames, cfg.height, cfg.width)


def _is_stale(path: Path, pristine_path: Path) -> bool:
    """A version older than its pristine was derived from a previous pristine: redo it."""
    return path.is_file() and path.stat().st_mtime_ns < pristine_path.stat().st_mtime_ns


def scene_versions_ready(spec: SceneSpec, cfg: Any, videos: Path) -> bool:
    """Whether every version of the scene is on disk, complete and derived from the current pristine."""
    pristine_path = videos / distorted_name(spec.scene_id, 0)
    if not _is_complete(pristine_path, cfg):
        return False
    for version in cfg.versions:
        path = videos / distorted_name(spec.scene_id, version)
        if version and (_is_stale(path, pristine_path) or not _is_complete(path, cfg)):
            return False
    return True


def ensure_scene_versions(
    spec: SceneSpec, cfg: Any, videos: Path, step: StepReporter | None = None
) -> list[tuple[int, Path]]:
    """Render a scene's pristine and derive its distorted versions (each only when missing or
    stale); `cfg` is any config with the demo's geometry fields and `versions`. Returns
    (version, path) in version order. Shared by the `demo` and `demo-pretrain` builders."""
    step = step or _quiet
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
        if version and (_is_stale(path, pristine_path) or not _is_complete(path, cfg)):
            step(f"{spec.scene_id}: {version_spec(version).description}", advance=0)
            apply(pristine_path, path, version)
        out.append((version, path))
    return out


def _quiet(description: str, advance: int = 1) -> None:
    """The progress reporter of work done in a worker process (the parent reports per scene)."""


def _score_key(path: Path, pristine_path: Path) -> dict[str, int]:
    stat = path.stat()
    return {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ref_mtime_ns": pristine_path.stat().st_mtime_ns,
    }


def _cached_score(scores: dict[str, dict], video_id: str, key: dict[str, int]) -> float | None:
    cached = scores.get(video_id)
    if cached is not None and all(cached.get(k) == v for k, v in key.items()):
        return float(cached["ms_ssim"])
    return None


def _row(spec: SceneSpec, version: int, path: Path, cfg: DemoConfig, q: float) -> dict[str, object]:
    return {**video_row(spec, version, path, cfg), "mos": round(proxy_mos(q), 4), "ms_ssim": round(q, 6)}


def _cached_scene_rows(spec: SceneSpec, cfg: DemoConfig, videos: Path, scores: dict) -> list[dict] | None:
    """The scene's manifest rows when every file and score is already there (no work), else None."""
    if not scene_versions_ready(spec, cfg, videos):
        return None
    pristine_path = videos / distorted_name(spec.scene_id, 0)
    rows = []
    for version in sorted(cfg.versions):
        path = videos / distorted_name(spec.scene_id, version)
        q = _cached_score(scores, path.stem, _score_key(path, pristine_path))
        if q is None:
            return None
        rows.append(_row(spec, version, path, cfg, q))
    return rows


def build_scene(
    spec: SceneSpec, cfg: DemoConfig, videos: Path, cached: dict[str, dict]
) -> tuple[list[dict], dict]:
    """Make one scene's files and proxy MOS (reusing what is complete); returns its manifest rows
    (without `split`) and its entries of the score cache. Runs in a build worker."""
    scores = {k: v for k, v in cached.items()}
    pristine_path = videos / distorted_name(spec.scene_id, 0)
    reference: ReferenceClip | None = None
    rows = []
    for version, path in ensure_scene_versions(spec, cfg, videos):
        key = _score_key(path, pristine_path)
        q = _cached_score(scores, path.stem, key)
        if q is None:
            if version == 0:
                q = 1.0
            else:
                reference = reference or ReferenceClip(pristine_path)
                q = reference.score(path)
            scores[path.stem] = {"ms_ssim": q, **key}
        rows.append(_row(spec, version, path, cfg, q))
    return rows, {row["video_id"]: scores[row["video_id"]] for row in rows}


def build_demo(
    root: str | Path | None = None,
    config: DemoConfig | None = None,
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
) -> Path:
    """Build (or finish building) `<root>/demo/` and return that folder.

    `workers`: processes building scenes in parallel (None or 0: one per core, at most 8); the
    files are the same bytes whatever the count.
    """
    cfg = config or DemoConfig()
    cfg.validate()
    folder = cache_root(root) / DEMO_DIRNAME
    with build_lock(folder):
        return _build_locked(folder, cfg, force, progress, resolve_workers(workers))


def _build_locked(folder: Path, cfg: DemoConfig, force: bool, progress: bool, workers: int) -> Path:
    check_build_spec(folder, cfg.geometry(), force, owned=("videos", "manifest.csv", "proxy_mos.json"))
    videos = folder / "videos"
    videos.mkdir(exist_ok=True)
    scores_path = folder / "proxy_mos.json"
    scores: dict[str, dict] = json.loads(scores_path.read_text()) if scores_path.is_file() else {}
    specs = scene_specs(cfg.num_scenes)
    splits = source_splits(specs, cfg.seed, cfg.val_fraction, cfg.test_fraction)
    per_scene: list[list[dict] | None] = [_cached_scene_rows(spec, cfg, videos, scores) for spec in specs]
    todo = [i for i, rows in enumerate(per_scene) if rows is None]
    with build_progress("demo", len(specs) * len(cfg.versions), progress) as step:
        step(
            f"{len(specs) - len(todo)} scenes complete, {len(todo)} to build ({workers} workers)",
            advance=(len(specs) - len(todo)) * len(cfg.versions),
        )

        def done(k: int, result: tuple[list[dict], dict]) -> None:
            rows, entries = result
            per_scene[todo[k]] = rows
            scores.update(entries)
            write_text_atomic(scores_path, json.dumps(scores, indent=0, sort_keys=True))
            step(f"{specs[todo[k]].scene_id} done", advance=len(rows))

        jobs = [(specs[i], cfg, videos, _scene_scores(scores, specs[i], cfg)) for i in todo]
        run_jobs(build_scene, jobs, workers, done)
    rows = [{**row, "split": splits[row["scene"]]} for scene_rows in per_scene for row in scene_rows or ()]
    write_csv_atomic(folder / "manifest.csv", rows, MANIFEST_COLUMNS)
    return folder


def _scene_scores(scores: dict[str, dict], spec: SceneSpec, cfg: DemoConfig) -> dict[str, dict]:
    """The score-cache entries of one scene's files (all a worker needs of the cache)."""
    names = (distorted_name(spec.scene_id, v)[: -len(".mp4")] for v in cfg.versions)
    return {name: scores[name] for name in names if name in scores}


def ensure_demo(
    root: str | Path | None = None,
    config: DemoConfig | None = None,
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
) -> Path:
    """The `demo` folder (with `manifest.csv`), built on first use and reused afterwards.

    A complete build returns after a header check of each file (no worker is started); an
    interrupted one resumes.
    """
    return build_demo(root, config, force=force, progress=progress, workers=workers)
