"""Where dataset descriptors are found: the ones shipped inside vqa-core, and the user's own.

The descriptors of the datasets vqa-zoo knows (LSVQ, KoNViD-1k, ..., the embedded demos) are
package data, `vqa_core/datasets/descriptors/*.yaml`, read through `importlib.resources`, so an
installed wheel finds them wherever it lives (no walk up from `__file__` to a checkout).
Users add or replace a descriptor without touching the package; folders are searched in order:

1. the `search_path` folders a caller passes;
2. the folders in `$VQA_ZOO_DATA_MANIFESTS` (os.pathsep-separated);
3. `./data_manifests` in the working directory;
4. the shipped descriptors.

The first `<name>.yaml` found wins, so a user's file shadows a shipped one of the same name.
A path to a YAML file works as a name too.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Sequence
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from vqa_core.datasets.descriptor_schema import DatasetDescriptor
from vqa_core.datasets.descriptor_yaml import load_descriptor_file
from vqa_core.errors import DatasetError

__all__ = ["ENV_MANIFEST_DIRS", "descriptor_dirs", "list_datasets", "load_descriptor", "shipped_descriptors"]

ENV_MANIFEST_DIRS = "VQA_ZOO_DATA_MANIFESTS"
SUFFIX = ".yaml"


def shipped_descriptors() -> Traversable:
    """The folder of descriptors that ships inside vqa-core (package data)."""
    return files("vqa_core.datasets").joinpath("descriptors")


def descriptor_dirs(extra: Sequence[str | Path] = ()) -> list[Path | Traversable]:
    """Folders searched for `<name>.yaml`, in order (see the module docstring)."""
    dirs: list[Path] = [Path(p) for p in extra]
    env = os.environ.get(ENV_MANIFEST_DIRS, "")
    dirs += [Path(p) for p in env.split(os.pathsep) if p]
    dirs.append(Path.cwd() / "data_manifests")
    unique: list[Path | Traversable] = []
    seen: set[Path] = set()
    for d in dirs:
        if d.resolve() not in seen:
            seen.add(d.resolve())
            unique.append(d)
    unique.append(shipped_descriptors())
    return unique


def list_datasets(search_path: Sequence[str | Path] = ()) -> list[str]:
    """Names of every descriptor found on the search path."""
    names = set()
    for d in descriptor_dirs(search_path):
        if d.is_dir():
            names.update(p.name[: -len(SUFFIX)] for p in d.iterdir() if p.name.endswith(SUFFIX) and p.is_file())
    return sorted(names)


def load_descriptor(name: str | Path, search_path: Sequence[str | Path] = ()) -> DatasetDescriptor:
    """The descriptor called `name` (or the YAML file at that path).

    An unknown name is a DatasetError that lists the known names and the folders searched.
    """
    as_path = Path(name)
    if as_path.suffix in (".yaml", ".yml") and as_path.is_file():
        return load_descriptor_file(as_path)
    dirs = descriptor_dirs(search_path)
    for d in dirs:
        candidate = d.joinpath(f"{name}{SUFFIX}")
        if candidate.is_file():
            return load_descriptor_file(candidate)
    known = list_datasets(search_path)
    close = difflib.get_close_matches(str(name), known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DatasetError(
        f"unknown dataset {str(name)!r}.{hint} Known datasets: {', '.join(known) or '(none)'}. "
        f"Searched {', '.join(str(d) for d in dirs)}; add a descriptor YAML to one of the first "
        f"folders (./data_manifests, or one listed in ${ENV_MANIFEST_DIRS}), or pass the path of a "
        "descriptor YAML."
    )
