"""Manifests, descriptors and build_manifest on small fake data roots (no real data needed)."""

from __future__ import annotations

import csv
import math
import warnings
from pathlib import Path

import pytest

from vqa_core.datasets import (
    Manifest,
    ManifestItem,
    build_manifest,
    list_datasets,
    load_descriptor,
    read_manifest_csv,
    saliency_paths,
    write_manifest_csv,
)
from vqa_core.datasets.descriptor import descriptor_from_dict
from vqa_core.errors import DatasetError

EXPECTED_DATASETS = {
    "demo",
    "demo-saliency",
    "dhf1k",
    "diem",
    "konvid-1k",
    "live-vqc",
    "lsvq",
    "lsvq-fastvqa",
    "youtube-ugc",
}


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_every_descriptor_in_the_repo_loads():
    assert set(list_datasets()) >= EXPECTED_DATASETS
    for name in list_datasets():
        desc = load_descriptor(name)
        assert desc.name == name
        assert desc.parts and all(part.files for part in desc.parts)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DatasetError) as info:
        load_descriptor("konvid1k")
    message = str(info.value)
    assert "unknown dataset 'konvid1k'" in message
    assert "Did you mean 'konvid-1k'" in message
    for name in ("lsvq", "live-vqc", "youtube-ugc", "dhf1k"):
        assert name in message


def test_descriptor_typo_is_an_error_naming_the_key():
    with pytest.raises(DatasetError, match="mos_colum"):
        descriptor_from_dict({"name": "x", "parts": [{"candidates": ["a.csv"], "mos_colum": "mos"}]})
    with pytest.raises(DatasetError, match="kind must be"):
        descriptor_from_dict({"name": "x", "kind": "image", "parts": [{"candidates": ["a.csv"]}]})


def test_manifest_csv_round_trip_keeps_values_and_makes_paths_absolute(tmp_path):
    videos = tmp_path / "data" / "videos"
    items = [
        ManifestItem("b", videos / "b.mp4", 2.5, "train", {"scene": "s1", "version": 3}),
        ManifestItem("a", videos / "sub" / "a.mp4", 0.1 + 0.2, "", {"scene": "s2"}),
    ]
    out = write_manifest_csv(items, tmp_path / "data" / "manifest.csv")
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["path"] == "videos/b.mp4"  # relative to the CSV
    assert list(rows[0]) == ["video_id", "path", "mos", "split", "scene", "version"]
    back = read_manifest_csv(out)
    assert [i.video_id for i in back] == ["b", "a"]
    assert back[0].path == (videos / "b.mp4").resolve() and back[0].path.is_absolute()
    assert back[1].mos == 0.1 + 0.2  # repr round trip is exact
    assert back[0].extra == {"scene": "s1", "version": 3}
    assert back[1].split == "" and back[1].extra["version"] == ""


def test_manifest_csv_errors_name_the_file_and_line(tmp_path):
    bad = _write_csv(tmp_path / "m.csv", ["video_id", "mos"], [["a", 1]])
    with pytest.raises(DatasetError, match=r"m\.csv.*missing \['path'\]"):
        read_manifest_csv(bad)
    bad = _write_csv(
        tmp_path / "n.csv", ["video_id", "path", "mos"], [["a", "a.mp4", "1"], ["b", "b.mp4", "good"]]
    )
    with pytest.raises(DatasetError, match=r"n\.csv:3: mos 'good' is not a number"):
        read_manifest_csv(bad)
    dup = _write_csv(
        tmp_path / "d.csv", ["video_id", "path", "mos"], [["a", "a.mp4", "1"], ["a", "b.mp4", "2"]]
    )
    with pytest.raises(DatasetError, match="duplicate video ids"):
        read_manifest_csv(dup)


