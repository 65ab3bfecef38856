"""MOS normalisation fitted on the training part only.

The seeds min-max-scaled MOS over the whole label file, test items included (seed audit
§1.4, §6 item 13), which leaks test statistics into training. `MosScaler.fit(train_items)`
takes its statistics from what it is given, so passing the train part is the whole
contract; the scaler is a small frozen record that a checkpoint stores next to its weights
(`to_dict` / `from_dict`) so predictions map back to the dataset's scale with `inverse`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import numpy as np

from vqa_core.datasets.manifest import ManifestItem
from vqa_core.errors import DatasetError

T = TypeVar("T")
MODES = ("zscore", "minmax", "none")


@dataclass(frozen=True)
class MosScaler:
    """`zscore`: (mos - mean) / std; `minmax`: (mos - min) / (max - min) into [0, 1];
    `none`: identity. All statistics are kept whatever the mode, for reporting."""

    mean: float
    std: float
    min: float
    max: float
    mode: str = "zscore"
    count: int = 0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise DatasetError(f"MosScaler mode must be one of {MODES}, not {self.mode!r}")

    @classmethod
    def fit(cls, items: Iterable[ManifestItem | float], mode: str = "zscore") -> MosScaler:
        """Statistics of the given MOS values (pass the training part only)."""
        values = np.array(
            [item.mos if isinstance(item, ManifestItem) else float(item) for item in items], dtype=np.float64
        )
        if values.size == 0:
            raise DatasetError("cannot fit a MosScaler on zero items")
        if np.isnan(values).any():
            raise DatasetError(
                f"cannot fit a MosScaler: {int(np.isnan(values).sum())} of {values.size} items have no MOS "
                "(saliency clips?)"
            )
        std = float(values.std(ddof=0))
        lo, hi = float(values.min()), float(values.max())
        if mode == "zscore" and (std == 0 or not math.isfinite(std)):
            raise DatasetError(f"cannot z-score MOS: all {values.size} training MOS values equal {lo}")
        if mode == "minmax" and hi == lo:
            raise DatasetError(f"cannot min-max scale MOS: all {values.size} training MOS values equal {lo}")
        return cls(mean=float(values.mean()), std=std, min=lo, max=hi, mode=mode, count=int(values.size))

    def _shift_scale(self) -> tuple[float, float]:
        if self.mode == "zscore":
            return self.mean, self.std
        if self.mode == "minmax":
            return self.min, self.max - self.min
        return 0.0, 1.0

    def transform(self, mos: T) -> T:
        """Dataset scale -> normalised (floats, numpy arrays and torch tensors alike)."""
        shift, scale = self._shift_scale()
        return (mos - shift) / scale  # type: ignore[operator,return-value]

    def inverse(self, value: T) -> T:
        """Normalised -> dataset scale."""
        shift, scale = self._shift_scale()
        return value * scale + shift  # type: ignore[operator,return-value]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MosScaler:
        try:
            return cls(**dict(data))
        except TypeError as err:
            raise DatasetError(f"bad MosScaler record {dict(data)}: {err}") from err
