"""The shared native-size checks of method configs: each rule, its message, and a torch-free import."""

from __future__ import annotations

import pytest

from vqa_core.errors import ConfigError
from vqa_core.native_size import check_native_batch, check_native_size
from vqa_core.testing import modules_imported_by


def test_import_does_not_load_torch():
    assert modules_imported_by("import vqa_core.native_size", ("torch", "kornia")) == []


@pytest.mark.parametrize(
    "kwargs",
    [
        {"height": 224, "width": 224},
        {"height": None, "width": None},
        {"height": None, "width": None, "train_crop": [32, 24]},
        {"height": None, "width": None, "view_size": [224, 224]},
    ],
)
def test_consistent_settings_pass(kwargs):
    assert check_native_size(**kwargs) is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"height": 224, "width": None}, r"data\.height=224, data\.width=None: give both, or neither"),
        ({"height": 224, "width": 224, "train_crop": [32, 32]}, "train_crop takes native-scale crops"),
        (
            {"height": None, "width": None, "train_crop": [32]},
            r"data\.train_crop=\[32\] must be \[height, width\]",
        ),
        ({"height": None, "width": None, "train_crop": [0, 32]}, r"data\.train_crop=\[0, 32\] must be"),
        (
            {"height": None, "width": None, "train_crop": [32, 32], "view_size": [64, 64]},
            "two ways to make views; set one",
        ),
        (
            {"height": 224, "width": 224, "view_size": [64, 64]},
            "view_size resizes frames decoded at native size",
        ),
        ({"height": None, "width": None, "view_size": [64, -1]}, r"data\.view_size=\[64, -1\] must be"),
    ],
)
def test_inconsistent_settings_name_the_field(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        check_native_size(**kwargs)


def test_batches_of_native_size_clips_need_same_size_views():
    remedy = "data.train_crop crops them; set data.train_crop or trainer.batch_size=1"
    with pytest.raises(
        ConfigError, match=r"cannot share a training batch unless data\.train_crop crops them; set"
    ):
        check_native_batch(None, 4, same_size_views=False, remedy=remedy)
    check_native_batch(None, 1, same_size_views=False, remedy=remedy)  # one clip per batch: any sizes
    check_native_batch(None, 4, same_size_views=True, remedy=remedy)
    check_native_batch(224, 4, same_size_views=False, remedy=remedy)  # decoded to one size already
