"""The override files in benchmarks/configs load, and each changes its preset in what it lists only.

They are short on purpose (`preset: small` + the changed keys), so that they cannot drift from the
Python presets: this test loads every one the way its header comment says to use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from saliency_core.config import SaliencyConfig
from vqa_bench.runner import resolve_method_config
from vqa_core.config import config_to_dict, load_config
from vqa_core.method import get_method, list_methods

CONFIGS = Path(__file__).resolve().parents[2] / "benchmarks" / "configs"
FILES = sorted(CONFIGS.glob("*.yaml"))


def _flat(data: Any, prefix: str = "") -> dict[str, Any]:
    if not isinstance(data, dict):
        return {prefix.rstrip("."): data}
    out: dict[str, Any] = {}
    for key, value in data.items():
        out.update(_flat(value, f"{prefix}{key}."))
    return out


def _sections(path: Path) -> dict[str, dict[str, Any]]:
    """{method or `saliency`: its part of the file}: a sectioned file, or one named `<method>-...`."""
    data = yaml.safe_load(path.read_text())
    if set(data) <= set(list_methods()):
        return data
    return {path.name.split("-")[0]: data}


def _load(name: str, path: Path) -> Any:
    if name == "saliency":
        return load_config(SaliencyConfig, path)
    return resolve_method_config(get_method(name), str(path), name)


def test_there_are_a_few_short_override_files() -> None:
    assert 3 <= len(FILES) <= 10
    for path in FILES:
        assert len(path.read_text().splitlines()) <= 20, f"{path} is not a short override file"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_override_file_changes_its_preset_in_the_listed_keys_only(path: Path) -> None:
    for name, section in _sections(path).items():
        assert "preset" in section, f"{path} [{name}] must start from a preset"
        cfg = _load(name, path)
        base = load_config(type(cfg), section["preset"])
        listed = [key for key in _flat(section) if key != "preset"]
        changed = {
            key for key, value in _flat(config_to_dict(cfg)).items() if _flat(config_to_dict(base))[key] != value
        }
        assert changed, f"{path} [{name}] changes nothing in preset {section['preset']!r}"
        stray = {key for key in changed if not any(key == k or key.startswith(k + ".") for k in listed)}
        assert not stray, f"{path} [{name}] changed keys it does not list: {sorted(stray)}"
