"""Issue #14 point 7 and the raw-video path: headerless .yuv read with their geometry in SSL-VQA's
references and in ST-VQRL's evaluation and pretraining clips."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from ssl_vqa.config import SslConfig
from ssl_vqa.method import SslMethod
from st_vqrl.config import StVqrlConfig
from st_vqrl.data import eval_clips, scenes_from_items
from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import DatasetError, VideoDecodeError

H, W, T = 64, 96, 24


def _yuv(path: Path, seed: int) -> Path:
    """A headerless yuv420p file: T frames of H x W (luma), chroma at half size."""
    rng = np.random.default_rng(seed)
    frame = H * W * 3 // 2
    path.write_bytes(rng.integers(16, 235, size=T * frame, dtype=np.uint8).tobytes())
    return path


def _manifest(folder: Path, names: list[str]) -> Path:
    path = folder / "references.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["video_id", "path", "mos", "raw_width", "raw_height", "raw_pix_fmt", "raw_fps"])
        for name in names:
            w.writerow([name, f"{name}.yuv", "", W, H, "yuv420p", 25])
    return path


def test_reference_manifest_gives_yuv_references_their_geometry(tmp_path) -> None:
    for i in range(2):
        _yuv(tmp_path / f"ref{i}.yuv", i)
    manifest = _manifest(tmp_path, ["ref0", "ref1"])
    cfg = load_config(SslConfig, "tiny", [f"niqe.reference_dir={manifest}", "niqe.clips_per_reference=2"])
    method = SslMethod(cfg, device="cpu")
    items = method.reference_items([])
    assert [it.video_id for it in items] == ["ref0", "ref1"]
    cubes = method.reference_cubes(items)
    c = cfg.stvqrl.clip
    assert cubes.shape == (4, 3, cfg.sampling.clip_len, c.grid * c.patch, c.grid * c.patch)


def test_a_folder_of_yuv_references_asks_for_a_manifest(tmp_path) -> None:
    _yuv(tmp_path / "ref0.yuv", 0)
    cfg = load_config(SslConfig, "tiny", [f"niqe.reference_dir={tmp_path}"])
    with pytest.raises(DatasetError, match="manifest CSV"):
        SslMethod(cfg, device="cpu").reference_items([])


def _raw_item(path: Path, name: str, **extra) -> ManifestItem:
    raw = {"raw_width": W, "raw_height": H, "raw_pix_fmt": "yuv420p", "raw_fps": 25.0}
    return ManifestItem(name, path, 50.0, "train", {**raw, **extra})


def test_stvqrl_reads_yuv_items_with_their_format(tmp_path) -> None:
    clip = load_config(StVqrlConfig, "tiny").clip
    item = _raw_item(_yuv(tmp_path / "a.yuv", 0), "a")
    out = eval_clips(item, clip, num_clips=1)
    assert out.shape[:3] == (1, 3, clip.clip_len)
    with pytest.raises((VideoDecodeError, OSError, ValueError)):
        eval_clips(item.path, clip, num_clips=1)  # a bare .yuv path has no geometry


def test_stvqrl_pretraining_scenes_keep_the_raw_format(tmp_path) -> None:
    items = [
        _raw_item(_yuv(tmp_path / f"s_v{v:02d}.yuv", v), f"s{v}", scene="s", version=v) for v in range(3)
    ]
    (scene,) = scenes_from_items(items, k=2)
    assert set(scene.raw) == {0, 1, 2} and scene.raw[0].width == W
