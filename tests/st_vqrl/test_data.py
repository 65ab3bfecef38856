"""Pretraining items: versions share frames and fragment positions; clips come from two halves."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch

from st_vqrl import ClipConfig
from st_vqrl.data import PretrainDataset, eval_clips, scenes_from_folder, scenes_from_items
from vqa_core.datasets import ManifestItem
from vqa_core.errors import DatasetError
from vqa_core.testing import index_level, make_video

FRAMES = 32
CLIP = ClipConfig(clip_len=4, frame_interval=2, grid=2, patch=16, aligned=4)


@pytest.fixture(scope="module")
def copies(tmp_path_factory):
    """One scene whose 5 'versions' are byte-identical copies: any difference comes from sampling."""
    root = tmp_path_factory.mktemp("copies")
    src = make_video(root / "s_v00.mp4", num_frames=FRAMES, height=64, width=64, seed=1)
    for v in range(1, 5):
        shutil.copy(src, root / f"s_v{v:02d}.mp4")
    (root / "notes.txt").write_text("not a video")
    return root


def _frame_index(clip_hwc_band: np.ndarray) -> int:
    """Frame index from the grey level of the top band written by vqa_core.testing."""
    level = float(clip_hwc_band.mean())
    return int(np.argmin([abs(index_level(i, FRAMES) - level) for i in range(FRAMES)]))


def test_versions_share_frames_and_positions(copies):
    scenes = scenes_from_folder(copies, k=3)
    ds = PretrainDataset(scenes, CLIP, k=3, seed=0)
    clips = ds[0]["clips"]
    assert clips.shape == (4, 2, 3, 4, 32, 32) and clips.dtype == torch.uint8
    for v in range(1, 4):
        assert torch.equal(clips[v], clips[0])  # same indices, same fragments for every version
    assert not torch.equal(clips[0, 0], clips[0, 1])  # the two clips differ


def test_two_clips_come_from_the_two_halves(copies):
    # one 64x64 fragment = the whole frame, so the top index band survives and names each frame
    whole = ClipConfig(clip_len=4, frame_interval=2, grid=1, patch=64, aligned=4)
    ds = PretrainDataset(scenes_from_folder(copies, k=1), whole, k=1, seed=0)
    span = FRAMES - 4 * 2 + 1  # valid clip starts; SampleFrames cuts them into two equal segments
    for epoch in range(3):
        ds.set_epoch(epoch)
        clips = ds[0]["clips"].numpy()  # (V, 2, 3, T, H, W)
        frames = [[_frame_index(clips[0, view, :, t, 1:7, :]) for t in range(4)] for view in range(2)]
        for view in frames:
            assert np.diff(view).tolist() == [2, 2, 2]  # stride 2
        assert frames[0][0] < span // 2 <= frames[1][0]


def test_randomness_is_per_epoch_and_index():
    scenes = [type("S", (), {})()]  # only versions() is exercised
    scenes[0].distorted = list(range(1, 13))
    ds = PretrainDataset([], ClipConfig(), k=9)
    ds.scenes = scenes
    a = ds.versions(0, np.random.default_rng([0, 0, 0]))
    assert a == ds.versions(0, np.random.default_rng([0, 0, 0]))
    assert a[0] == 0 and len(set(a)) == 10 and all(1 <= v <= 12 for v in a[1:])
    draws = {tuple(ds.versions(0, np.random.default_rng([0, e, 0]))) for e in range(8)}
    assert len(draws) > 1


def test_eval_clips_are_deterministic(copies):
    a = eval_clips(copies / "s_v00.mp4", CLIP, num_clips=2)
    b = eval_clips(copies / "s_v00.mp4", CLIP, num_clips=2)
    assert a.shape == (2, 3, 4, 32, 32) and torch.equal(a, b)


def test_scene_errors(tmp_path):
    item = ManifestItem("x", tmp_path / "x.mp4", 3.0, "train", {})
    with pytest.raises(DatasetError, match="scene"):
        scenes_from_items([item], k=1)
    with pytest.raises(DatasetError, match="at least k=3"):
        scenes_from_items([ManifestItem("x", tmp_path / "x.mp4", 3.0, "train", {"scene": "a", "version": 0})], k=3)
    with pytest.raises(DatasetError, match="does not exist"):
        scenes_from_folder(tmp_path / "missing", k=1)
