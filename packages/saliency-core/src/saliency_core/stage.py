"""The `saliency` pretraining stage, defined once: the UNet3D the saliency-guided VQA methods use.

STR/DAGR-VQA and SC-VQA both ask for this stage; its key is the stage name, the config hash of
`SaliencyStageConfig` (the saliency-core training config, the dataset it trains on and that
dataset's folder) and `SALIENCY_STAGE_VERSION`, so every method with the same stage settings
shares one artifact, built through `vqa_core.stages.ensure_stage` by the bench runner or by a
plain `fit`. The config's class name and fields enter the key: renaming them moves every cached
stage, so do not.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vqa_core.stages import PretrainStage

__all__ = ["SALIENCY_STAGE", "SALIENCY_STAGE_VERSION", "SaliencyStageConfig", "saliency_stage"]

SALIENCY_STAGE = "saliency"
#: Version of `train_saliency`'s output for a given config: bump it when the trainer, the
#: model or the data pipeline changes what a stage build writes.
SALIENCY_STAGE_VERSION = 1


@dataclass(frozen=True)
class SaliencyStageConfig:
    """What the `saliency` pretraining stage trains: its config hash keys the cached artifact."""

    saliency: Any  # saliency_core.SaliencyConfig
    dataset: str
    data_root: str | None = None


def saliency_stage(preset: Any, dataset: str, data_root: str | None = None) -> PretrainStage:
    """The `saliency` stage: `preset` (a saliency-core preset name, YAML path or config) trained
    on `dataset` (e.g. "demo-saliency", in `data_root` or the cache root), on the device its
    trainer config names."""
    from saliency_core.config import SaliencyConfig
    from vqa_core.config import load_config
    from vqa_core.stages import PretrainStage

    stage = SaliencyStageConfig(saliency=load_config(SaliencyConfig, preset), dataset=dataset, data_root=data_root)

    def build(folder: Path) -> None:
        from saliency_core.train import train_saliency

        train_saliency(stage.saliency, dataset=stage.dataset, data_root=stage.data_root, out_dir=folder)

    return PretrainStage(SALIENCY_STAGE, stage, build, version=SALIENCY_STAGE_VERSION)
