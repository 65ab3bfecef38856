"""saliency_core's stage, guided clips and SaliencyGuidedMethod: the plumbing STR/DAGR-VQA and SC-VQA share."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from saliency_core.config import SaliencyConfig
from saliency_core.guided_clips import GuidedClipDataset, clip_indices
from saliency_core.guided_method import SaliencyGuidedMethod
from saliency_core.stage import SALIENCY_STAGE, SALIENCY_STAGE_VERSION, SaliencyStageConfig
from vqa_core.config import config_hash, config_to_dict, load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import DatasetError, VideoDecodeError, VqaError
from vqa_core.testing import make_video


@dataclass
class _Saliency:
    enabled: bool = True
    checkpoint: str | None = None
    stage_preset: str = "tiny"
    stage_dataset: str = "demo-saliency"
    stage_data_root: str | None = None


@dataclass
class _Data:
    num_frames: int = 4
    height: int = 32
    width: int = 48


@dataclass
class _Config:
    saliency: _Saliency = field(default_factory=_Saliency)
    data: _Data = field(default_factory=_Data)


class _GuidedMethod(SaliencyGuidedMethod):
    """The smallest method on the base class: enough to exercise the shared plumbing without a network."""

    name = "guided-test"
    config_class = _Config

    def __init__(self, config=None, device="cpu"):
        super().__init__(config, device)

    def new_network(self, pretrained=None):
        raise AssertionError("not needed by these tests")

    def scoring_dataset(self, items, indices):
        raise AssertionError("not needed by these tests")

    def fit(self, train, val, work_dir, *, resume=True, progress=True):
        raise AssertionError("not needed by these tests")


def test_the_hooks_are_declared_abstract():
    class Incomplete(SaliencyGuidedMethod):
        name = "incomplete"
        config_class = _Config

        def fit(self, train, val, work_dir, *, resume=True, progress=True):
            return {}

    with pytest.raises(TypeError, match="new_network"):
        Incomplete()
    assert {"new_network", "scoring_dataset", "fit"} <= SaliencyGuidedMethod.__abstractmethods__


def _item(path: Path, mos: float, **extra) -> ManifestItem:
    return ManifestItem(video_id=path.stem, path=path, mos=mos, split="train", extra=dict(extra))


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[ManifestItem]:
    root = tmp_path_factory.mktemp("clips")
    return [
        _item(make_video(root / f"v{i}.mp4", num_frames=10, height=32, width=48, seed=i), float(10 * i))
        for i in range(3)
    ]


def test_stage_key_is_the_hash_of_the_same_class_name_and_fields():
    """The stage config's hash is sha256 of {"class": "SaliencyStageConfig", "config": fields},
    computed here by hand; the key adds the producer version (`SALIENCY_STAGE_VERSION`)."""
    cfg = load_config(SaliencyConfig, "tiny")
    stage = SaliencyStageConfig(saliency=cfg, dataset="demo-saliency", data_root=None)
    payload = {
        "class": "SaliencyStageConfig",
        "config": {"saliency": config_to_dict(cfg), "dataset": "demo-saliency", "data_root": None},
    }
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    assert config_hash(stage) == hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    [built] = _GuidedMethod().pretrain_stages()
    assert built.name == SALIENCY_STAGE and built.config == stage
    assert built.version == SALIENCY_STAGE_VERSION
    assert built.key == f"saliency-{config_hash({'config': config_hash(stage), 'version': SALIENCY_STAGE_VERSION})}"


def test_no_stage_without_saliency_or_with_a_checkpoint(tmp_path):
    assert _GuidedMethod(_Config(saliency=_Saliency(enabled=False))).pretrain_stages() == []
    method = _GuidedMethod()
    method.saliency_checkpoint = tmp_path / "saliency.pt"
    assert method.pretrain_stages() == []


def test_use_pretrained_takes_the_stage_folder_and_refuses_other_names(tmp_path):
    (tmp_path / "saliency.pt").write_bytes(b"")
    method = _GuidedMethod()
    method.use_pretrained(SALIENCY_STAGE, tmp_path)
    assert method.saliency_checkpoint == tmp_path / "saliency.pt"
    with pytest.raises(VqaError, match="no pretraining stage named 'stvqrl'"):
        method.use_pretrained("stvqrl", tmp_path)


def test_a_missing_checkpoint_is_named(tmp_path):
    method = _GuidedMethod(_Config(saliency=_Saliency(checkpoint=str(tmp_path / "nope.pt"))))
    method.saliency_checkpoint = tmp_path / "nope.pt"
    with pytest.raises(VqaError, match=r"nope\.pt does not exist"):
        method._ensure_saliency_model(build=False)
    with pytest.raises(VqaError, match="no saliency model is available"):
        _GuidedMethod()._ensure_saliency_model(build=False)


def test_clip_indices_are_linspace_and_trust_a_stored_frame_count(clips, tmp_path):
    assert clip_indices(clips[0], 4) == [0, 3, 6, 9]
    never_opened = _item(tmp_path / "absent.mp4", 1.0, num_frames=7)
    assert clip_indices(never_opened, 3) == [0, 3, 6]
    with pytest.raises(VideoDecodeError):
        clip_indices(_item(tmp_path / "absent.mp4", 1.0), 3)


def test_undecodable_videos_are_left_out_with_one_warning_or_raise_when_strict(clips, tmp_path, caplog):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    method = _GuidedMethod()
    with caplog.at_level(logging.WARNING):
        kept, indices = method._indices([clips[0], _item(bad, 1.0), clips[1]], strict=False)
    assert kept == [clips[0], clips[1]] and indices == [[0, 3, 6, 9]] * 2
    assert "broken.mp4" in caplog.text
    with pytest.raises(VideoDecodeError, match=r"broken\.mp4"):
        method._indices([_item(bad, 1.0)], strict=True)


def test_targets_are_normalised_with_train_statistics_only(clips):
    method = _GuidedMethod()
    train, val = method._labelled_clips(clips[:2], clips[2:])
    expected = [-1.0, 1.0]  # (mos - 5) / 5, the population std of the train MOS
    np.testing.assert_allclose(train.targets, expected)
    np.testing.assert_allclose(val.targets, [(20.0 - 5.0) / 5.0])  # population std of 0, 10 is 5
    assert val.items == clips[2:] and val.indices == [[0, 3, 6, 9]]
    with pytest.raises(DatasetError, match="at least 2 decodable"):
        method._labelled_clips(clips[:1], [])


def test_guided_clips_draw_augmentation_seeds_from_seed_epoch_and_index():
    ds = GuidedClipDataset(["a", "b"], [[0, 1], [2, 3]], (8, 8), seed=5)
    first = [ds.augment_seed(0), ds.augment_seed(1), ds.augment_seed(0, 1)]
    assert len(set(first)) == 3
    assert ds.augment_seed(0) == int(np.random.SeedSequence([5, 0, 0]).generate_state(1)[0])
    ds.set_epoch(1)
    assert ds.augment_seed(0) != first[0]
    assert len(ds) == 2 and np.isnan(ds.targets).all()
    with pytest.raises(ValueError, match="2 items but 1 index lists"):
        GuidedClipDataset(["a", "b"], [[0]], (8, 8))
