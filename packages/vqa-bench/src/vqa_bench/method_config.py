"""How `--config`, `--set` and `--no-pretrained` become each method's config.

One place for the bench's part of config resolution; the dialect itself (presets, YAML files,
`preset:` inheritance, per-method sections) is `vqa_core.config.load_config`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from vqa_core.errors import ConfigError


def resolve_method_config(
    method_cls: type,
    spec: str,
    method_name: str,
    overrides: Sequence[str] = (),
    no_pretrained: bool = False,
) -> Any:
    """A preset name or a YAML file, then `key=value` overrides (`--set`); a YAML whose
    top-level keys are method names holds one config per method (so `--method all --config
    mine.yaml` can configure each). An override `METHOD:key=value` applies to that method only,
    so one `--method all` run can switch off e.g. dagr's saliency. `no_pretrained` turns every
    `pretrained` field (ImageNet, Kinetics, CLIP weights) off: the offline switch."""
    from vqa_core.config import load_config, without_pretrained
    from vqa_core.method import list_methods

    known = set(list_methods())
    mine = method_overrides(overrides, method_name, known)
    config = load_config(method_cls.config_class, spec, mine or None, section=method_name, sections=known)
    return without_pretrained(config, origin=f"{spec} with --no-pretrained") if no_pretrained else config


def method_overrides(overrides: Sequence[str], method_name: str, methods: set[str]) -> list[str]:
    """The `--set` overrides that apply to `method_name`: unscoped ones and `method_name:key=value`."""
    out = []
    for item in overrides:
        head, sep, rest = item.partition(":")
        if sep and "=" not in head and head in methods:
            if head == method_name:
                out.append(rest)
        elif sep and "=" not in head and "." not in head:
            raise ConfigError(
                f"--set {item!r}: {head!r} is not a registered method (known: {', '.join(sorted(methods))})"
            )
        else:
            out.append(item)
    return out
