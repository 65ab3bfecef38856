"""Evaluation metrics: quality-prediction correlations (with the logistic fit) and saliency metrics."""

from vqa_core.metrics.quality import MetricInputError, aggregate, fit_logistic4, logistic4, quality_metrics
from vqa_core.metrics.saliency import KLD_EPS, saliency_metrics, saliency_metrics_per_frame

__all__ = [
    "KLD_EPS",
    "MetricInputError",
    "aggregate",
    "fit_logistic4",
    "logistic4",
    "quality_metrics",
    "saliency_metrics",
    "saliency_metrics_per_frame",
]
