"""The one cache root of vqa-zoo: where demo data, saliency maps, features and stages live.

Every on-disk cache of the project sits under one folder, so the demo data, the methods' map
and feature caches and the pretraining stages never land in different places (three copies of
this lookup used to disagree about `XDG_CACHE_HOME`). Precedence: an explicit folder, else
`$VQA_ZOO_CACHE`, else `$XDG_CACHE_HOME/vqa-zoo`, else `~/.cache/vqa-zoo`.

Each cache under the root keys its entries by everything that changes their content, including
an integer version of the code that produces them (`*_VERSION` next to each producer), so that
a changed producer is never served results written by an older one.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_dir", "cache_root"]

CACHE_ENV = "VQA_ZOO_CACHE"


def cache_root(root: str | Path | None = None) -> Path:
    """The cache root: `root` if given, else `$VQA_ZOO_CACHE`, `$XDG_CACHE_HOME/vqa-zoo`,
    `~/.cache/vqa-zoo` (not created here: a read-only lookup must not make folders)."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "vqa-zoo"


def cache_dir(name: str, root: str | Path | None = None) -> Path:
    """The named cache `name` (e.g. "stages", "dagr-vqa") under `cache_root(root)`."""
    if not name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise ValueError(f"cache name {name!r} must be a relative folder name inside the cache root")
    return cache_root(root) / name
