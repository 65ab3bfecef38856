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

from __future__ import annotations

from vqa_core.lazy import lazy_exports

# Names load on first use, so that `vqa --help` and the command plugins do not import torch.
_LAZY = {
    "ClipQualityScorer": "ssl_vqa.clip_quality",
    "build_clip_model": "ssl_vqa.clip_quality",
    "openai_to_open_clip": "ssl_vqa.clip_quality",
    "ClipAuxConfig": "ssl_vqa.config",
    "CombineConfig": "ssl_vqa.config",
    "NiqeConfig": "ssl_vqa.config",
    "OptimConfig": "ssl_vqa.config",
    "QasaConfig": "ssl_vqa.config",
    "SamplingConfig": "ssl_vqa.config",
    "SemiConfig": "ssl_vqa.config",
    "SslConfig": "ssl_vqa.config",
    "DualScores": "ssl_vqa.dual_loss",
    "dual_model_loss": "ssl_vqa.dual_loss",
    "QasaMethod": "ssl_vqa.method",
    "SslMethod": "ssl_vqa.method",
    "DualModel": "ssl_vqa.model",
    "ScoringPass": "ssl_vqa.model",
    "NiqeAuxiliary": "ssl_vqa.model",
    "PrimaryModel": "ssl_vqa.model",
    "build_dual_model": "ssl_vqa.model",
    "Partition": "ssl_vqa.partition",
    "labelled_count": "ssl_vqa.partition",
    "partition_items": "ssl_vqa.partition",
    "load_released_dual": "ssl_vqa.released",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = sorted(_LAZY)
