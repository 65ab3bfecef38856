"""Lazy package exports (PEP 562): a package's public names load on first use.

Importing a vqa-zoo package must stay cheap, because the `vqa` command imports every command
plugin's package just to build its parser, and a package `__init__` that eagerly imports its
models pulls in torch (seconds) before `--help` can print. A package lists its names instead:

```python
from vqa_core.lazy import lazy_exports

_LAZY = {"SaliencyUNet3D": "saliency_core.model", "train_saliency": "saliency_core.train"}
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())
```

`from pkg import Name` and `pkg.Name` then import the defining module on first use, and
`pkg.submodule` keeps working as it did when the `__init__` imported its submodules.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, names: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level `__getattr__` and `__dir__` for `package`, resolving `names` (name -> module)."""

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            try:  # a submodule, as `import pkg; pkg.sub` worked when __init__ imported it
                return import_module(f"{package}.{name}")
            except ModuleNotFoundError as err:
                if err.name != f"{package}.{name}":
                    raise
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        namespace[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *names])

    return __getattr__, __dir__
