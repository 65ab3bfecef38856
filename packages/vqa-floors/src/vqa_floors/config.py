"""Configs of the three floor baselines, with their tiny / small / full presets as data.

A floor is what every learned method is judged against, so its presets trade nothing that
would make it weaker than it has to be; they only size the work:

- frames are sampled uniformly (`vqa_core.sampling.uniform_indices`) and decoded straight to
  the analysis size, whose shorter side is `short_side` but never more than the video's own
  (upscaling would only add interpolation to the statistics);
- `small` is the benchmark preset: on 1080p video the NSS features run at 360 lines (640x360,
  about 30 ms per frame) and the Laplacian at 540 lines (it is cheap, and blur of a pixel or
  two at 1080p vanishes at lower sizes); the demo's 320x240 clips are analysed at their own size;
- `full` analyses up to 1080 lines and more frames; `tiny` is for tests.

Each config class lists its presets in the class attribute `PRESETS` (vqa-core's one way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from vqa_core.errors import ConfigError

__all__ = ["BitrateConfig", "NssConfig", "RegressorConfig", "SharpnessConfig"]

BITRATE_SOURCES = ("auto", "file_size")
REGRESSOR_KINDS = ("svr", "ridge")


def _check_positive(owner: str, **values: int) -> None:
    for name, value in values.items():
        if value < 1:
            raise ConfigError(f"{owner}.{name}={value} must be at least 1")


@dataclass
class SharpnessConfig:
    """Mean variance of the Laplacian over `num_frames` grey frames, log-scaled (training-free)."""

    PRESETS: ClassVar[dict[str, SharpnessConfig]]

    num_frames: int = 8
    short_side: int = 360

    def __post_init__(self) -> None:
        _check_positive("sharpness", num_frames=self.num_frames, short_side=self.short_side)


@dataclass
class BitrateConfig:
    """Bits per pixel per frame from the container (training-free, nothing is decoded).

    `source="auto"` takes the stream's bit rate when the container states one and falls back
    to the file size; `"file_size"` always uses file size x 8 / (width x height x frames),
    which also counts audio and container overhead.
    """

    PRESETS: ClassVar[dict[str, BitrateConfig]]

    source: str = "auto"

    def __post_init__(self) -> None:
        if self.source not in BITRATE_SOURCES:
            raise ConfigError(f"bitrate.source={self.source!r}; choose one of {list(BITRATE_SOURCES)}")


@dataclass
class RegressorConfig:
    """Feature -> MOS regression, chosen on the validation part by SRCC (never on test).

    `svr`: RBF-kernel SVR on standardised features, every (C, gamma) of the grid tried, with
    gamma = multiplier / number of features (sklearn's "scale" for unit-variance features).
    `ridge`: linear ridge regression over `alpha_grid`. Targets are the train part's z-scored MOS.
    """

    kind: str = "svr"
    c_grid: list[float] = field(default_factory=lambda: [0.3, 1.0, 3.0, 10.0, 30.0])
    gamma_grid: list[float] = field(default_factory=lambda: [0.1, 0.3, 1.0, 3.0])
    epsilon: float = 0.1
    alpha_grid: list[float] = field(default_factory=lambda: [0.1, 1.0, 10.0, 100.0])

    def __post_init__(self) -> None:
        if self.kind not in REGRESSOR_KINDS:
            raise ConfigError(f"regressor.kind={self.kind!r}; choose one of {list(REGRESSOR_KINDS)}")
        grids = {"c_grid": self.c_grid, "gamma_grid": self.gamma_grid, "alpha_grid": self.alpha_grid}
        for name, grid in grids.items():
            if not grid or any(not v > 0 for v in grid):
                raise ConfigError(f"regressor.{name}={grid} must be a non-empty list of positive numbers")
        if self.epsilon < 0:
            raise ConfigError(f"regressor.epsilon={self.epsilon} must be >= 0")


@dataclass
class NssConfig:
    """BRISQUE NSS of `num_frames` frames + frame-difference statistics, regressed to MOS.

    - `num_frames` uniform frames: the 36 BRISQUE features (two scales), averaged;
    - `pairs` consecutive-frame pairs at uniform positions: NSS fits of their difference, averaged;
    - `window` consecutive frames from the middle of the video: how irregular the
      frame-difference energy and the per-frame sharpness are over time (frame drops,
      duplicates and motion-interpolated frames make them periodic or spiky); 0 turns it off.
    """

    PRESETS: ClassVar[dict[str, NssConfig]]

    num_frames: int = 8
    short_side: int = 360
    pairs: int = 8
    window: int = 24
    regressor: RegressorConfig = field(default_factory=RegressorConfig)

    def __post_init__(self) -> None:
        _check_positive("nss", num_frames=self.num_frames, short_side=self.short_side, pairs=self.pairs)
        if self.window != 0 and self.window < 6:
            raise ConfigError(f"nss.window={self.window} must be 0 (off) or at least 6 consecutive frames")


SharpnessConfig.PRESETS = {
    "tiny": SharpnessConfig(num_frames=4, short_side=128),
    "small": SharpnessConfig(num_frames=8, short_side=540),
    "full": SharpnessConfig(num_frames=32, short_side=1080),
}

# Nothing to size: every preset reads the same container fields.
BitrateConfig.PRESETS = {"tiny": BitrateConfig(), "small": BitrateConfig(), "full": BitrateConfig()}

NssConfig.PRESETS = {
    "tiny": NssConfig(
        num_frames=3,
        short_side=96,
        pairs=2,
        window=8,
        regressor=RegressorConfig(c_grid=[1.0, 10.0], gamma_grid=[0.3, 1.0], alpha_grid=[1.0, 10.0]),
    ),
    "small": NssConfig(num_frames=8, short_side=360, pairs=8, window=24),
    "full": NssConfig(
        num_frames=32,
        short_side=1080,
        pairs=16,
        window=48,
        regressor=RegressorConfig(
            c_grid=[0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0],
            gamma_grid=[0.03, 0.1, 0.3, 1.0, 3.0],
            alpha_grid=[0.01, 0.1, 1.0, 10.0, 100.0, 1000.0],
        ),
    ),
}
