"""The labelled / unlabelled partition: sizes, seeding, order independence."""

from __future__ import annotations

import numpy as np
import pytest

from ssl_vqa.partition import labelled_count, partition_items
from vqa_core.datasets import ManifestItem
from vqa_core.errors import ConfigError, DatasetError


def _items(n: int) -> list[ManifestItem]:
    return [ManifestItem(f"vid{i:03d}", f"/data/vid{i:03d}.mp4", float(i), "train") for i in range(n)]


def test_seed_setting_500_of_2000():
    part = partition_items(_items(2000), 500, seed=0)
    assert len(part.labelled) == 500 and len(part.unlabelled) == 1500
    ids_l = {it.video_id for it in part.labelled}
    assert ids_l.isdisjoint(it.video_id for it in part.unlabelled)


def test_fraction_rounds_and_counts():
    assert labelled_count(0.25, 130) == 32  # round(32.5) -> 32 (banker's), within one of 25 %
    assert labelled_count(0.25, 4) == 3  # at least the smallest PLCC batch with a gradient
    assert labelled_count(1.0, 10) == 10
    with pytest.raises(ConfigError, match="only 10"):
        labelled_count(11, 10)
    with pytest.raises(DatasetError):
        labelled_count(0.5, 1)


def test_seeded_and_order_independent():
    items = _items(50)
    a = partition_items(items, 0.3, seed=1)
    b = partition_items(list(reversed(items)), 0.3, seed=1)
    c = partition_items(items, 0.3, seed=2)
    ids = lambda p: [it.video_id for it in p.labelled]  # noqa: E731
    assert ids(a) == ids(b)
    assert ids(a) != ids(c)


def test_spread_is_the_seeds_linspace():
    items = _items(20)
    part = partition_items(items, 5, pick="spread")
    expected = np.linspace(0, 19, 5).round().astype(int)
    assert [it.video_id for it in part.labelled] == [f"vid{i:03d}" for i in expected]


def test_duplicate_ids_rejected():
    items = _items(4) + _items(1)
    with pytest.raises(DatasetError, match="vid000"):
        partition_items(items, 2)
