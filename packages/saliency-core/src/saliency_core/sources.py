"""Which saliency clips to train and validate on: DHF1K, DIEM, demo-saliency or a manifest CSV.

Datasets come through `vqa_core.datasets` descriptors (official splits); the embedded
`demo-saliency` is built on first use by `vqa_core.demo`. Validation is always on held-out
videos: the official `val` part when there is one, else a seeded share of the training videos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vqa_core.datasets import Manifest, ManifestItem, build_manifest
from vqa_core.errors import DatasetError

DEMO = "demo-saliency"


@dataclass
class SaliencySplits:
    """Train / validation / test clips of one saliency dataset."""

    name: str
    train: list[ManifestItem]
    val: list[ManifestItem]
    test: list[ManifestItem]


def demo_saliency_root(data_root: str | Path | None = None) -> Path:
    """The `demo-saliency` folder, built by `vqa_core.demo` when missing."""
    try:
        from vqa_core.demo import ensure_demo_saliency
    except ImportError as err:  # the builder is part of vqa-core; say so instead of a bare ImportError
        raise DatasetError(
            "this vqa-core has no demo-saliency builder (vqa_core.demo.ensure_demo_saliency); "
            "pass a dataset with --data dhf1k|diem|<manifest.csv> and --data-root"
        ) from err
    return Path(ensure_demo_saliency(data_root))


def load_manifest(data: str | Path | Manifest, data_root: str | Path | None = None) -> Manifest:
    """A saliency manifest from a dataset name, a manifest CSV path or a Manifest."""
    if isinstance(data, Manifest):
        return data
    text = str(data)
    if text == DEMO:
        built = data_root is not None and any(
            (Path(data_root) / sub / "manifest.csv").is_file() for sub in (DEMO, ".")
        )
        return build_manifest(DEMO, data_root if built else demo_saliency_root(data_root))
    if text.endswith(".csv"):
        path = Path(text)
        if not path.is_file():
            raise DatasetError(f"{path}: manifest CSV not found")
        return Manifest.from_csv(path, kind="saliency")
    if data_root is None:
        raise DatasetError(f"dataset {text!r} needs --data-root (the folder holding its official files)")
    return build_manifest(text, data_root)


def make_saliency_splits(manifest: Manifest, val_fraction: float = 0.1, seed: int = 0) -> SaliencySplits:
    """Official parts when present; otherwise a seeded `val_fraction` of training videos is held out."""
    items = list(manifest.items)
    if not items:
        raise DatasetError(f"saliency dataset {manifest.name!r} has no clips")
    train = [i for i in items if i.split in ("train", "")]
    val = [i for i in items if i.split == "val"]
    test = [i for i in items if i.split == "test"]
    if not val:
        if len(train) < 2:
            raise DatasetError(
                f"saliency dataset {manifest.name!r}: {len(train)} training clip(s) and no val part; "
                "need at least 2 clips to hold one out for validation"
            )
        order = np.random.default_rng(seed).permutation(len(train))
        n_val = min(max(1, round(val_fraction * len(train))), len(train) - 1)
        held = set(order[:n_val].tolist())
        val = [item for k, item in enumerate(train) if k in held]
        train = [item for k, item in enumerate(train) if k not in held]
    if not train:
        raise DatasetError(f"saliency dataset {manifest.name!r} has no training clips")
    return SaliencySplits(manifest.name, train, val, test)
