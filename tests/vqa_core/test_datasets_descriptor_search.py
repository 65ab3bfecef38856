"""Where descriptors come from: package data shipped in vqa-core, then the user's own folders."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

import vqa_core
from vqa_core.datasets import descriptor_dirs, list_datasets, load_descriptor, shipped_descriptors
from vqa_core.datasets.descriptor_search import ENV_MANIFEST_DIRS
from vqa_core.errors import DatasetError

SHIPPED = {"cvd2014", "demo", "demo-saliency", "dhf1k", "diem", "konvid-1k", "live-qualcomm", "live-vqc",
           "lsvq", "lsvq-fastvqa", "youtube-ugc"}
MINE = "name: {name}\ntitle: {title}\nparts:\n  - candidates: [labels.csv]\n"


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory outside the checkout, with no descriptor folder of the user's."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(ENV_MANIFEST_DIRS, raising=False)
    return tmp_path


def test_shipped_descriptors_are_package_data_found_from_any_folder(elsewhere: Path) -> None:
    folder = shipped_descriptors()
    assert folder == files("vqa_core.datasets") / "descriptors"
    assert Path(str(folder)).is_relative_to(Path(vqa_core.__file__).parent)  # inside the package
    assert set(list_datasets()) == SHIPPED
    desc = load_descriptor("konvid-1k")
    assert desc.source is not None and desc.source.parent == Path(str(folder))
    assert descriptor_dirs()[-1] == folder  # searched last: the user's own come first


def test_users_folders_add_and_shadow_descriptors(elsewhere: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = elsewhere / "data_manifests"
    local.mkdir()
    (local / "my-data.yaml").write_text(MINE.format(name="my-data", title="mine"))
    (local / "konvid-1k.yaml").write_text(MINE.format(name="konvid-1k", title="my copy's labels"))
    env_dir = elsewhere / "more"
    env_dir.mkdir()
    (env_dir / "other.yaml").write_text(MINE.format(name="other", title="from the env var"))
    monkeypatch.setenv(ENV_MANIFEST_DIRS, str(env_dir))
    extra = elsewhere / "extra"
    extra.mkdir()
    (extra / "other.yaml").write_text(MINE.format(name="other", title="from search_path"))

    assert set(list_datasets()) == SHIPPED | {"my-data", "other"}
    assert load_descriptor("my-data").source == local / "my-data.yaml"
    assert load_descriptor("konvid-1k").title == "my copy's labels"  # ./data_manifests before shipped
    assert load_descriptor("other").title == "from the env var"
    assert load_descriptor("other", search_path=[extra]).title == "from search_path"  # callers' first
    assert load_descriptor(str(local / "my-data.yaml")).name == "my-data"  # a path works as a name


def test_a_typo_in_a_users_descriptor_names_the_file_and_the_key(elsewhere: Path) -> None:
    path = elsewhere / "data_manifests" / "typo.yaml"
    path.parent.mkdir()
    path.write_text("name: typo\nparts:\n  - candidates: [a.csv]\n    mos_colum: mos\n")
    with pytest.raises(DatasetError) as err:
        load_descriptor("typo")
    message = str(err.value)
    assert str(path) in message and "parts[0]" in message and "'mos_colum'" in message
    assert "did you mean 'mos_column'" in message
    path.write_text("name: typo\nparts:\n  - just-a-string\n")
    with pytest.raises(DatasetError, match=r"typo\.yaml: parts\[0\]: expected a mapping"):
        load_descriptor("typo")
    path.write_text("name: typo\nexpected_counts: {train: many}\nparts:\n  - candidates: [a.csv]\n")
    with pytest.raises(DatasetError, match=r"typo\.yaml: expected_counts\.train must be an integer"):
        load_descriptor("typo")
