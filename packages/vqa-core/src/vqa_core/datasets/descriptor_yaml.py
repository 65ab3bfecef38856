"""Reading a descriptor's YAML into the schema, strictly: a typo in a key is an error naming the file.

The YAML is forgiving where people write it by hand (a single column name for a list of
alternatives, a part that is itself its only label file, numbers where names are text); those
shorthands are expanded here, then `vqa_core.config.config_from_dict` builds the dataclasses, the
same strict builder every config of vqa-zoo goes through (unknown keys name the nearest valid one,
values are type-checked).
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeVar

import yaml

from vqa_core.config_convert import config_from_dict
from vqa_core.datasets.descriptor_schema import DatasetDescriptor, DescriptorPart, LabelFile, PathRule
from vqa_core.errors import ConfigError, DatasetError

__all__ = ["descriptor_from_dict", "load_descriptor_file"]

T = TypeVar("T")
PART_KEYS = ("name", "split", "optional", "files")


def descriptor_from_dict(data: Mapping[str, Any], source: Path | None = None) -> DatasetDescriptor:
    """Build a descriptor from its YAML mapping, checking every key (typos are errors)."""
    where = str(source or data.get("name", "descriptor"))
    data = dict(data)
    parts = [_part(raw, i, f"{where}: parts[{i}]") for i, raw in enumerate(_as_list(data.pop("parts", [])))]
    rules = {}
    for key in ("video", "maps", "fixations"):
        raw = data.pop(key, None)
        if raw is not None:
            raw = dict(_mapping(raw, f"{where}: {key}"))
            for k in ("patterns", "dirs"):
                if k in raw:
                    raw[k] = [str(v) for v in _as_list(raw[k])]
            rules[key] = _build(PathRule, raw, f"{where}: {key}")
    return _build(DatasetDescriptor, {**data, **rules, "parts": parts, "source": source}, where)


def load_descriptor_file(path: str | Path | Traversable) -> DatasetDescriptor:
    """The descriptor in a YAML file: a path, or a file shipped inside a package (`importlib.resources`)."""
    if isinstance(path, str):
        path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise DatasetError(f"cannot read dataset descriptor {path}: {err}") from err
    except yaml.YAMLError as err:
        raise DatasetError(f"dataset descriptor {path} is not valid YAML: {err}") from err
    if not isinstance(data, Mapping):
        raise DatasetError(f"dataset descriptor {path} must be a YAML mapping")
    data = dict(data)
    data.setdefault("name", path.name.rsplit(".", 1)[0])
    return descriptor_from_dict(data, source=Path(str(path)))


def _part(raw: Any, index: int, where: str) -> DescriptorPart:
    raw = dict(_mapping(raw, where))
    if "files" in raw:
        files = [_label_file(f, f"{where}.files[{j}]") for j, f in enumerate(_as_list(raw.pop("files")))]
    else:  # shorthand: a part that is itself its single label file
        files = [_label_file({k: raw.pop(k) for k in list(raw) if k not in PART_KEYS}, where)]
    return _build(DescriptorPart, {"name": raw.pop("name", f"part{index}"), "files": files, **raw}, where)


def _label_file(data: Any, where: str) -> LabelFile:
    data = dict(_mapping(data, where))
    for key in ("candidates", "id_column", "mos_column", "keep_columns"):
        if key in data:
            data[key] = [str(v) for v in _as_list(data[key])]
    if "split_values" in data:
        values = _mapping(data["split_values"], f"{where}: split_values")
        data["split_values"] = {str(k).lower(): str(v) for k, v in values.items()}
    return _build(LabelFile, data, where)


def _build(cls: type[T], data: Mapping[str, Any], where: str) -> T:
    try:
        return config_from_dict(cls, data, origin=where)
    except ConfigError as err:  # a dataset's problem to the user: the family `vqa dataset` reports
        raise DatasetError(str(err)) from err


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DatasetError(f"{where}: expected a mapping, got {type(value).__name__} {value!r}")
    return value


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]
