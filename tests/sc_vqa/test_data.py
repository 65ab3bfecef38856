"""Two views per clip: they differ, yet inside each view frames and map share one geometric transform;
maps are read at the RGB frames' indices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from saliency_core import write_maps
from sc_vqa.config import preset
from sc_vqa.data import FolderMaps, ScClipDataset, clip_indices
from vqa_core.datasets import ManifestItem
from vqa_core.errors import DatasetError
from vqa_core.testing import index_level, make_video
from vqa_core.transforms import ClipAugment

T, H, W = 4, 48, 64


class SpotMaps:
    """A map that is 1 on a square patch and 0 elsewhere, at the patch's place in `SpotClip`."""

    def __call__(self, item, indices, clip):
        maps = torch.zeros(len(indices), H, W)
        maps[:, 10:22, 30:42] = 1.0
        return maps


class SpotClip(ScClipDataset):
    """T identical frames: a bright square on a dark, textured background."""

    def clip(self, i):
        rng = np.random.default_rng(i)
        frame = torch.from_numpy(rng.uniform(0.0, 0.2, size=(3, H, W)).astype(np.float32))
        frame[:, 10:22, 30:42] = 0.9
        frames = frame.expand(T, 3, H, W).clone()
        maps = self.maps(self.items[i], self.indices[i], None) if self.maps is not None else None
        return frames, maps


def _spot_dataset(augment: ClipAugment) -> SpotClip:
    item = ManifestItem(video_id="spot", path=Path("spot.mp4"), mos=3.0, split="train", extra={})
    return SpotClip([item], [list(range(T))], (H, W), [0.5], SpotMaps(), augment, seed=7)


def _bright_mask(frames: torch.Tensor) -> torch.Tensor:
    """Pixels of the bright square: far above the dark background in every colour channel."""
    return frames.mean(dim=-3) > 0.5


def test_two_views_differ_but_frames_and_map_share_the_geometry() -> None:
    cfg = preset("tiny")
    cfg.augment.jitter_p = 0.0  # colour jitter off so the square's brightness is unchanged
    ds = _spot_dataset(ClipAugment(cfg.augment))
    found_flip = found_crop = False
    for epoch in range(6):
        ds.set_epoch(epoch)
        sample = ds[0]
        frames, maps = sample["frames"], sample["maps"]
        assert frames.shape == (2, T, 3, H, W)
        assert maps.shape == (2, T, H, W)
        assert not torch.allclose(frames[0], frames[1]), "the two views must differ"
        for v in range(2):
            # one transform for the whole clip: identical input frames stay identical
            for t in range(1, T):
                torch.testing.assert_close(frames[v, t], frames[v, 0], rtol=0, atol=1e-6)
                torch.testing.assert_close(maps[v, t], maps[v, 0], rtol=0, atol=1e-6)
            square = _bright_mask(frames[v])  # (T, H, W)
            salient = maps[v] > 0.5
            # and the map moved with the frames: the salient patch is the bright square
            overlap = (square[0] & salient[0]).sum() / (square[0] | salient[0]).sum().clamp_min(1)
            assert float(overlap) > 0.8
            cols = torch.nonzero(salient[0])[:, 1].float().mean()
            found_flip |= bool(cols < W / 2)  # the patch starts right of centre, a flip moves it left
            found_crop |= bool(salient[0].sum() != 12 * 12)
    assert found_flip and found_crop  # the draws exercised both geometric transforms


def test_views_are_reproducible_per_epoch_and_change_across_epochs() -> None:
    ds = _spot_dataset(ClipAugment(preset("tiny").augment))
    ds.set_epoch(3)
    a, b = ds[0]["frames"], ds[0]["frames"]
    torch.testing.assert_close(a, b)
    ds.set_epoch(4)
    assert not torch.allclose(a, ds[0]["frames"])


def test_without_augmentation_one_unaugmented_clip() -> None:
    ds = _spot_dataset(None)
    sample = ds[0]
    assert sample["frames"].shape == (T, 3, H, W)
    assert sample["maps"].shape == (T, H, W)


def test_maps_come_from_the_rgb_frame_indices(tmp_path: Path) -> None:
    """Folder maps written per frame index (grey level = index band level) match the decoded frames' bands."""
    n = 20
    path = make_video(tmp_path / "v.mp4", num_frames=n, height=H, width=W, seed=1)
    item = ManifestItem(video_id="v", path=path, mos=3.0, split="train", extra={})
    every = torch.stack([torch.full((H, W), index_level(i, n) / 255.0) for i in range(n)])
    write_maps(tmp_path / "maps" / "v", every, list(range(n)))

    indices = clip_indices(item, 5)
    assert indices == [0, 4, 9, 14, 19]  # linspace(0, 19, 5), not the first five
    ds = ScClipDataset([item], [indices], (H, W), maps=FolderMaps(tmp_path / "maps"))
    sample = ds[0]
    band = sample["frames"][:, :, :3].mean(dim=(1, 2, 3)) * 255  # the index band at the top
    map_level = sample["maps"].mean(dim=(1, 2)) * 255
    expected = torch.tensor([index_level(i, n) for i in indices], dtype=torch.float32)
    torch.testing.assert_close(map_level, expected, atol=1.0, rtol=0)
    torch.testing.assert_close(band, expected, atol=4.0, rtol=0)


def test_missing_map_folder_names_the_video(tmp_path: Path) -> None:
    path = make_video(tmp_path / "w.mp4", num_frames=8, height=H, width=W)
    item = ManifestItem(video_id="w", path=path, mos=3.0, split="train", extra={})
    (tmp_path / "maps").mkdir()
    ds = ScClipDataset([item], [[0, 7]], (H, W), maps=FolderMaps(tmp_path / "maps"))
    with pytest.raises(DatasetError, match=r"w\.mp4"):
        ds[0]
