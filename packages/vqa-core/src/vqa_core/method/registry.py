"""The method registry: entry points of `vqa_zoo.methods` plus programmatic registrations.

Methods are found through the entry-point group (a third-party package can add one without
touching this repo); `register_method` serves tests and notebooks.
"""

from __future__ import annotations

import difflib
from importlib.metadata import entry_points
from typing import Any

from vqa_core.errors import ConfigError, UnknownMethodError
from vqa_core.method.base import Method

__all__ = ["METHODS", "METHOD_GROUP", "MethodRegistry", "get_method", "list_methods", "register_method"]

METHOD_GROUP = "vqa_zoo.methods"


class MethodRegistry:
    """Name -> Method class: entry points of `vqa_zoo.methods` plus programmatic registrations.

    Entry points are read on every lookup (cheap) so packages installed after import are seen;
    a name registered programmatically wins over an entry point of the same name.
    """

    def __init__(self, group: str = METHOD_GROUP) -> None:
        self.group = group
        self._registered: dict[str, type[Method]] = {}

    def register(self, name: str, cls: type[Method]) -> type[Method]:
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise TypeError(f"register_method({name!r}, ...) needs a Method subclass, got {cls!r}")
        if getattr(cls, "name", "") in ("", None):
            cls.name = name
        elif cls.name != name:
            raise ConfigError(f"{cls.__name__}.name is {cls.name!r} but it is being registered as {name!r}")
        self._registered[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)

    def names(self) -> list[str]:
        return sorted({*self._registered, *(ep.name for ep in entry_points(group=self.group))})

    def get(self, name: str) -> type[Method]:
        if name in self._registered:
            return self._registered[name]
        matches = [ep for ep in entry_points(group=self.group) if ep.name == name]
        if not matches:
            known = self.names()
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownMethodError(
                f"unknown method {name!r}{hint} Known methods: {', '.join(known) or 'none installed'} "
                f"(methods register through the entry-point group {self.group!r})"
            )
        try:
            cls = matches[0].load()
        except Exception as err:
            raise UnknownMethodError(
                f"method {name!r} is registered ({matches[0].value}) but failed to import: {err}"
            ) from err
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise UnknownMethodError(f"entry point {name!r} = {matches[0].value} is not a vqa_core Method subclass")
        if not cls.name:
            cls.name = name
        return cls


METHODS = MethodRegistry()


def register_method(name: str, cls: type[Method] | None = None) -> Any:
    """Register a Method class under `name` (also usable as `@register_method("name")`)."""
    if cls is None:
        return lambda c: METHODS.register(name, c)
    return METHODS.register(name, cls)


def get_method(name: str) -> type[Method]:
    """The Method class registered as `name`; UnknownMethodError with did-you-mean otherwise."""
    return METHODS.get(name)


def list_methods() -> list[str]:
    """Names of every registered method (entry points and programmatic)."""
    return METHODS.names()
