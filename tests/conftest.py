"""Fixtures of the whole test suite."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def private_cache_root(tmp_path_factory: pytest.TempPathFactory):
    """Point the vqa-zoo cache root at a folder of this test session: tests never read stages,
    maps or features another run left in the user's cache, and never write there. Subprocesses
    (torchrun tests) inherit it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VQA_ZOO_CACHE", str(tmp_path_factory.mktemp("vqa-zoo-cache")))
        yield
