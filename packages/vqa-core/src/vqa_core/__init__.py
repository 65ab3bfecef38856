"""vqa_core: the foundation every vqa-zoo method stands on."""

from vqa_core.errors import (
    ConfigError,
    DatasetError,
    UnknownMethodError,
    VideoDecodeError,
    VqaError,
    WeightsUnavailableError,
)

__all__ = [
    "ConfigError",
    "DatasetError",
    "UnknownMethodError",
    "VideoDecodeError",
    "VqaError",
    "WeightsUnavailableError",
]
