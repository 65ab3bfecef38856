"""Where the embedded demo data lives: the project's one cache root (see `vqa_core.cache`)."""

from __future__ import annotations

from vqa_core.cache import CACHE_ENV, cache_root

__all__ = ["CACHE_ENV", "cache_root"]