def _demo_root(tmp_path: Path, scenes: int = 3, versions: int = 2) -> Path:
    root = tmp_path / "root"
    rows = []
    for s in range(scenes):
        for v in range(versions):
            vid = f"scene{s}_v{v}"
            _touch(root / "demo" / "clips" / f"{vid}.mp4")
            rows.append([vid, f"clips/{vid}.mp4", 1.0 + s + 0.25 * v, f"scene{s}", f"photo{s // 2}", v, "train", 64])
    # the demo builder also writes its own single split and the frame count
    header = ["video_id", "path", "mos", "scene", "source", "version", "split", "num_frames"]
    _write_csv(root / "demo" / "manifest.csv", header, rows)
    return root


def test_demo_descriptor_reads_the_demo_manifest(tmp_path):
    root = _demo_root(tmp_path)
    manifest = build_manifest("demo", root)
    assert isinstance(manifest, Manifest)
    assert len(manifest) == 6 and manifest.group_by == "source" and not manifest.official_split
    first = manifest.by_id()["scene1_v1"]
    assert first.path == (root / "demo" / "clips" / "scene1_v1.mp4").resolve()
    assert first.mos == 2.25
    assert first.extra == {"scene": "scene1", "source": "photo0", "version": 1, "num_frames": 64}
    assert first.split == ""  # demo uses the seeded grouped splits, not the builder's single split


def test_missing_videos_are_reported_up_front_with_count_and_names(tmp_path):
    root = _demo_root(tmp_path, scenes=4, versions=2)
    for vid in ("scene0_v0", "scene2_v1", "scene3_v0"):
        (root / "demo" / "clips" / f"{vid}.mp4").unlink()
    with pytest.raises(DatasetError) as info:
        build_manifest("demo", root)
    message = str(info.value)
    assert "3 of 8 labelled videos are missing" in message
    assert "scene0_v0" in message and "scene3_v0" in message and "on_missing='drop'" in message

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        manifest = build_manifest("demo", root, on_missing="drop")
    assert len(manifest) == 5
    assert len([w for w in caught if "missing" in str(w.message)]) == 1
    assert "3 of 8" in str(caught[0].message)

    assert len(build_manifest("demo", root, check_videos=False)) == 8


def test_missing_label_file_and_data_root_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        build_manifest("konvid-1k", tmp_path / "nowhere")
    with pytest.raises(DatasetError, match=r"no label file for part 'labels'.*KoNViD_1k_mos\.csv"):
        build_manifest("konvid-1k", tmp_path)


def test_label_file_override_and_video_patterns(tmp_path):
    # KoNViD: the attributes file under another name, videos named by the old release's file_name
    label = _write_csv(
        tmp_path / "elsewhere" / "attrs.csv",
        ["flickr_id", "download_id", "file_name", "MOS"],
        [["111", "9", "111_original_centercrop_960x540_8s.mp4", "1.5"], ["222", "9", "x.mp4", "4.25"]],
    )
    root = tmp_path / "konvid"
    _touch(root / "KoNViD_1k_videos" / "111_original_centercrop_960x540_8s.mp4")
    _touch(root / "KoNViD_1k_videos" / "222.mp4")
    manifest = build_manifest(load_descriptor("konvid-1k"), root, label_files={"labels": label})
    paths = {i.video_id: i.path.name for i in manifest}
    assert paths == {"111": "111_original_centercrop_960x540_8s.mp4", "222": "222.mp4"}
    assert {i.video_id: i.mos for i in manifest} == {"111": 1.5, "222": 4.25}


def test_bad_mos_names_file_and_row(tmp_path):
    root = tmp_path / "k"
    _write_csv(root / "KoNViD_1k_mos.csv", ["flickr_id", "mos"], [["1", "2.0"], ["2", "n/a"]])
    with pytest.raises(DatasetError, match=r"KoNViD_1k_mos\.csv.*row 2 \(2\): MOS 'n/a' is not a number"):
        build_manifest("konvid-1k", root, check_videos=False)


def _saliency_clip(root: Path, clip: str, frames: int = 3) -> None:
    for sub in ("frames", "maps", "fixations"):
        for k in range(frames):
            _touch(root / clip / sub / f"{k:04d}.png")


