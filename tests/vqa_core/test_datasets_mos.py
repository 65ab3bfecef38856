"""Non-finite MOS is refused where it is read, naming the file, the line and the video (#16.4)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from vqa_core.datasets import ManifestItem, build_manifest, read_manifest_csv, write_manifest_csv
from vqa_core.datasets.descriptor import descriptor_from_dict
from vqa_core.errors import DatasetError


def _csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.parametrize("value", ["inf", "-inf", "Infinity", "1e999"])
def test_manifest_csv_refuses_infinite_mos(tmp_path: Path, value: str) -> None:
    path = _csv(tmp_path / "m.csv", ["video_id", "path", "mos"], [["a", "a.mp4", "3.5"], ["b", "b.mp4", value]])
    with pytest.raises(DatasetError, match=rf"m\.csv:3: mos '{value}' is not a finite number \(video 'b'\)"):
        read_manifest_csv(path)


def test_manifest_csv_refuses_nan_among_labelled_rows(tmp_path: Path) -> None:
    rows = [["a", "a.mp4", "3.5"], ["b", "b.mp4", "2.0"], ["c", "c.mp4", "NaN"], ["d", "d.mp4", "nan"]]
    path = _csv(tmp_path / "m.csv", ["video_id", "path", "mos"], rows)
    with pytest.raises(DatasetError, match=r"m\.csv:4: mos 'nan' is not a number \(video 'c'\) \(and 1 more rows\)"):
        read_manifest_csv(path)


def test_line_numbers_count_quoted_line_breaks(tmp_path: Path) -> None:
    path = tmp_path / "m.csv"
    path.write_text('video_id,path,mos,note\na,a.mp4,1.0,"two\nlines"\nb,b.mp4,inf,x\n')
    with pytest.raises(DatasetError, match=r"m\.csv:4: mos 'inf'"):
        read_manifest_csv(path)


def test_unlabelled_rows_stay_allowed(tmp_path: Path) -> None:
    # empty cells mean "no MOS", among labelled rows too (as before)
    mixed = _csv(tmp_path / "mixed.csv", ["video_id", "path", "mos"], [["a", "a.mp4", "3.5"], ["b", "b.mp4", ""]])
    assert [item.has_mos for item in read_manifest_csv(mixed)] == [True, False]
    # a list without any MOS, written as `nan` by older versions, reads as unlabelled
    legacy = _csv(tmp_path / "old.csv", ["video_id", "path", "mos"], [["a", "a.mp4", "nan"], ["b", "b.mp4", "nan"]])
    assert not any(item.has_mos for item in read_manifest_csv(legacy))


def test_unlabelled_items_round_trip_as_empty_cells(tmp_path: Path) -> None:
    items = [ManifestItem("a", tmp_path / "a.mp4", 2.5), ManifestItem("b", tmp_path / "b.mp4", math.nan)]
    path = write_manifest_csv(items, tmp_path / "m.csv")
    assert [row["mos"] for row in csv.DictReader(path.open())] == ["2.5", ""]
    back = read_manifest_csv(path)
    assert back[0].mos == 2.5 and not back[1].has_mos


def test_manifest_item_refuses_an_infinite_mos() -> None:
    with pytest.raises(DatasetError, match=r"video 'x' \(/v\.mp4\): MOS inf is not a finite number"):
        ManifestItem("x", Path("/v.mp4"), math.inf)


def _descriptor(fmt: str, candidate: str) -> object:
    return descriptor_from_dict(
        {
            "name": "toy",
            "mos_range": [1, 5],
            "parts": [{"candidates": [candidate], "format": fmt, "id_column": "name", "mos_column": "mos"}],
            "video": {"patterns": ["{id}.mp4"]},
        }
    )


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", ""])
def test_descriptor_build_refuses_non_finite_mos_with_file_line_and_id(tmp_path: Path, value: str) -> None:
    _csv(tmp_path / "labels.csv", ["name", "mos"], [["v1", "3.0"], ["v2", "2.5"], ["v3", value]])
    with pytest.raises(DatasetError) as info:
        build_manifest(_descriptor("csv", "labels.csv"), tmp_path, check_videos=False)
    message = str(info.value)
    assert f"{tmp_path / 'labels.csv'}:4 (dataset 'toy'): video 'v3' has MOS {value!r}, not a finite number" in message


def test_fastvqa_list_names_the_line_of_an_infinite_mos(tmp_path: Path) -> None:
    (tmp_path / "labels.txt").write_text("a/v1.mp4, -1, -1, 3.0\n\na/v2.mp4, -1, -1, inf\n")
    desc = descriptor_from_dict(
        {
            "name": "toy-txt",
            "parts": [{"candidates": ["labels.txt"], "format": "fastvqa_txt", "id_column": "stem"}],
            "video": {"patterns": ["{relpath}"]},
        }
    )
    with pytest.raises(DatasetError, match=r"labels\.txt:3 \(dataset 'toy-txt'\): video 'a/v2' has MOS 'inf'"):
        build_manifest(desc, tmp_path, check_videos=False)
