"""YAML-loadable dataclass configs: one loader for every method, stage and runner.

A config is a plain (possibly nested) dataclass. Users write YAML; code gets a typed instance,
so a typo in a YAML key fails loudly at load time (naming the key, the file and the valid keys)
instead of silently training with a default.

Sources accepted by `load_config(cls, source, overrides)`:
- `None`: the dataclass defaults;
- a preset name ("tiny" | "small" | "full" ...), looked up in `cls.presets()` if the class
  defines that classmethod, else in a module-level `PRESETS` dict next to the class; a preset
  may be an instance or a dict;
- a path to a YAML file (str or Path);
- a mapping (e.g. a config stored in a checkpoint);
- an instance of `cls` (returned as a copy, with overrides applied).

`overrides` is a mapping (nested, or with dotted keys such as `{"train.lr": 1e-3}`) or a
sequence of `"key=value"` strings (values parsed as YAML, as a `--set` CLI flag would give).

`config_hash(cfg)` is a stable digest of the class name and the field values, used to key
cached pretraining artifacts: equal configs give equal hashes across processes and machines.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import json
import sys
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from vqa_core.atomic import atomic_write_text
from vqa_core.errors import ConfigError

__all__ = [
    "config_from_dict",
    "config_hash",
    "config_to_dict",
    "dump_config",
    "load_config",
    "preset_names",
]

T = TypeVar("T")


def preset_names(cls: type) -> list[str]:
    """Names of the presets a config class offers (empty if none)."""
    return sorted(_presets(cls))


def load_config(
    cls: type[T],
    source: str | Path | Mapping[str, Any] | T | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
) -> T:
    """Build a `cls` instance from a preset name, a YAML path, a dict or an instance."""
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"load_config needs a dataclass type, got {cls!r}")
    origin = "defaults"
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, cls):
        data = config_to_dict(source)
        origin = f"{cls.__name__} instance"
    elif isinstance(source, Mapping):
        data = dict(source)
        origin = "dict"
    elif isinstance(source, (str, Path)):
        data, origin = _read_source(cls, source)
    else:
        raise ConfigError(
            f"cannot build {cls.__name__} from {type(source).__name__} {source!r}: pass a preset name, "
            "a YAML path, a dict or a config instance"
        )
    if overrides:
        data = _apply_overrides(cls, data, overrides)
    return config_from_dict(cls, data, origin=origin)


def config_from_dict(cls: type[T], data: Mapping[str, Any], origin: str = "dict") -> T:
    """Strictly convert a (nested) mapping to `cls`; unknown keys and bad types raise ConfigError."""
    return _build(cls, data, origin, prefix="")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain-data view of a config (tuples -> lists, paths -> str): YAML, JSON and weights_only safe."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"config_to_dict needs a dataclass instance, got {cfg!r}")
    return {f.name: _plain(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}


def dump_config(cfg: Any, path: str | Path) -> Path:
    """Write `cfg` as YAML that `load_config(type(cfg), path)` reads back to an equal config."""
    text = f"# {type(cfg).__module__}.{type(cfg).__qualname__}\n" + yaml.safe_dump(
        config_to_dict(cfg), sort_keys=False, default_flow_style=False
    )
    return atomic_write_text(path, text)


def config_hash(cfg: Any, length: int = 16) -> str:
    """Stable hex digest of the config class name and its values (key order does not matter).

    A plain mapping is accepted too (e.g. `{"config": stage_cfg, "dataset": "demo"}` for a
    pretraining stage); dataclasses nested in it are expanded.
    """
    if isinstance(cfg, Mapping):
        payload = {"class": "dict", "config": _plain(cfg)}
    else:
        payload = {"class": type(cfg).__qualname__, "config": config_to_dict(cfg)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


# --------------------------------------------------------------------------- internals


def _presets(cls: type) -> dict[str, Any]:
    getter = getattr(cls, "presets", None)
    if callable(getter):
        return dict(getter())
    module = sys.modules.get(cls.__module__)
    presets = getattr(module, "PRESETS", None)
    return dict(presets) if isinstance(presets, Mapping) else {}


def _read_source(cls: type, source: str | Path) -> tuple[dict[str, Any], str]:
    presets = _presets(cls)
    if isinstance(source, str) and source in presets:
        preset = presets[source]
        if dataclasses.is_dataclass(preset) and not isinstance(preset, type):
            return config_to_dict(preset), f"preset {source!r}"
        return dict(preset), f"preset {source!r}"
    path = Path(source)
    looks_like_file = path.suffix.lower() in {".yaml", ".yml", ".json"} or path.exists() or "/" in str(source)
    if not looks_like_file:
        hint = _did_you_mean(str(source), presets)
        known = ", ".join(sorted(presets)) or "none"
        raise ConfigError(
            f"{source!r} is neither a preset of {cls.__name__} (presets: {known}){hint} nor a YAML file"
        )
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist (loading {cls.__name__})")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"config file {path} must hold a mapping of {cls.__name__} fields, got {type(data).__name__}"
        )
    return dict(data), str(path)


def _apply_overrides(cls: type, data: dict[str, Any], overrides: Mapping[str, Any] | Sequence[str]) -> dict:
    data = copy.deepcopy(data)
    if isinstance(overrides, Mapping):
        items = list(overrides.items())
    else:
        items = []
        for text in overrides:
            if "=" not in text:
                raise ConfigError(f"override {text!r} must look like key=value (e.g. train.lr=1e-4)")
            key, value = text.split("=", 1)
            items.append((key.strip(), yaml.safe_load(value)))
    for key, value in items:
        parts = str(key).split(".")
        node = data
        for part in parts[:-1]:
            child = node.get(part)
            if not isinstance(child, dict):
                child = {} if child is None or not isinstance(child, Mapping) else dict(child)
                node[part] = child
            node = child
        last = parts[-1]
        if isinstance(value, Mapping) and isinstance(node.get(last), Mapping):
            merged = dict(node[last])
            merged.update(value)
            node[last] = merged
        else:
            node[last] = value
    return data


def _did_you_mean(name: str, choices: Sequence[str] | Mapping[str, Any]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _build(cls: type, data: Mapping[str, Any], origin: str, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{origin}: {prefix.rstrip('.') or cls.__name__} must be a mapping of {cls.__name__} fields, "
            f"got {type(data).__name__} {data!r}"
        )
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = _field_types(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            valid = ", ".join(fields)
            raise ConfigError(
                f"{origin}: unknown key {prefix + str(key)!r} for {cls.__name__}{_did_you_mean(str(key), fields)}; "
                f"valid keys: {valid}"
            )
        kwargs[key] = _convert(hints.get(key, Any), value, origin, f"{prefix}{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{origin}: invalid {cls.__name__}: {err}") from err


def _field_types(cls: type) -> dict[str, Any]:
    """Resolved field annotations; unresolvable string annotations (local classes) are not checked."""
    try:
        return typing.get_type_hints(cls)
    except (NameError, TypeError):
        return {f.name: (f.type if not isinstance(f.type, str) else Any) for f in dataclasses.fields(cls)}


def _convert(tp: Any, value: Any, origin: str, key: str) -> Any:
    """Coerce plain YAML data to the annotated type; only lossless, unsurprising coercions."""
    if tp is Any or tp is object:
        return value
    origin_tp = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin_tp in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        # Try exact type matches first so `int | float` keeps ints as ints.
        ordered = sorted((a for a in args if a is not type(None)), key=lambda a: not _is_exact(a, value))
        for arg in ordered:
            try:
                return _convert(arg, value, origin, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(f"{origin}: {key}={value!r} does not match {_type_name(tp)}")
    if origin_tp is typing.Literal:
        if value not in args:
            raise ConfigError(
                f"{origin}: {key}={value!r} is not one of {', '.join(map(repr, args))}"
                f"{_did_you_mean(str(value), [str(a) for a in args])}"
            )
        return value
    if dataclasses.is_dataclass(tp):
        if isinstance(value, tp):
            return value
        return _build(tp, value, origin, prefix=f"{key}.")
    if origin_tp in (list, tuple, Sequence, set, frozenset) or tp in (list, tuple):
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
            raise ConfigError(f"{origin}: {key} must be a list, got {value!r}")
        if origin_tp is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            if len(args) != len(value):
                raise ConfigError(f"{origin}: {key} needs {len(args)} values, got {len(value)}: {value!r}")
            return tuple(_convert(a, v, origin, f"{key}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item_tp = args[0] if args else Any
        items = [_convert(item_tp, v, origin, f"{key}[{i}]") for i, v in enumerate(value)]
        if origin_tp in (tuple,) or tp is tuple:
            return tuple(items)
        if origin_tp in (set, frozenset):
            return origin_tp(items)
        return items
    if origin_tp in (dict, Mapping) or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{origin}: {key} must be a mapping, got {value!r}")
        vt = args[1] if len(args) == 2 else Any
        return {k: _convert(vt, v, origin, f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{origin}: {key} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{origin}: {key} must be an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)  # YAML 1.1 reads "1e-4" as a string
            except ValueError:
                pass
        raise ConfigError(f"{origin}: {key} must be a number, got {value!r}")
    if tp is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{origin}: {key} must be a string, got {value!r}")
    if tp is Path:
        if isinstance(value, (str, Path)):
            return Path(value)
        raise ConfigError(f"{origin}: {key} must be a path, got {value!r}")
    if isinstance(tp, type) and isinstance(value, tp):
        return value
    if isinstance(tp, type) and not isinstance(value, tp):
        raise ConfigError(f"{origin}: {key} must be {_type_name(tp)}, got {value!r}")
    return value


def _is_exact(tp: Any, value: Any) -> bool:
    if tp is float:
        return isinstance(value, float)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(tp, type) and isinstance(value, tp)


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
