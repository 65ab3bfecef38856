"""The Method contract every NR-VQA method implements, its score calibration, checkpoints and registry.

- `base`: `Method` (the whole contract: fit, score/predict, state, save/load, and the cost,
  caveat and pretraining hooks the bench and `vqa score` call) and `ScoreReport`;
- `calibration`: `ScoreCalibration`, raw model output -> the training data's MOS scale;
- `checkpoint`: self-describing `.pt` / `.safetensors` method checkpoints;
- `registry`: methods found through the entry-point group `vqa_zoo.methods` (a third-party
  package can add one without touching this repo) plus `register_method`;
- `weight_init`: `skipped_weight_init`, building networks whose weights a checkpoint then sets;
- pretraining stages live in `vqa_core.stages` (`PretrainStage` is re-exported here).
"""

from vqa_core.method.base import Method, ScoreReport, as_manifest_items
from vqa_core.method.calibration import ScoreCalibration
from vqa_core.method.checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, read_method_checkpoint
from vqa_core.method.registry import (
    METHOD_GROUP,
    METHODS,
    MethodRegistry,
    get_method,
    list_methods,
    register_method,
)
from vqa_core.method.weight_init import skipped_weight_init
from vqa_core.stages import PretrainStage, StageResult, ensure_stage

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "METHODS",
    "METHOD_GROUP",
    "Method",
    "MethodRegistry",
    "PretrainStage",
    "ScoreCalibration",
    "ScoreReport",
    "StageResult",
    "as_manifest_items",
    "ensure_stage",
    "get_method",
    "list_methods",
    "read_method_checkpoint",
    "register_method",
    "skipped_weight_init",
]
