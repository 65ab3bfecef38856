"""Saliency configs as dataclasses with tiny / small / full presets (data, not code paths).

A checkpoint stores the config as plain data, so `load_saliency_model(path)` needs nothing else.
Every config class keeps its presets in `PRESETS`, so `vqa_core.config.load_config(SaliencyConfig,
spec)` reads a preset name, a YAML file or a dict; a YAML file may start from `preset: small` and
list only what differs (`loss: literature` picks a `LossConfig` preset, `model: {preset: tiny}` a
`ModelConfig` one).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from vqa_core.errors import ConfigError
from vqa_core.train import TrainConfig
from vqa_core.transforms import ClipAugmentConfig

REGISTER_MODES = ("none", "concat", "attention")


@dataclass(frozen=True)
class ModelConfig:
    """The UNet3D: five widths (4 encoder stages + bottleneck) and its register tokens."""

    PRESETS: ClassVar[dict[str, ModelConfig]]

    channels: tuple[int, ...] = (64, 128, 256, 512, 1024)
    registers: str = "attention"  # none | concat (seed reproduction) | attention (the papers' intent)
    num_registers: int = 4  # 4 in DAGR-VQA, 8 in STR-VQA
    token_dim: int = 64  # the seed's token width; also the attention registers' width
    attention_heads: int = 4
    clip_len: int = 8  # frames per forward pass (the seeds used 4-10); inference windows use it too
    height: int = 224  # the input size the model is trained and run at
    width: int = 398


@dataclass(frozen=True)
class LossConfig:
    """Weights of the per-frame saliency losses: loss = kld*KLD - cc*CC - nss*NSS - sim*SIM.

    The default is the seeds' 0.01*KLD + (-CC) (seed_audit §1.2); `PRESETS` has others.
    """

    PRESETS: ClassVar[dict[str, LossConfig]]

    kld: float = 0.01
    cc: float = 1.0
    nss: float = 0.0
    sim: float = 0.0


LossConfig.PRESETS = {
    "seed": LossConfig(kld=0.01, cc=1.0, nss=0.0, sim=0.0),
    # the TMFI/ViNet-style setting of the literature (seed_audit §6 item 3)
    "literature": LossConfig(kld=1.0, cc=1.0, nss=0.1, sim=0.0),
}


def _augment(scale: tuple[float, float] = (0.6, 1.0)) -> ClipAugmentConfig:
    """Clip-consistent crop/flip/jitter that keeps the input size (the maps follow crop and flip)."""
    return ClipAugmentConfig(
        size=None, scale=scale, ratio=(0.8, 1.25), hflip_p=0.5, jitter_p=0.5,
        brightness=0.2, contrast=0.2, saturation=0.2, hue=0.02,
    )


@dataclass(frozen=True)
class DataConfig:
    """How clips are cut from saliency videos; frames and maps always share their indices."""

    frame_stride: int = 1  # temporal step between a clip's frames (the seeds: ~video length / 60)
    clips_per_video: int = 4  # random clips drawn from each training video per epoch
    val_clips_per_video: int = 2  # fixed, evenly spaced clips per held-out video
    val_fraction: float = 0.1  # held-out share of the training videos when a dataset has no val split
    augment: bool = True
    # map file number of decoded frame 0 when the frame source is a video (DHF1K numbers from 1);
    # None: 1 for dhf1k, else 0. Frame folders are paired with maps by the number in the names.
    map_index_base: int | None = None

    def __post_init__(self) -> None:
        for key in ("frame_stride", "clips_per_video", "val_clips_per_video"):
            if getattr(self, key) < 1:
                raise ConfigError(f"data.{key} must be >= 1, got {getattr(self, key)}")
        if not 0 <= self.val_fraction < 1:
            raise ConfigError(f"data.val_fraction must be in [0, 1), got {self.val_fraction}")


@dataclass(frozen=True)
class SaliencyConfig:
    """Everything that defines a saliency training run and the model it produces."""

    PRESETS: ClassVar[dict[str, SaliencyConfig]]

    name: str = "small"
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    data: DataConfig = field(default_factory=DataConfig)
    augment: ClipAugmentConfig = field(default_factory=_augment)
    trainer: TrainConfig = field(default_factory=lambda: _trainer(epochs=20, batch_size=4, lr=1e-3))

    def __post_init__(self) -> None:
        if self.model.registers not in REGISTER_MODES:
            raise ConfigError(f"model.registers={self.model.registers!r}; use one of {', '.join(REGISTER_MODES)}")
        if len(self.model.channels) != 5:
            raise ConfigError(f"model.channels needs 5 widths, got {list(self.model.channels)}")
        if self.model.clip_len < 1 or self.model.height < 1 or self.model.width < 1:
            raise ConfigError("model.clip_len, model.height and model.width must be >= 1")


def _trainer(**kw: Any) -> TrainConfig:
    """The shared Trainer's settings for saliency: Adam-W, whole-run cosine, select on val CC."""
    base = {"optimizer": "adamw", "weight_decay": 1e-4, "clip_grad_norm": 1.0, "select_metric": "cc",
            "mode": "max", "min_lr_ratio": 0.01}
    base.update(kw)
    return TrainConfig(**base)


