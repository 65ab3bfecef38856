"""Splits: determinism, proportions, grouping, official splits, CSV export, MOS scaling."""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

import numpy as np
import pytest
import torch

from vqa_core.datasets import (
    Manifest,
    ManifestItem,
    MosScaler,
    make_splits,
    official_split,
    random_splits,
    read_splits_csv,
    split_column_name,
    write_splits_csv,
)
from vqa_core.errors import DatasetError

IDS = [f"v{i:03d}" for i in range(100)]


def _manifest(ids, name="toy", split=lambda i: "", extra=lambda i: {}, **kw) -> Manifest:
    items = [ManifestItem(v, Path(f"/data/{v}.mp4"), float(k), split(k), extra(k)) for k, v in enumerate(ids)]
    return Manifest(name, items, **kw)


def test_ten_seeded_80_20_splits_with_a_validation_part_from_train():
    splits = random_splits(IDS, "toy")
    assert [s.name for s in splits] == [f"ratio802_seed123_split_{k:02d}" for k in range(10)]
    for s in splits:
        assert s.seed == 123 and s.dataset == "toy"
        assert (len(s.train), len(s.val), len(s.test)) == (70, 10, 20)  # 20 % test; val 12.5 % of train
        assert set(s.train) | set(s.val) | set(s.test) == set(IDS)
        assert not (set(s.train) & set(s.test) or set(s.train) & set(s.val) or set(s.val) & set(s.test))
    assert len({s.test for s in splits}) == 10  # the repeats differ


def test_splits_depend_only_on_name_ids_and_seed_not_on_order():
    shuffled = IDS[:]
    random.Random(7).shuffle(shuffled)
    assert random_splits(IDS, "toy") == random_splits(shuffled, "toy")
    assert random_splits(IDS, "toy")[0].test != random_splits(IDS, "other")[0].test
    assert random_splits(IDS, "toy", seed=1)[0].test != random_splits(IDS, "toy", seed=2)[0].test
    # the same across processes: no Python hash randomisation involved (pinned below)


def test_split_assignment_is_pinned():
    # Pinned on purpose: published split files and stored results rely on the same ids landing in
    # the same parts forever. A change here silently invalidates every comparison; it must be a
    # deliberate, announced protocol change.
    first = random_splits([f"v{i:02d}" for i in range(10)], "pinned", num_splits=1, seed=0)[0]
    assert first.test == ("v00", "v03")
    assert first.val == ("v06",)


def test_grouped_splits_keep_groups_together():
    ids = [f"s{s}_v{v}" for s in range(10) for v in range(5)]
    groups = {i: i.split("_")[0] for i in ids}
    for s in random_splits(ids, "demo", groups=groups):
        parts = {
            g: {p for p, members in s.parts.items() for i in members if groups[i] == g}
            for g in set(groups.values())
        }
        assert all(len(p) == 1 for p in parts.values()), parts
        assert len(s.test) == 10  # 2 of the 10 scenes
        assert len(s.val) == 5  # 1 of the 8 remaining scenes (12.5 % of 40 items = 5)


def test_make_splits_uses_the_datasets_group_by_default():
    manifest = _manifest(
        [f"s{s}_v{v}" for s in range(6) for v in range(3)],
        name="demo",
        extra=lambda k: {"scene": f"s{k // 3}"},
        group_by="scene",
    )
    for s in make_splits(manifest, num_splits=3):
        scenes = {part: {i.split("_")[0] for i in ids} for part, ids in s.parts.items()}
        assert not (scenes["train"] & scenes["test"]) and not (scenes["val"] & scenes["test"])
    ungrouped = make_splits(manifest, num_splits=1, group_by=None)[0]
    assert len(ungrouped.test) == round(0.2 * 18)
    bad = _manifest(["a", "b"], group_by="scene")
    with pytest.raises(DatasetError, match="cannot group by 'scene'"):
        make_splits(bad)


def test_official_split_carves_a_seeded_validation_part_from_train():
    names = [f"yfcc/{i}" for i in range(50)]
    manifest = _manifest(
        names,
        name="lsvq",
        split=lambda k: "train" if k < 40 else ("test" if k < 46 else "test_1080p"),
        official_split=True,
    )
    (split,) = make_splits(manifest)
    assert split.name == "official_seed123" and split.seed == 123
    assert list(split.parts) == ["train", "val", "test", "test_1080p"]
    assert (len(split.train), len(split.val), len(split.test), len(split.parts["test_1080p"])) == (
        35,
        5,
        6,
        4,
    )
    assert set(split.val) <= {f"yfcc/{i}" for i in range(40)}
    assert official_split(manifest) == split

    with_val = _manifest(["a", "b", "c"], split=lambda k: ["train", "val", "test"][k], official_split=True)
    kept = official_split(with_val)
    assert kept.name == "official_split" and kept.seed is None and kept.val == ("b",)

    no_train = _manifest(["a"], split=lambda k: "test", official_split=True)
    with pytest.raises(DatasetError, match="no train part"):
        official_split(no_train)


