"""VideoDataset in DataLoader workers: real decoding, per-item determinism, failure accounting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from vqa_core.datasets import (
    DecodeFailure,
    DecodeFailureLog,
    ManifestItem,
    MosScaler,
    VideoDataset,
    collate_skip_failed,
)
from vqa_core.testing import index_level, make_video

NUM_FRAMES = 12
CLIP_LEN = 4


def random_sampler(num_frames: int, rng: np.random.Generator) -> list[int]:
    """Sorted random frame indices: any dependence on worker scheduling would show up here."""
    return sorted(rng.choice(num_frames, size=CLIP_LEN, replace=False).tolist())


def noisy_float(clip: torch.Tensor, seed: int) -> torch.Tensor:
    """A transform drawing from torch's global RNG (as bare kornia augmentations do) and from
    a generator seeded with the item's seed (as vqa_core.transforms.ClipAugment does)."""
    own = torch.rand(1, generator=torch.Generator().manual_seed(seed))
    return clip.permute(3, 0, 1, 2).float() / 255 + 0.01 * torch.rand(1) + 0.01 * own


@pytest.fixture(scope="module")
def items(tmp_path_factory) -> list[ManifestItem]:
    root = tmp_path_factory.mktemp("videos")
    out = []
    for k in range(5):
        path = make_video(root / f"v{k}.mp4", num_frames=NUM_FRAMES, height=32, width=48, seed=k)
        out.append(ManifestItem(f"v{k}", path, 1.0 + k))
    broken = root / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 20)
    out.insert(2, ManifestItem("broken", broken, 2.5))
    return out


def _run(
    dataset: VideoDataset, workers: int, loader: DataLoader | None = None
) -> tuple[dict[str, dict], DecodeFailureLog]:
    loader = loader or DataLoader(dataset, batch_size=2, num_workers=workers, collate_fn=collate_skip_failed)
    failures = DecodeFailureLog()
    samples: dict[str, dict] = {}
    for batch in loader:
        failures.update(batch)
        for j in range(batch["size"]):
            samples[batch["video_id"][j]] = {
                "video": batch["video"][j],
                "frame_indices": batch["frame_indices"][j].tolist(),
                "mos": float(batch["mos"][j]),
                "target": float(batch["target"][j]),
            }
    return samples, failures


def test_workers_decode_the_sampled_frames_and_report_the_broken_file(items, caplog):
    dataset = VideoDataset(items, random_sampler, seed=3)
    samples, failures = _run(dataset, workers=2)
    assert sorted(samples) == ["v0", "v1", "v2", "v3", "v4"]
    assert failures.count == 1
    (failure,) = failures.failures.values()
    assert failure.video_id == "broken" and failure.path.endswith("broken.mp4")
    assert "VideoDecodeError" in failure.reason
    assert "1 video(s) could not be decoded" in failures.summary() and "broken.mp4" in failures.summary()

    for vid, sample in samples.items():
        video = sample["video"]
        assert video.dtype == torch.uint8 and tuple(video.shape) == (CLIP_LEN, 32, 48, 3)
        # the top band's grey level encodes the frame index: the frames really are the sampled ones
        band = video[:, :2, :, :].float().mean(dim=(1, 2, 3)).numpy()
        expected = [index_level(i, NUM_FRAMES) for i in sample["frame_indices"]]
        np.testing.assert_allclose(band, expected, atol=4)
        assert sample["mos"] == next(i.mos for i in items if i.video_id == vid)

    # in-process access returns the failure record (and logs it with the path and reason)
    with caplog.at_level("WARNING"):
        record = dataset[2]
    assert isinstance(record, DecodeFailure) and record.index == 2
    assert "broken.mp4" in caplog.text