def test_demo_saliency_items_carry_folders_and_official_split(tmp_path):
    root = tmp_path / "d"
    base = root / "demo-saliency"
    rows = []
    for i, split in enumerate(["train", "train", "val", "test"]):
        _saliency_clip(base, f"clip{i}")
        rows.append([f"clip{i}", split, 3])
    _write_csv(base / "manifest.csv", ["clip_id", "split", "num_frames"], rows)
    manifest = build_manifest("demo-saliency", root)
    assert manifest.kind == "saliency" and manifest.official_split
    assert [i.split for i in manifest] == ["train", "train", "val", "test"]
    item = manifest.by_id()["clip2"]
    assert math.isnan(item.mos) and not item.has_mos
    frames, maps, fixations = saliency_paths(item)
    assert frames == (base / "clip2" / "frames").resolve()
    assert maps == (base / "clip2" / "maps").resolve()
    assert fixations == (base / "clip2" / "fixations").resolve()
    assert item.extra["num_frames"] == 3
    assert item.extra["map_index_base"] == 0  # a descriptor constant

    # a clip without maps is a missing clip
    for f in (base / "clip3" / "maps").iterdir():
        f.unlink()
    (base / "clip3" / "maps").rmdir()
    with pytest.raises(DatasetError, match=r"1 of 4 labelled clips \(frames or maps\) are missing: clip3"):
        build_manifest("demo-saliency", root)

    # round trip through a manifest CSV keeps the saliency folders absolute
    back = read_manifest_csv(write_manifest_csv(manifest.items, tmp_path / "out" / "m.csv"))
    assert saliency_paths(back[2])[1] == maps


def test_dhf1k_layout_gives_the_official_split_by_video_number(tmp_path):
    root = tmp_path / "DHF1K"
    for number in (1, 600, 601, 700):
        clip = f"{number:04d}"
        _touch(root / "video" / f"{number:03d}.AVI")
        _touch(root / "annotation" / clip / "maps" / "0001.png")
        _touch(root / "annotation" / clip / "fixation" / "0001.png")
    (root / "annotation" / "notes").mkdir()  # not a clip folder
    manifest = build_manifest("dhf1k", root)
    assert {i.video_id: i.split for i in manifest} == {
        "0001": "train",
        "0600": "train",
        "0601": "val",
        "0700": "val",
    }
    assert manifest.by_id()["0601"].path == (root / "video" / "601.AVI").resolve()
    assert manifest.by_id()["0601"].extra["map_index_base"] == 1
    assert (
        saliency_paths(manifest.by_id()["0001"])[2] == (root / "annotation" / "0001" / "fixation").resolve()
    )


def test_lsvq_official_split_column_and_broken_rows_filter(tmp_path, caplog):
    root = tmp_path / "lsvq"
    _write_csv(
        root / "labels_train_test.csv",
        ["name", "mos", "frame_number", "is_test", "is_valid"],
        [
            ["yfcc-batch1/1", "50.5", "240", "False", "True"],
            ["yfcc-batch1/2", "60", "200", "True", "False"],
            ["ia-batch3/x", "70", "1", "False", "True"],  # broken tail rows of the first release
            ["ia-batch3/y", "20", "0", "True", "True"],
        ],
    )
    _write_csv(
        root / "labels_test_1080p.csv", ["name", "mos", "frame_number"], [["yfcc-batch1/9", "80", "150.0"]]
    )
    with caplog.at_level("WARNING"):
        manifest = build_manifest("lsvq", root, check_videos=False)
    assert {i.video_id: i.split for i in manifest} == {
        "yfcc-batch1/1": "train",
        "yfcc-batch1/2": "test",
        "yfcc-batch1/9": "test_1080p",
    }
    assert "dropped 2 of 4 rows" in caplog.text
    assert manifest.by_id()["yfcc-batch1/1"].path == (root / "yfcc-batch1" / "1.mp4").resolve()

    _write_csv(
        root / "labels_train_test.csv", ["name", "mos", "frame_number", "is_test"], [["a", "1", "9", "maybe"]]
    )
    with pytest.raises(
        DatasetError, match=r"split value 'maybe' in column 'is_test' is not one of \['false', 'true'\]"
    ):
        build_manifest("lsvq", root, check_videos=False)
