"""Fixtures of the whole test suite."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqa_core.datasets import ManifestItem
from vqa_core.testing import make_video


@pytest.fixture(scope="session", autouse=True)
def private_cache_root(tmp_path_factory: pytest.TempPathFactory):
    """Point the vqa-zoo cache root at a folder of this test session: tests never read stages,
    maps or features another run left in the user's cache, and never write there. Subprocesses
    (torchrun tests) inherit it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VQA_ZOO_CACHE", str(tmp_path_factory.mktemp("vqa-zoo-cache")))
        yield


@pytest.fixture
def native_size_items(tmp_path: Path) -> list[ManifestItem]:
    """Seven short training videos of two frame sizes (48x64 and 40x72, alternating), increasingly
    compressed so that MOS falls with the CRF: what native-size reading (`data.height/width=null`)
    must batch, crop and score. Written under `tmp_path / "videos"`."""
    items = []
    for i in range(7):
        h, w = (48, 64) if i % 2 else (40, 72)
        crf = 10 + 7 * i
        path = make_video(
            tmp_path / "videos" / f"v{i}.mp4",
            num_frames=10,
            height=h,
            width=w,
            seed=i,
            options={"crf": str(crf)},
        )
        items.append(ManifestItem(video_id=f"v{i}", path=path, mos=float(100 - crf), split="train"))
    return items
