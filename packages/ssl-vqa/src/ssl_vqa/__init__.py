"""ssl_vqa: SSL-VQA and QASA-VQA, dual-model semi-supervised NR-VQA on ST-VQRL trunks.

    method = SslMethod("small")                     # or QasaMethod; presets tiny | small | full, or a YAML
    method.config.semi.labelled = 0.25              # 25% of the training split labelled, the rest unlabelled
    method.fit(train_items, val_items, "runs/ssl")  # ST-VQRL stage (cached), paired loader, vqa-core Trainer
    scores = method.predict(["a.mp4", "b.mp4"])     # MOS scale of the labelled training videos
    method.save("ssl.pt"); SslMethod.load("ssl.pt")

    released = SslMethod.from_release("sslvqa_30.pth", config)   # the authors' {primary, auxillary}
    released.fit_references(pristine_videos)                     # SSL-VQA's NIQE-like auxiliary needs references

Primary = st-vqrl's Swin3D + VQAHead. Auxiliary = a second Swin3D scoring the NIQE-like distance
of its tokens to pristine tokens (SSL-VQA) or CLIP's image tower scoring antonym prompt pairs
(QASA-VQA). Labelled batches: PLCC to the labels + two-view consistency; unlabelled batches:
consistency + confidence-based knowledge transfer (`ssl_vqa.dual_loss`).
"""

from ssl_vqa.clip_quality import ClipQualityScorer, build_clip_model, openai_to_open_clip
from ssl_vqa.config import (
    PRESETS,
    QASA_PRESETS,
    ClipAuxConfig,
    CombineConfig,
    NiqeConfig,
    OptimConfig,
    QasaConfig,
    SamplingConfig,
    SemiConfig,
    SslConfig,
)
from ssl_vqa.dual_loss import DualScores, dual_model_loss
from ssl_vqa.method import QasaMethod, SslMethod
from ssl_vqa.model import DualModel, NiqeAuxiliary, PrimaryModel, build_dual_model
from ssl_vqa.partition import Partition, labelled_count, partition_items
from ssl_vqa.released import load_released_dual

__all__ = [
    "PRESETS",
    "QASA_PRESETS",
    "ClipAuxConfig",
    "ClipQualityScorer",
    "CombineConfig",
    "DualModel",
    "DualScores",
    "NiqeAuxiliary",
    "NiqeConfig",
    "OptimConfig",
    "Partition",
    "PrimaryModel",
    "QasaConfig",
    "QasaMethod",
    "SamplingConfig",
    "SemiConfig",
    "SslConfig",
    "SslMethod",
    "build_clip_model",
    "build_dual_model",
    "dual_model_loss",
    "labelled_count",
    "load_released_dual",
    "openai_to_open_clip",
    "partition_items",
]