def test_split_select_returns_items_and_checks_ids():
    manifest = _manifest(IDS)
    split = random_splits(IDS, "toy", num_splits=1)[0]
    test_items = split.select(manifest, "test")
    assert [i.video_id for i in test_items] == list(split.test)
    smaller = _manifest(IDS[:50])
    with pytest.raises(DatasetError, match="absent from the manifest"):
        split.select(smaller, "test")
    with pytest.raises(DatasetError, match="no part 'holdout'"):
        split.select(manifest, "holdout")


def test_splits_csv_round_trip(tmp_path):
    splits = random_splits(IDS, "toy", num_splits=3, seed=7)
    path = write_splits_csv(splits, tmp_path / "splits" / "toy.csv")
    with path.open() as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "video_id",
        "ratio802_seed7_split_00",
        "ratio802_seed7_split_01",
        "ratio802_seed7_split_02",
    ]
    assert {r["ratio802_seed7_split_00"] for r in rows} == {"train", "val", "test"}
    back = read_splits_csv(path, dataset="toy")
    assert back == splits


def test_read_pyiqa_style_meta_info(tmp_path):
    path = tmp_path / "meta_info.csv"
    path.write_text(
        "name,mos,std,ratio802_seed123_split_00,official_split\n"
        "a.png,1.0,0.1,train,train\n"
        "b.png,2.0,0.1,test,val\n"
        "c.png,3.0,0.1,val,test\n"
    )
    random_part, official = read_splits_csv(path)
    assert random_part.seed == 123 and random_part.test == ("b.png",) and random_part.val == ("c.png",)
    assert official.seed is None and official.name == "official_split" and official.val == ("b.png",)
    (tmp_path / "none.csv").write_text("name,mos\na,1\n")
    with pytest.raises(DatasetError, match="no split columns"):
        read_splits_csv(tmp_path / "none.csv")


def test_split_column_name_for_other_ratios():
    assert split_column_name(42, 3) == "ratio802_seed42_split_03"
    assert split_column_name(1, 0, test_fraction=0.3) == "ratio703_seed1_split_00"


def test_mos_scaler_uses_only_what_it_is_given():
    train = [ManifestItem(str(m), Path("/x"), m) for m in (1.0, 2.0, 3.0, 4.0)]
    scaler = MosScaler.fit(train)
    # hand-computed: mean 2.5, population variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    assert scaler.mean == 2.5 and scaler.std == pytest.approx(math.sqrt(1.25))
    assert (scaler.min, scaler.max, scaler.count) == (1.0, 4.0, 4)
    assert scaler.transform(2.5) == 0.0
    assert scaler.transform(4.0) == pytest.approx(1.5 / math.sqrt(1.25))
    values = np.array([0.0, 10.0, 100.0])
    np.testing.assert_allclose(scaler.inverse(scaler.transform(values)), values, rtol=1e-12, atol=1e-12)
    minmax = MosScaler.fit([1.0, 4.0, 2.0], mode="minmax")
    assert minmax.transform(1.0) == 0.0 and minmax.transform(4.0) == 1.0 and minmax.transform(2.5) == 0.5
    tensor = minmax.transform(torch.tensor([1.0, 4.0]))
    assert torch.equal(tensor, torch.tensor([0.0, 1.0]))
    assert MosScaler.from_dict(scaler.to_dict()) == scaler


def test_mos_scaler_refuses_bad_input():
    with pytest.raises(DatasetError, match="zero items"):
        MosScaler.fit([])
    with pytest.raises(DatasetError, match="no MOS"):
        MosScaler.fit([ManifestItem("a", Path("/x"), math.nan), ManifestItem("b", Path("/y"), 1.0)])
    with pytest.raises(DatasetError, match=r"all 2 training MOS values equal 3\.0"):
        MosScaler.fit([3.0, 3.0])
    with pytest.raises(DatasetError, match="mode must be"):
        MosScaler.fit([1.0, 2.0], mode="rank")
