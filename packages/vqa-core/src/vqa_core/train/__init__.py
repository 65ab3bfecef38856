"""vqa_core.train: the one training loop (DDP, accumulation, exact resume, validation selection).

Every method trains through `Trainer`, so DDP, accumulation, checkpoints and selection are
written (and fixed) once. A method supplies a `TrainTask`:

```python
class QualityTask(TrainTask):
    def build_model(self):
        return MyNet()
    def training_step(self, model, batch):
        loss = F.l1_loss(model(batch["frames"]), batch["target"])
        return loss, {"l1": loss.item()}
    def validation_step(self, model, batch):
        return {"pred": model(batch["frames"]), "target": batch["target"]}
    def validation_metrics(self, outputs):
        return quality_metrics(outputs["pred"], outputs["target"])

result = Trainer(QualityTask(), load_config(TrainConfig, "train.yaml"), work_dir).fit(train_ds, val_ds)
result.best_epoch, result.metrics, trainer.model  # model holds the selected (best-on-val) weights
```

The same script runs under `torchrun --nproc_per_node N`; `predict_dataset` runs a dataset
with the same sharding and gathering (call it on every rank), and `score_dataset` does the
same for a method's `score`: undecodable videos become error records, and every item gets its
decode and model seconds.

Layout: `trainer` (Trainer.fit: build the state, resume or start fresh), `state` (TrainState,
RunState, RunPlan), `loop` (the epoch loop), `callbacks` (TrainCallback, EarlyStopping,
History), `checkpointing` (LastCheckpoint, BestCheckpoint, restore), `precision` (fp32 / bf16 / fp16 autocast and
gradient scaling), `checkpoint` (atomic, weights_only file IO), `inference` (predict_dataset,
score_dataset).
"""

from vqa_core.train.callbacks import EarlyStopping, History, TrainCallback
from vqa_core.train.checkpoint import load_checkpoint, load_model_weights, save_checkpoint
from vqa_core.train.checkpointing import BestCheckpoint, LastCheckpoint
from vqa_core.train.distributed import (
    DistInfo,
    all_gather_objects,
    barrier,
    cleanup_distributed,
    dist_info,
    gather_indexed_outputs,
    init_distributed,
)
from vqa_core.train.inference import (
    DatasetScores,
    IndexedDataset,
    ItemFailure,
    JobsDataset,
    available_cpus,
    predict_dataset,
    score_dataset,
)
from vqa_core.train.precision import Precision, with_precision
from vqa_core.train.rng import capture_rng_state, derive_seed, restore_rng_state, seed_everything
from vqa_core.train.schedule import build_scheduler, lr_factor
from vqa_core.train.state import RunPlan, RunState, TrainState
from vqa_core.train.task import TrainTask, move_to_device, quality_validation_metrics
from vqa_core.train.train_config import TrainConfig
from vqa_core.train.trainer import FitResult, Trainer, build_optimizer

__all__ = [
    "BestCheckpoint",
    "DatasetScores",
    "DistInfo",
    "EarlyStopping",
    "FitResult",
    "History",
    "IndexedDataset",
    "ItemFailure",
    "JobsDataset",
    "LastCheckpoint",
    "Precision",
    "RunPlan",
    "RunState",
    "TrainCallback",
    "TrainConfig",
    "TrainState",
    "TrainTask",
    "Trainer",
    "all_gather_objects",
    "available_cpus",
    "barrier",
    "build_optimizer",
    "build_scheduler",
    "capture_rng_state",
    "cleanup_distributed",
    "derive_seed",
    "dist_info",
    "gather_indexed_outputs",
    "init_distributed",
    "load_checkpoint",
    "load_model_weights",
    "lr_factor",
    "move_to_device",
    "predict_dataset",
    "quality_validation_metrics",
    "restore_rng_state",
    "save_checkpoint",
    "score_dataset",
    "seed_everything",
    "with_precision",
]
