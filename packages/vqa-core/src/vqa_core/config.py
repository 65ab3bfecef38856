"""YAML-loadable dataclass configs: the one config dialect of every method, stage and runner.

A config is a plain (possibly nested) dataclass. Users write YAML; code gets a typed instance,
so a typo in a YAML key fails loudly at load time (naming the key, the file and the valid keys)
instead of silently training with a default (see `vqa_core.config_convert`).

Presets: a config class lists its named presets, as instances, in a class attribute
`PRESETS: ClassVar[dict[str, Cls]]` (`tiny` | `small` | `full` for a method). That is the only
place presets are looked up, so every class finds them the same way; a subclass has its own
(`StrConfig` does not inherit `DagrConfig`'s).

Sources accepted by `load_config(cls, source, overrides)`:
- `None`: the dataclass defaults;
- a preset name, looked up in `cls.PRESETS`;
- a path to a YAML file (str or Path);
- a mapping (e.g. a config stored in a checkpoint);
- an instance of `cls` (returned as a copy, with overrides applied).

Inheritance: a YAML file or mapping may say `preset: small` and list only what differs; a
nested section may do the same (`model: {preset: tiny, clip_len: 8}`), or name a preset of its
own class in one word (`loss: literature`). Sections: with `section=` (and the names a file
may be split into, `sections=`), a YAML file whose top-level keys are section names (one config
per method) yields the section called `section`; a file without sections is used whole.

`overrides` is a mapping (nested, or with dotted keys such as `{"train.lr": 1e-3}`) or a
sequence of `"key=value"` strings (values parsed as YAML, as a `--set` CLI flag would give).

`without_pretrained(cfg)` is the offline switch: every `pretrained` field off. `config_hash(cfg)`
is a stable digest of the class name and the field values, used to key cached pretraining
artifacts: equal configs give equal hashes across processes and machines.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import yaml

from vqa_core.atomic import atomic_write_text
from vqa_core.config_convert import config_from_dict, config_to_dict, did_you_mean, field_types, plain_data
from vqa_core.errors import ConfigError

__all__ = [
    "PRESET_KEY",
    "config_from_dict",
    "config_hash",
    "config_to_dict",
    "dump_config",
    "load_config",
    "preset_names",
    "presets_of",
    "without_pretrained",
]

T = TypeVar("T")

#: the key of a YAML mapping that names the preset it starts from
PRESET_KEY = "preset"


def presets_of(cls: type) -> dict[str, Any]:
    """The presets a config class declares in its own `PRESETS` class attribute (empty if none)."""
    presets = vars(cls).get("PRESETS")
    if presets is None and "presets" in vars(cls):
        # the retired second way: fail loudly rather than silently offering no presets
        raise ConfigError(
            f"{cls.__module__}.{cls.__qualname__} defines a presets() method; declare its presets as data "
            f"instead: `PRESETS: ClassVar[dict[str, {cls.__name__}]]`, assigned after the class"
        )
    return dict(presets) if isinstance(presets, Mapping) else {}


def preset_names(cls: type) -> list[str]:
    """Names of the presets a config class offers (empty if none)."""
    return sorted(presets_of(cls))


def load_config(
    cls: type[T],
    source: str | Path | Mapping[str, Any] | T | None = None,
    overrides: Mapping[str, Any] | Sequence[str] | None = None,
    *,
    section: str | None = None,
    sections: Collection[str] = (),
) -> T:
    """Build a `cls` instance from a preset name, a YAML path, a dict or an instance.

    `section`: the part of a sectioned YAML file (or mapping) to use, e.g. a method name;
    `sections`: every name such a file may hold (default: just `section`). A mapping is
    sectioned when all its top-level keys are section names and not all are fields of `cls`.
    """
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"load_config needs a dataclass type, got {cls!r}")
    origin, written = "defaults", False  # written: a YAML file or a mapping, which may have sections
    if source is None:
        data: dict[str, Any] = {}
    elif isinstance(source, cls):
        data = config_to_dict(source)
        origin = f"{cls.__name__} instance"
    elif isinstance(source, Mapping):
        data, origin, written = dict(source), "dict", True
    elif isinstance(source, (str, Path)):
        data, origin, written = _read_source(cls, source)
    else:
        raise ConfigError(
            f"cannot build {cls.__name__} from {type(source).__name__} {source!r}: pass a preset name, "
            "a YAML path, a dict or a config instance"
        )
    if section is not None and written:
        data, origin = _select_section(cls, data, origin, section, set(sections) or {section})
    data = _inherit(cls, data, origin)
    for key, value in _override_items(overrides):
        # each override lands on expanded data, and a preset it names (`loss=literature`) is
        # expanded before the next one (`loss.nss=0.5`) refines it
        data = _inherit(cls, _apply_override(data, key, value), origin)
    return config_from_dict(cls, data, origin=origin)


def without_pretrained(cfg: T, origin: str = "--no-pretrained") -> T:
    """`cfg` with every `pretrained` field switched off: the offline switch (`bench --no-pretrained`).

    Why one walk over the whole config: weights hide at different depths (DAGR's ImageNet trunk
    in `model`, QASA's CLIP in `clip` and its Kinetics trunk in `stvqrl.backbone`), and a machine
    without internet must reach every one of them. A bool becomes False; a weight tag (CLIP's
    "openai") becomes None. Returns `cfg` itself when nothing asked for weights.
    """
    data = config_to_dict(cfg)
    if not _drop_pretrained(data):
        return cfg
    return config_from_dict(type(cfg), data, origin=f"{type(cfg).__name__} with {origin}")


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
        payload = {"class": "dict", "config": plain_data(cfg)}
    else:
        payload = {"class": type(cfg).__qualname__, "config": config_to_dict(cfg)}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


# --------------------------------------------------------------------------- sources


def _read_source(cls: type, source: str | Path) -> tuple[dict[str, Any], str, bool]:
    """(data, origin, whether it came from a file) of a preset name or a YAML path."""
    presets = presets_of(cls)
    if isinstance(source, str) and source in presets:
        return _preset_data(cls, source, f"preset {source!r}", "preset"), f"preset {source!r}", False
    path = Path(source)
    looks_like_file = path.suffix.lower() in {".yaml", ".yml", ".json"} or path.exists() or "/" in str(source)
    if not looks_like_file:
        known = ", ".join(sorted(presets)) or "none"
        raise ConfigError(
            f"{source!r} is neither a preset of {cls.__name__} (presets: {known}){did_you_mean(str(source), presets)} "
            "nor a YAML file"
        )
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist (loading {cls.__name__})")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:  # also tags safe_load refuses (`!!python/object`)
        raise ConfigError(f"config file {path} is not valid YAML: {err}") from err
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"config file {path} must hold a mapping of {cls.__name__} fields, got {type(data).__name__}"
        )
    return dict(data), str(path), True


def _select_section(
    cls: type, data: dict[str, Any], origin: str, section: str, sections: set[str]
) -> tuple[dict[str, Any], str]:
    keys = {str(k) for k in data}
    if not keys or not keys <= sections or keys <= _field_names(cls):
        return data, origin  # not split into sections: the whole mapping is this config
    if section not in data:
        raise ConfigError(
            f"{origin} has sections for {', '.join(sorted(keys))} but none for {section!r}: "
            f"add a `{section}:` section, or give {section!r} its own config"
        )
    part = data[section] if data[section] is not None else {}
    where = f"{origin} (section {section!r})"
    if not isinstance(part, Mapping):
        raise ConfigError(f"{where} must be a mapping of {cls.__name__} fields, got {part!r}")
    return dict(part), where


# --------------------------------------------------------------------------- presets


def _preset_data(cls: type, name: Any, origin: str, key: str) -> dict[str, Any]:
    presets = presets_of(cls)
    if not isinstance(name, str) or name not in presets:
        if not presets:
            raise ConfigError(f"{origin}: {key}={name!r}, but {cls.__name__} has no presets")
        raise ConfigError(
            f"{origin}: {key}={name!r} is not a preset of {cls.__name__}{did_you_mean(str(name), presets)}; "
            f"presets: {', '.join(presets)}"
        )
    preset = presets[name]
    if dataclasses.is_dataclass(preset) and not isinstance(preset, type):
        return config_to_dict(preset)
    return copy.deepcopy(dict(preset))


def _inherit(cls: type, data: Mapping[str, Any], origin: str, prefix: str = "") -> dict[str, Any]:
    """Expand `preset: NAME` keys and one-word preset names of nested configs, at every level."""
    data = dict(data)
    if PRESET_KEY in data and PRESET_KEY not in _field_names(cls):
        base = _preset_data(cls, data.pop(PRESET_KEY), origin, prefix + PRESET_KEY)
        data = _merge(base, data)
    hints = field_types(cls)
    for key, value in list(data.items()):
        sub = _dataclass_type(hints.get(key))
        if sub is None:
            continue
        if isinstance(value, str) and presets_of(sub):
            data[key] = _preset_data(sub, value, origin, prefix + str(key))
        elif isinstance(value, Mapping):
            data[key] = _inherit(sub, value, origin, f"{prefix}{key}.")
    return data


def _merge(base: dict[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    """`update` over `base`, mappings merged key by key; a section that names its own preset
    (or is a one-word preset name) replaces the base's section instead of merging into it."""
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and PRESET_KEY not in value and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


def _field_names(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls) if f.init}