ModelConfig.PRESETS = {
    "tiny": ModelConfig(channels=(4, 8, 8, 16, 16), token_dim=16, attention_heads=2, clip_len=4, height=32, width=48),
    "small": ModelConfig(channels=(16, 24, 32, 48, 64), clip_len=8, height=64, width=112),
    "full": ModelConfig(channels=(64, 128, 256, 512, 1024), clip_len=8, height=224, width=398),
}

SaliencyConfig.PRESETS = {
    # tests: seconds on a CPU
    "tiny": SaliencyConfig(
        name="tiny", model=ModelConfig.PRESETS["tiny"],
        data=DataConfig(clips_per_video=1, val_clips_per_video=1),
        trainer=_trainer(epochs=2, batch_size=2, grad_accum=2, lr=3e-3, progress=False),
    ),
    # the embedded demo-saliency data on a 2-core CPU in minutes
    "small": SaliencyConfig(
        name="small", model=ModelConfig.PRESETS["small"],
        data=DataConfig(frame_stride=1, clips_per_video=4, val_clips_per_video=2),
        trainer=_trainer(epochs=10, batch_size=4, lr=3e-3, warmup=0.05),
    ),
    # the papers' network at the seeds' 224x398 on DHF1K (GPU); the seeds sampled 60 frames per video
    "full": SaliencyConfig(
        name="full", model=ModelConfig.PRESETS["full"],
        data=DataConfig(frame_stride=5, clips_per_video=6, val_clips_per_video=4),
        trainer=_trainer(epochs=200, batch_size=5, grad_accum=4, lr=1e-4, warmup=0.02, num_workers=4),
    ),
}
# One stage per method at full size, each the network its paper trained (issue #14 point 3): STR-VQA
# used N=8 register tokens, DAGR-VQA N=4, SC-VQA a UNet3D without registers. Their names differ, so
# their stage keys differ and no method reuses another's saliency model.
_FULL = SaliencyConfig.PRESETS["full"]
SaliencyConfig.PRESETS.update(
    {
        "full-str": replace(_FULL, name="full-str", model=replace(_FULL.model, registers="attention", num_registers=8)),
        "full-dagr": replace(_FULL, name="full-dagr", model=replace(_FULL.model, registers="attention", num_registers=4)),
        "full-sc": replace(_FULL, name="full-sc", model=replace(_FULL.model, registers="none")),
    }
)


def model_preset(size: str) -> ModelConfig:
    """The UNet3D of a size preset (`tiny` | `small` | `full`)."""
    if size not in ModelConfig.PRESETS:
        raise ConfigError(f"unknown saliency size {size!r}; choose one of {', '.join(ModelConfig.PRESETS)}")
    return ModelConfig.PRESETS[size]
