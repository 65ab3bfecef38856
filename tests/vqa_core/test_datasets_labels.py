"""Every descriptor against the real label files the public datasets ship with.

The files are not part of the repo (shared/data/labels, see its PROVENANCE.md); these tests
skip when the folder is absent. Point $VQA_ZOO_LABELS at another copy to run them elsewhere.
Expected counts and ranges come from label_formats.md / anchors §1.5, not from this code.
Label files are copied into tmp_path at test time, acting as the user's data root.
"""

from __future__ import annotations

import os
import shutil
import warnings
from collections import Counter
from pathlib import Path

import pytest

from vqa_core.datasets import build_manifest
from vqa_core.errors import DatasetError


def _labels_dir() -> Path:
    env = os.environ.get("VQA_ZOO_LABELS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2].parent / "shared/data/labels"


LABELS = _labels_dir()
pytestmark = pytest.mark.skipif(not LABELS.is_dir(), reason=f"real label files not found at {LABELS}")


def _root(tmp_path: Path, *files: str, rename: dict[str, str] | None = None) -> Path:
    root = tmp_path / "data_root"
    root.mkdir(parents=True, exist_ok=True)
    for f in files:
        target = (rename or {}).get(f, Path(f).name)
        shutil.copy(LABELS / f, root / target)
    return root


def _mos(manifest):
    return [item.mos for item in manifest]


def test_konvid_mos_csv_and_attributes_agree(tmp_path):
    m = build_manifest("konvid-1k", _root(tmp_path, "KoNViD-1k/KoNViD_1k_mos.csv"), check_videos=False)
    assert len(m) == 1200 and len(set(m.ids)) == 1200
    assert min(_mos(m)) == pytest.approx(1.22) and max(_mos(m)) == pytest.approx(4.64)
    assert m.by_id()["3339962845"].mos == 4.64
    assert m.by_id()["3339962845"].path.name == "3339962845.mp4"

    a = build_manifest(
        "konvid-1k", _root(tmp_path / "b", "KoNViD-1k/KoNViD_1k_attributes.csv"), check_videos=False
    )
    assert set(a.ids) == set(m.ids)
    full = m.by_id()
    assert max(abs(item.mos - full[item.video_id].mos) for item in a) < 5e-5
    assert a.by_id()["8536919744"].extra["file_name"] == "8536919744_original_centercrop_960x540_8s.mp4"


def test_konvid_missing_videos_report(tmp_path):
    root = _root(tmp_path, "KoNViD-1k/KoNViD_1k_mos.csv")
    present = ["3339962845", "8171831850", "6076608135"]
    for vid in present:
        (root / "KoNViD_1k_videos").mkdir(exist_ok=True)
        (root / "KoNViD_1k_videos" / f"{vid}.mp4").write_bytes(b"")
    with pytest.raises(DatasetError) as info:
        build_manifest("konvid-1k", root)
    message = str(info.value)
    assert "1197 of 1200 labelled videos are missing" in message
    assert "and 1192 more" in message and "KoNViD_1k_videos" in message
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = build_manifest("konvid-1k", root, on_missing="drop")
    assert sorted(m.ids) == sorted(present)
    assert sum("1197 of 1200" in str(w.message) for w in caught) == 1


def test_live_vqc_mat_and_videval_csv(tmp_path):
    m = build_manifest("live-vqc", _root(tmp_path, "LIVE-VQC/LiveVQC_data.mat"), check_videos=False)
    assert len(m) == 585 and len(set(m.ids)) == 585
    assert min(_mos(m)) == pytest.approx(6.22368, abs=1e-5) and max(_mos(m)) == pytest.approx(
        94.2865, abs=1e-4
    )
    assert m[0].video_id == "A001" and m[0].mos == pytest.approx(80.232)
    assert m[0].path.parts[-2:] == ("Video", "A001.mp4")
    # the same file under the official name, passed explicitly
    root = _root(
        tmp_path / "o", "LIVE-VQC/LiveVQC_data.mat", rename={"LIVE-VQC/LiveVQC_data.mat": "data.mat"}
    )
    assert build_manifest("live-vqc", root, check_videos=False).ids == m.ids

    v = build_manifest(
        "live-vqc", _root(tmp_path / "v", "LIVE-VQC/LIVE_VQC_metadata.csv"), check_videos=False
    )
    assert set(v.ids) == set(m.ids)  # the 9 `...NEW.mp4` names are normalised
    mat = m.by_id()
    assert max(abs(i.mos - mat[i.video_id].mos) for i in v) < 1e-3


def _fastvqa_ugc_names() -> list[str]:
    with (LABELS / "YouTube-UGC/labels.txt").open() as fh:
        return [line.split(",")[0].strip() for line in fh if line.strip()]


def test_youtube_ugc_xlsx_csv_export_and_the_fastvqa_subset(tmp_path):
    x = build_manifest(
        "youtube-ugc",
        _root(tmp_path, "YouTube-UGC/original_videos_MOS_for_YouTube_UGC_dataset.xlsx"),
        check_videos=False,
    )
    assert len(x) == 1380 and len(set(x.ids)) == 1380
    assert min(_mos(x)) == pytest.approx(1.242) and max(_mos(x)) == pytest.approx(4.698)
    assert x.by_id()["Animation_1080P-01b3"].mos == pytest.approx(3.649)
    assert x.by_id()["Animation_1080P-01b3"].extra == {"category": "Animation", "resolution": 1080}

    root = _root(tmp_path / "c", "YouTube-UGC/YOUTUBE_UGC_metadata.csv")
    c = build_manifest("youtube-ugc", root, check_videos=False)
    assert [(i.video_id, i.mos) for i in c] == [(i.video_id, i.mos) for i in x]

    # a data root holding only the 1,147 H.264 clips FAST-VQA lists: they all resolve
    names = _fastvqa_ugc_names()
    assert len(names) == 1147
    videos = root / "original_videos_h264"
    videos.mkdir()
    for name in names:
        (videos / name).write_bytes(b"")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = build_manifest("youtube-ugc", root, on_missing="drop")
    assert len(kept) == 1147
    assert {i.path.name for i in kept} == set(names)
    assert any("233 of 1380" in str(w.message) for w in caught)


@pytest.fixture(scope="module")
def lsvq_lists(tmp_path_factory):
    """The 38,815-item FAST-VQA LSVQ manifest, built once for the tests that need it."""
    root = _root(
        tmp_path_factory.mktemp("lsvq"),
        "LSVQ/train_labels.txt",
        "LSVQ/labels_test.txt",
        "LSVQ/labels_1080p.txt",
    )
    return root, build_manifest("lsvq-fastvqa", root, check_videos=False)


def test_lsvq_fastvqa_lists(lsvq_lists):
    root, m = lsvq_lists
    assert Counter(i.split for i in m) == {"train": 28056, "test": 7186, "test_1080p": 3573}
    assert m.official_split
    assert all(0 <= mos <= 100 for mos in _mos(m))
    item = m.by_id()["yfcc-batch1/747"]
    assert item.split == "test" and item.mos == pytest.approx(67.75)
    assert item.path == (root / "yfcc-batch1" / "747.mp4").resolve()


def test_lsvq_official_files(tmp_path, lsvq_lists):
    # SimpleVQA's LSVQ_whole_test.csv holds the is_test rows of the official file with all its columns
    root = _root(
        tmp_path,
        "LSVQ/LSVQ_whole_test.csv",
        "LSVQ/labels_test_1080p.csv",
        rename={"LSVQ/LSVQ_whole_test.csv": "labels_train_test.csv"},
    )
    m = build_manifest("lsvq", root, check_videos=False)
    assert Counter(i.split for i in m) == {"test": 7220, "test_1080p": 3573}
    assert m.by_id()["yfcc-batch1/722"].split == "test_1080p"
    assert m.by_id()["yfcc-batch1/722"].mos == pytest.approx(78.7741935483871)
    lists = lsvq_lists[1]
    assert set(m.ids) & set(lists.ids)  # same id convention in both descriptors
    assert {i.video_id for i in m.in_split("test_1080p")} == {
        i.video_id for i in lists.in_split("test_1080p")
    }


def test_lsvq_derived_file_without_is_test_is_refused(tmp_path):
    root = _root(tmp_path, "LSVQ/labels_train_test.csv", "LSVQ/labels_test_1080p.csv")
    with pytest.raises(
        DatasetError, match=r"labels_train_test\.csv.*no split column 'is_test'.*FAST-VQA lists"
    ):
        build_manifest("lsvq", root, check_videos=False)


def test_diem_stavis_test_list(tmp_path):
    root = tmp_path / "stavis"
    (root / "fold_lists").mkdir(parents=True)
    shutil.copy(LABELS / "DIEM/DIEM_list_test_fps.txt", root / "fold_lists")
    m = build_manifest("diem", root, check_videos=False)
    assert len(m) == 17 and m.kind == "saliency" and {i.split for i in m} == {"test"}
    first = m.by_id()["BBC_life_in_cold_blood_1278x710"]
    assert first.extra["num_frames"] == 3399
    assert Path(first.extra["maps"]).parts[-3:] == ("DIEM", "BBC_life_in_cold_blood_1278x710", "maps")


@pytest.mark.parametrize("label", ["CVD2014/CVD2014_Realignment_MOS.csv", "CVD2014/Realignment_MOS.csv"])
def test_cvd2014_semicolon_decimal_comma_and_video_folders(tmp_path, label):
    root = _root(tmp_path, label)
    m = build_manifest("cvd2014", root, check_videos=False)
    assert len(m) == 234  # the 168 empty `;;;;;;;` rows are not items
    assert min(_mos(m)) == pytest.approx(-6.50) and max(_mos(m)) == pytest.approx(93.38)
    assert m.by_id()["Test01_City_D01"].mos == pytest.approx(67.29)  # "67,29", not 6729 or 0.6729
    # FAST-VQA's list holds the real folder layout: every label resolves to exactly its file
    with (LABELS / "CVD2014/labels.txt").open() as fh:
        expected = {Path(line.split(",")[0]).stem: line.split(",")[0] for line in fh if line.strip()}
    for rel in expected.values():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    found = build_manifest("cvd2014", root)
    assert {i.video_id: i.path.relative_to(root.resolve()).as_posix() for i in found} == expected


def test_live_qualcomm_struct_mat_and_raw_yuv_geometry(tmp_path):
    root = _root(tmp_path, "LIVE-Qualcomm/qualcommSubjectiveData.mat")
    m = build_manifest("live-qualcomm", root, check_videos=False)
    assert len(m) == 208
    assert min(_mos(m)) == pytest.approx(16.56, abs=5e-3) and max(_mos(m)) == pytest.approx(73.64, abs=5e-3)
    first = m.by_id()["0723_ManUnderTree_GS5_03_20150723_130016"]
    assert first.mos == pytest.approx(52.5666, abs=1e-4) and first.extra["distortion_type"] == 1
    # FAST-VQA's list gives the distortion folders: every video resolves there, with its raw geometry
    with (LABELS / "LIVE-Qualcomm/labels.txt").open() as fh:
        expected = {Path(line.split(",")[0]).stem: line.split(",")[0] for line in fh if line.strip()}
    assert len(expected) == 208
    for rel in expected.values():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b"")
    found = build_manifest("live-qualcomm", root)
    assert {i.video_id: i.path.relative_to(root.resolve()).as_posix() for i in found} == expected
    assert found[0].extra["raw_width"] == 1920 and found[0].extra["raw_pix_fmt"] == "yuv420p"
