"""Synthetic saliency datasets in the demo-saliency and DHF1K layouts, a few KB each."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vqa_core.testing import make_video


def square_at(i: int, height: int, width: int, clip: int) -> tuple[int, int]:
    """Top-left corner of clip `clip`'s bright square in frame `i` (moves right and down)."""
    side = height // 4
    y = (height // 4 + 2 * i + 3 * clip) % (height - side)
    x = (4 * i + 7 * clip) % (width - side)
    return y, x


def render(i: int, clip: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame (a red square on a noisy background), its continuous map and its fixations."""
    rng = np.random.default_rng(1000 * clip + i)
    frame = rng.integers(30, 120, size=(height, width, 3), dtype=np.uint8)
    side = height // 4
    y, x = square_at(i, height, width, clip)
    frame[y : y + side, x : x + side] = (240, 40, 40)
    yy, xx = np.mgrid[0:height, 0:width]
    cy, cx = y + side / 2, x + side / 2
    sal = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (side / 2) ** 2))
    fix = np.zeros((height, width), dtype=np.uint8)
    for dy, dx in ((0, 0), (1, -1), (-1, 2)):
        fix[int(cy) + dy, int(cx) + dx] = 255
    return frame, (sal * 255).astype(np.uint8), fix


def build_demo_layout(root: Path, splits: dict[str, str], num_frames: int = 10, height: int = 32,
                      width: int = 48) -> Path:
    """`root/demo-saliency/<clip>/{frames,maps,fixations}/<index>.png` + manifest.csv."""
    base = root / "demo-saliency"
    for c, clip_id in enumerate(splits):
        for sub in ("frames", "maps", "fixations"):
            (base / clip_id / sub).mkdir(parents=True, exist_ok=True)
        for i in range(num_frames):
            frame, sal, fix = render(i, c, height, width)
            Image.fromarray(frame).save(base / clip_id / "frames" / f"{i:06d}.png")
            Image.fromarray(sal).save(base / clip_id / "maps" / f"{i:06d}.png")
            Image.fromarray(fix).save(base / clip_id / "fixations" / f"{i:06d}.png")
    with (base / "manifest.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["clip_id", "split", "num_frames"])
        for clip_id, split in splits.items():
            writer.writerow([clip_id, split, num_frames])
    return base


def _single_thread():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread while these tests run: on the shared 2-core machine, OpenMP threads
    spin against other processes and make tiny 3D convs 20x slower. Restored afterwards."""
    yield from _single_thread()


@pytest.fixture(scope="module")
def one_torch_thread_module():
    """`one_torch_thread` for module-scoped fixtures (they are set up before function fixtures)."""
    yield from _single_thread()


@pytest.fixture(scope="session")
def demo_saliency_root(tmp_path_factory) -> Path:
    """Folder holding demo-saliency/: 3 train, 2 val, 1 test clips of 10 frames at 32 x 48."""
    root = tmp_path_factory.mktemp("salroot")
    build_demo_layout(root, {"c0": "train", "c1": "train", "c2": "train", "c3": "val", "c4": "test", "c5": "val"})
    return root


def build_dhf1k_layout(root: Path, num_videos: int = 2, num_frames: int = 12) -> Path:
    """DHF1K files: video/00N.AVI plus annotation/000N/{maps,fixation}/0001.png (1-based).

    Each map's grey level encodes its frame number, so a test can check frame/map pairing.
    """
    from vqa_core.testing import index_level, synthetic_frame

    for v in range(1, num_videos + 1):
        frames = np.stack([synthetic_frame(i, num_frames, 32, 48, seed=v) for i in range(num_frames)])
        make_video(root / "video" / f"{v:03d}.AVI", frames=frames, codec="mpeg4", options={"qscale": "2"})
        for sub in ("maps", "fixation"):
            (root / "annotation" / f"{v:04d}" / sub).mkdir(parents=True, exist_ok=True)
        for i in range(num_frames):
            level = np.full((32, 48), index_level(i, num_frames), dtype=np.uint8)
            Image.fromarray(level).save(root / "annotation" / f"{v:04d}" / "maps" / f"{i + 1:04d}.png")
            fix = np.zeros((32, 48), dtype=np.uint8)
            fix[16, 24] = 255
            Image.fromarray(fix).save(root / "annotation" / f"{v:04d}" / "fixation" / f"{i + 1:04d}.png")
    return root


@pytest.fixture
def square_position():
    """`square_at(i, height, width, clip)`: where the demo layout draws clip `clip`'s square."""
    return square_at


@pytest.fixture
def dhf1k_root(tmp_path) -> Path:
    return build_dhf1k_layout(tmp_path, num_videos=2, num_frames=12)
