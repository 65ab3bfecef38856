"""vqa_core: the foundation every vqa-zoo method stands on.

The most used pieces are reachable from the top level (`vqa_core.read_clip`,
`vqa_core.quality_metrics`, `vqa_core.get_method`, ...). They load lazily, so
`import vqa_core` stays cheap (no torch import) for code that only needs the errors, such
as DataLoader workers and the `vqa` command's start-up.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from vqa_core.errors import (
    ConfigError,
    DatasetError,
    UnknownMethodError,
    VideoDecodeError,
    VqaError,
    WeightsUnavailableError,
)

_LAZY = {
    # video IO
    "VideoInfo": "vqa_core.video",
    "probe": "vqa_core.video",
    "read_clip": "vqa_core.video",
    "RawFormat": "vqa_core.video",
    # sampling
    "uniform_indices": "vqa_core.sampling",
    "SampleFrames": "vqa_core.sampling",
    "FragmentSampleFrames": "vqa_core.sampling",
    "spatial_fragments": "vqa_core.sampling",
    # datasets and splits
    "ManifestItem": "vqa_core.datasets",
    "build_manifest": "vqa_core.datasets",
    "make_splits": "vqa_core.datasets",
    "MosScaler": "vqa_core.datasets",
    "VideoDataset": "vqa_core.datasets",
    # demo data
    "ensure_demo": "vqa_core.demo",
    "ensure_demo_saliency": "vqa_core.demo",
    # metrics
    "quality_metrics": "vqa_core.metrics",
    "aggregate": "vqa_core.metrics",
    "saliency_metrics": "vqa_core.metrics",
    # configs, devices, methods, training
    "load_config": "vqa_core.config",
    "dump_config": "vqa_core.config",
    "config_hash": "vqa_core.config",
    "preset_names": "vqa_core.config",
    "without_pretrained": "vqa_core.config",
    "check_native_size": "vqa_core.native_size",
    "check_native_batch": "vqa_core.native_size",
    "resolve_device": "vqa_core.device",
    "Method": "vqa_core.method",
    "ScoreCalibration": "vqa_core.method",
    "PretrainStage": "vqa_core.method",
    "ScoreReport": "vqa_core.method",
    "ensure_stage": "vqa_core.stages",
    "cache_root": "vqa_core.cache",
    "cache_dir": "vqa_core.cache",
    "get_method": "vqa_core.method",
    "list_methods": "vqa_core.method",
    "register_method": "vqa_core.method",
    "Trainer": "vqa_core.train",
    "TrainConfig": "vqa_core.train",
    "TrainTask": "vqa_core.train",
    "predict_dataset": "vqa_core.train",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'vqa_core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "ConfigError",
    "DatasetError",
    "UnknownMethodError",
    "VideoDecodeError",
    "VqaError",
    "WeightsUnavailableError",
    *_LAZY,
]