def _dataclass_type(tp: Any) -> type | None:
    """The config dataclass a field holds (`Cls` or `Cls | None`), else None."""
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return tp
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        found = [a for a in typing.get_args(tp) if dataclasses.is_dataclass(a) and isinstance(a, type)]
        return found[0] if len(found) == 1 else None
    return None


# --------------------------------------------------------------------------- overrides, offline switch


def _override_items(overrides: Mapping[str, Any] | Sequence[str] | None) -> list[tuple[str, Any]]:
    """(dotted key, value) pairs of a mapping or of `key=value` strings (values parsed as YAML)."""
    if not overrides:
        return []
    if isinstance(overrides, Mapping):
        return [(str(k), v) for k, v in overrides.items()]
    items = []
    for text in overrides:
        if "=" not in text:
            raise ConfigError(f"override {text!r} must look like key=value (e.g. train.lr=1e-4)")
        key, value = text.split("=", 1)
        items.append((key.strip(), yaml.safe_load(value)))
    return items


def _apply_override(data: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(data)
    parts = key.split(".")
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {} if child is None or not isinstance(child, Mapping) else dict(child)
            node[part] = child
        node = child
    last = parts[-1]
    if last == PRESET_KEY:  # `preset=tiny` / `model.preset=tiny`: that section starts over
        node.clear()
        node[last] = value
    elif isinstance(value, Mapping) and PRESET_KEY not in value and isinstance(node.get(last), Mapping):
        node[last] = {**node[last], **value}
    else:
        node[last] = value
    return data


def _drop_pretrained(data: dict[str, Any]) -> bool:
    """Set every `pretrained` entry of a nested config dict off; True if anything changed."""
    changed = False
    for key, value in data.items():
        if isinstance(value, dict):
            changed = _drop_pretrained(value) or changed
        elif key == "pretrained" and value not in (False, None):
            data[key] = False if isinstance(value, bool) else None
            changed = True
    return changed
