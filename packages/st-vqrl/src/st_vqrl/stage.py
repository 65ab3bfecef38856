"""The ST-VQRL pretraining stage, defined once: the self-supervised Swin3D trunk and its projection.

`stvqrl` evaluates this artifact and SSL-VQA / QASA-VQA start their trunks from it, so both ask
for `stvqrl_stage(cfg)`: one name, and a key on exactly what the artifact depends on (backbone,
clip sampling, pretraining settings and seed; not the evaluation settings, not a release to load,
not whether a progress bar was shown). `bench --method stvqrl,ssl` therefore builds it once.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from st_vqrl.config import EvalConfig, StVqrlConfig
from vqa_core.config import config_to_dict
from vqa_core.stages import PretrainStage

__all__ = ["STVQRL_STAGE", "STVQRL_STAGE_VERSION", "stage_config", "stvqrl_stage"]

STVQRL_STAGE = "stvqrl"
#: Version of `pretrain_stvqrl`'s output for a given config: bump it when the objective, the
#: data pipeline or the artifact format changes what a stage build writes.
STVQRL_STAGE_VERSION = 2  # 2: clips from disjoint halves


def stage_config(cfg: StVqrlConfig) -> dict[str, Any]:
    """What the pretraining artifact depends on: backbone, clip, pretrain (minus the progress
    switch) and seed."""
    data = config_to_dict(cfg)
    out = {key: data[key] for key in ("backbone", "clip", "pretrain", "seed")}
    out["pretrain"]["trainer"].pop("progress", None)
    return out


def stvqrl_stage(cfg: StVqrlConfig, device: Any = None) -> PretrainStage:
    """The ST-VQRL stage of `cfg`, trained on `device` (not part of the key). The build runs
    `pretrain_stvqrl` on the config reduced to what the key holds, so the artifact is the same
    whichever method asked for it."""
    from st_vqrl.pretrain import check_pretrain_source

    check_pretrain_source(cfg)
    canonical = replace(cfg, eval=EvalConfig(), init_from=None)

    def build(folder: Path) -> None:
        from st_vqrl.pretrain import pretrain_stvqrl

        pretrain_stvqrl(canonical, folder, device=device)

    return PretrainStage(STVQRL_STAGE, stage_config(cfg), build, version=STVQRL_STAGE_VERSION)
