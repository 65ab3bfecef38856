"""Saliency clips: frames, maps and fixations at the same indices; deterministic, augmented jointly."""

import numpy as np
import pytest
import torch

from saliency_core.config import SaliencyConfig
from saliency_core.data import SaliencyClipDataset, clip_numbers, clip_starts, file_number, read_fixations
from saliency_core.sources import load_manifest, make_saliency_splits
from vqa_core.config import load_config
from vqa_core.datasets import build_manifest
from vqa_core.errors import DatasetError
from vqa_core.testing import index_level
from vqa_core.video import read_clip


def tiny(**over):
    return load_config(SaliencyConfig, "tiny", over or None)


def test_file_numbers_of_the_dataset_layouts(tmp_path):
    assert file_number(tmp_path / "0012.png") == 12
    assert file_number(tmp_path / "eyeMap_00003.jpg") == 3
    assert file_number(tmp_path / "img_00101.jpg") == 101
    assert file_number(tmp_path / "cover.png") is None


def test_clip_positions():
    assert clip_numbers([3, 4, 5, 6, 7], 1, 3, 2) == [4, 6, 7]  # padded with the last frame
    assert clip_starts(10, 4, 1, 2) == [0, 6]
    assert clip_starts(3, 4, 1, 3) == [0]


def test_demo_layout_splits_and_alignment(demo_saliency_root, square_position):
    manifest = build_manifest("demo-saliency", demo_saliency_root)
    splits = make_saliency_splits(manifest)
    assert [i.video_id for i in splits.train] == ["c0", "c1", "c2"]
    assert [i.video_id for i in splits.val] == ["c3", "c5"] and [i.video_id for i in splits.test] == ["c4"]
    config = tiny(**{"data.augment": False, "data.frame_stride": 2})
    ds = SaliencyClipDataset(splits.train, config, train=True, with_fixations=True)
    assert len(ds) == 3
    for index in range(len(ds)):
        item = ds[index]
        assert item["frames"].shape == (3, 4, 32, 48) and item["maps"].shape == (4, 32, 48)
        numbers = item["frame_indices"].tolist()
        assert numbers == list(range(numbers[0], numbers[0] + 8, 2))  # stride 2
        clip = int(item["video_index"])
        for t, n in enumerate(numbers):  # the map's peak and the fixations sit on this frame's square
            y, x = square_position(n, 32, 48, clip)
            peak = np.unravel_index(int(item["maps"][t].argmax()), (32, 48))
            assert y <= peak[0] < y + 8 and x <= peak[1] < x + 8
            fy, fx = np.nonzero(item["fixations"][t].numpy())
            assert len(fy) == 3 and (y <= fy).all() and (fy < y + 9).all() and (x <= fx).all() and (fx < x + 9).all()
            red = item["frames"][0, t, y + 2, x + 2]
            assert red > 0.9


def test_random_clips_are_deterministic_per_epoch(demo_saliency_root):
    items = make_saliency_splits(build_manifest("demo-saliency", demo_saliency_root)).train
    config = tiny(**{"data.clips_per_video": 4})
    a = SaliencyClipDataset(items, config, train=True)
    b = SaliencyClipDataset(items, config, train=True)
    starts = []
    for epoch in range(3):
        a.set_epoch(epoch)
        b.set_epoch(epoch)
        ia, ib = a[5], b[5]
        torch.testing.assert_close(ia["frames"], ib["frames"])
        torch.testing.assert_close(ia["maps"], ib["maps"])
        starts.append(int(ia["frame_indices"][0]))
    assert len({int(a.clip(i)[1][0]) for i in range(12)}) > 1  # clips vary over items


def test_augmentation_moves_maps_and_fixations_with_the_frames(demo_saliency_root):
    items = make_saliency_splits(build_manifest("demo-saliency", demo_saliency_root)).train
    config = tiny(**{"augment.jitter_p": 0.0, "augment.hflip_p": 1.0, "augment.scale": [0.5, 0.6],
                     "data.clips_per_video": 3})
    ds = SaliencyClipDataset(items, config, train=True, with_fixations=True)
    plain = SaliencyClipDataset(items, tiny(**{"data.augment": False, "data.clips_per_video": 3}), train=True,
                                with_fixations=True)
    for index in range(len(ds)):
        item, ref = ds[index], plain[index]
        assert torch.equal(item["frame_indices"], ref["frame_indices"])
        assert not torch.allclose(item["frames"], ref["frames"])
        for t in range(4):
            red = (item["frames"][0, t] > 0.8) & (item["frames"][1, t] < 0.35)  # the square's pixels
            if red.sum() < 4:
                continue  # cropped away
            peak = np.unravel_index(int(item["maps"][t].argmax()), (32, 48))
            assert red[max(peak[0] - 2, 0) : peak[0] + 3, max(peak[1] - 2, 0) : peak[1] + 3].any()
            fix = item["fixations"][t] > 0
            if fix.any():
                fy, fx = np.nonzero(fix.numpy())
                assert red[max(fy.min() - 3, 0) : fy.max() + 4, max(fx.min() - 3, 0) : fx.max() + 4].any()


def test_dhf1k_video_frames_pair_with_one_based_maps(dhf1k_root):
    manifest = load_manifest("dhf1k", dhf1k_root)
    splits = make_saliency_splits(manifest, val_fraction=0.5)
    assert len(splits.train) == 1 and len(splits.val) == 1
    config = tiny(**{"data.augment": False, "data.frame_stride": 3, "data.val_clips_per_video": 2})
    ds = SaliencyClipDataset(splits.val, config, train=False, dataset="dhf1k")
    assert len(ds) == 2  # 12 frames, clips of 4 at stride 3 start at 0 and 2
    for index in range(len(ds)):
        item = ds[index]
        numbers = item["frame_indices"].tolist()
        decoded = read_clip(splits.val[0].path, [n - 1 for n in numbers], size=(32, 48))
        want = torch.from_numpy(decoded).permute(3, 0, 1, 2).float() / 255
        torch.testing.assert_close(item["frames"], want)
        for t, n in enumerate(numbers):  # map file n (1-based) belongs to decoded frame n - 1
            assert abs(float(item["maps"][t].mean()) * 255 - index_level(n - 1, 12)) < 1


def test_fixations_resize_keeps_every_point(tmp_path):
    from PIL import Image

    fix = np.zeros((90, 160), dtype=np.uint8)
    fix[0, 0] = fix[89, 159] = fix[45, 80] = 255
    Image.fromarray(fix).save(tmp_path / "f.png")
    out = read_fixations(tmp_path / "f.png", (9, 16))
    assert out.sum() == 3 and out[0, 0] == out[8, 15] == out[4, 8] == 1


def test_missing_maps_folder_is_a_dataset_error(demo_saliency_root, tmp_path):
    from dataclasses import replace

    item = make_saliency_splits(build_manifest("demo-saliency", demo_saliency_root)).train[0]
    broken = replace(item, extra={**item.extra, "maps": str(tmp_path / "nowhere")})
    with pytest.raises(DatasetError, match="nowhere"):
        SaliencyClipDataset([broken], tiny(), train=True)