def test_results_do_not_depend_on_workers_and_change_with_the_epoch(items):
    scaler = MosScaler.fit(items[:3])
    dataset = VideoDataset(items, random_sampler, transform=noisy_float, seed=11, scaler=scaler)
    in_workers, _ = _run(dataset, workers=2)
    in_process, _ = _run(dataset, workers=0)
    for vid in in_workers:
        assert in_workers[vid]["frame_indices"] == in_process[vid]["frame_indices"]
        assert torch.equal(in_workers[vid]["video"], in_process[vid]["video"])
        assert in_workers[vid]["target"] == pytest.approx(scaler.transform(in_workers[vid]["mos"]))
    assert in_workers["v0"]["video"].shape == (3, CLIP_LEN, 32, 48)

    dataset.set_epoch(1)
    next_epoch, _ = _run(dataset, workers=0)
    assert any(next_epoch[v]["frame_indices"] != in_process[v]["frame_indices"] for v in in_process)


def test_set_epoch_reaches_persistent_workers(items):
    dataset = VideoDataset(items, random_sampler, seed=5)
    loader = DataLoader(
        dataset, batch_size=3, num_workers=2, persistent_workers=True, collate_fn=collate_skip_failed
    )
    epochs = []
    for epoch in (0, 1):
        dataset.set_epoch(epoch)
        epochs.append(_run(dataset, 2, loader)[0])
    dataset.set_epoch(1)
    reference = _run(dataset, workers=0)[0]
    assert {v: s["frame_indices"] for v, s in epochs[1].items()} == {
        v: s["frame_indices"] for v, s in reference.items()
    }
    assert any(epochs[0][v]["frame_indices"] != epochs[1][v]["frame_indices"] for v in reference)

    other_seed = VideoDataset(items, random_sampler, seed=12)
    assert [other_seed.item_rng(i).integers(1 << 30) for i in range(3)] != [
        VideoDataset(items, random_sampler, seed=11).item_rng(i).integers(1 << 30) for i in range(3)
    ]


def test_collate_of_an_all_failed_batch_and_resize(items):
    failure = DecodeFailure(0, "x", "/x.mp4", "VideoDecodeError: boom")
    batch = collate_skip_failed([failure, None])
    assert batch == {"failed": [failure], "size": 0}
    log = DecodeFailureLog()
    assert log.update(batch) == 1 and len(log) == 1 and log.summary().startswith("1 video(s)")

    resized = VideoDataset(items[:1], lambda n, rng: [0, n - 1], size=(16, 24))[0]
    assert tuple(resized["video"].shape) == (2, 16, 24, 3)
    assert resized["frame_indices"].tolist() == [0, NUM_FRAMES - 1]


def test_needs_items():
    from vqa_core.errors import DatasetError

    with pytest.raises(DatasetError, match="at least one item"):
        VideoDataset([], random_sampler)


def test_num_frames_from_the_manifest_skips_probing(items):
    seen = []

    def sampler(n, rng):
        seen.append(n)
        return [0]

    item = items[0]
    fixed = ManifestItem(item.video_id, Path(item.path), item.mos, extra={"num_frames": 5})
    VideoDataset([fixed], sampler)[0]
    assert seen == [5]


def test_headerless_yuv_items_decode_with_their_raw_geometry(tmp_path):
    # 6 frames of flat grey, 32x48 yuv420p, luma 40 + 30 i (limited range), chroma neutral
    height, width, frames = 32, 48, 6
    data = b"".join(
        bytes([40 + 30 * i]) * (height * width) + bytes([128]) * (height * width // 2) for i in range(frames)
    )
    path = tmp_path / "clip.yuv"
    path.write_bytes(data)
    item = ManifestItem(
        "clip",
        path,
        3.0,
        extra={"raw_width": width, "raw_height": height, "raw_pix_fmt": "yuv420p", "raw_fps": 30},
    )
    sample = VideoDataset([item], lambda n, rng: [n - 1, 0, 2])[0]
    assert isinstance(sample, dict), sample
    means = sample["video"].float().mean(dim=(1, 2, 3)).numpy()
    expected = [(40 + 30 * i - 16) * 255 / 219 for i in (5, 0, 2)]  # BT.601 limited-range luma to RGB
    np.testing.assert_allclose(means, expected, atol=3)
