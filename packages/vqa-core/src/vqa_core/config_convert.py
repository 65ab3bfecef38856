"""Strict conversion between plain data (YAML, JSON, dicts) and config dataclasses.

Why strict: a config is read from files people type by hand, so a misspelt key or a value of the
wrong type must fail at load time, naming the key, where it came from (`origin`: a file, a preset,
a section) and the valid keys, instead of silently training with a default. Only lossless,
unsurprising coercions are made (a YAML list to a tuple, an int to a float, "1e-4" to a float).

`vqa_core.config` builds on this (presets, YAML files, overrides); other readers of typed YAML
(the dataset descriptors) use `config_from_dict` directly.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from vqa_core.errors import ConfigError

__all__ = ["config_from_dict", "config_to_dict", "did_you_mean", "field_types", "plain_data"]

T = TypeVar("T")


def config_from_dict(cls: type[T], data: Mapping[str, Any], origin: str = "dict") -> T:
    """Strictly convert a (nested) mapping to `cls`; unknown keys and bad types raise ConfigError."""
    return _build(cls, data, origin, prefix="")


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """Plain-data view of a config (tuples -> lists, paths -> str): YAML, JSON and weights_only safe."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"config_to_dict needs a dataclass instance, got {cfg!r}")
    return {f.name: plain_data(getattr(cfg, f.name)) for f in dataclasses.fields(cfg)}


def did_you_mean(name: str, choices: Sequence[str] | Mapping[str, Any]) -> str:
    """` (did you mean 'x'?)` for the nearest of `choices`, or "": a typo's fix in its error message."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _build(cls: type, data: Mapping[str, Any], origin: str, prefix: str) -> Any:
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"{origin}: {prefix.rstrip('.') or cls.__name__} must be a mapping of {cls.__name__} fields, "
            f"got {type(data).__name__} {data!r}"
        )
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    hints = field_types(cls)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            valid = ", ".join(fields)
            raise ConfigError(
                f"{origin}: unknown key {prefix + str(key)!r} for {cls.__name__}{did_you_mean(str(key), fields)}; "
                f"valid keys: {valid}"
            )
        kwargs[key] = _convert(hints.get(key, Any), value, origin, f"{prefix}{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{origin}: invalid {cls.__name__}: {err}") from err


def field_types(cls: type) -> dict[str, Any]:
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
                f"{did_you_mean(str(value), [str(a) for a in args])}"
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


def plain_data(value: Any) -> Any:
    """`value` as YAML/JSON-safe plain data: dataclasses expanded, paths as str, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return config_to_dict(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain_data(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain_data(v) for k, v in value.items()}
    return value
