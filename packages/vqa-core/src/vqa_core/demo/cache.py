"""Where the embedded demo data lives: an explicit folder, else $VQA_ZOO_CACHE, else ~/.cache/vqa-zoo."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_ENV", "cache_root"]

CACHE_ENV = "VQA_ZOO_CACHE"


def cache_root(root: str | Path | None = None) -> Path:
    """The folder that holds `demo/` and `demo-saliency/` (not created here)."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    return Path.home() / ".cache" / "vqa-zoo"
