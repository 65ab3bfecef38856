"""Saliency configs as dataclasses with tiny / small / full presets (data, not code paths).

A checkpoint stores the config as plain data, so `load_saliency_model(path)` needs nothing else; a YAML
file with the same keys (any subset, over a preset) loads to the same dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from vqa_core.config import config_to_dict
from vqa_core.config import load_config as core_load_config
from vqa_core.errors import ConfigError
from vqa_core.train import TrainConfig
from vqa_core.transforms import ClipAugmentConfig

REGISTER_MODES = ("none", "concat", "attention")


@dataclass(frozen=True)
class ModelConfig:
    """The UNet3D: five widths (4 encoder stages + bottleneck) and its register tokens."""

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

    The default is the seeds' 0.01*KLD + (-CC) (seed_audit §1.2); `LOSS_PRESETS` has others.
    """

    kld: float = 0.01
    cc: float = 1.0
    nss: float = 0.0
    sim: float = 0.0


LOSS_PRESETS: dict[str, LossConfig] = {
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

    @classmethod
    def presets(cls) -> dict[str, SaliencyConfig]:
        return dict(PRESETS)


def _trainer(**kw: Any) -> TrainConfig:
    """The shared Trainer's settings for saliency: Adam-W, whole-run cosine, select on val CC."""
    base = {"optimizer": "adamw", "weight_decay": 1e-4, "clip_grad_norm": 1.0, "select_metric": "cc",
            "mode": "max", "min_lr_ratio": 0.01}
    base.update(kw)
    return TrainConfig(**base)


MODEL_PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(channels=(4, 8, 8, 16, 16), token_dim=16, attention_heads=2, clip_len=4, height=32, width=48),
    "small": ModelConfig(channels=(16, 24, 32, 48, 64), clip_len=8, height=64, width=112),
    "full": ModelConfig(channels=(64, 128, 256, 512, 1024), clip_len=8, height=224, width=398),
}

PRESETS: dict[str, SaliencyConfig] = {
    # tests: seconds on a CPU
    "tiny": SaliencyConfig(
        name="tiny", model=MODEL_PRESETS["tiny"],
        data=DataConfig(clips_per_video=1, val_clips_per_video=1),
        trainer=_trainer(epochs=2, batch_size=2, grad_accum=2, lr=3e-3, progress=False),
    ),
    # the embedded demo-saliency data on a 2-core CPU in minutes
    "small": SaliencyConfig(
        name="small", model=MODEL_PRESETS["small"],
        data=DataConfig(frame_stride=1, clips_per_video=4, val_clips_per_video=2),
        trainer=_trainer(epochs=10, batch_size=4, lr=3e-3, warmup=0.05),
    ),
    # the papers' network at the seeds' 224x398 on DHF1K (GPU); the seeds sampled 60 frames per video
    "full": SaliencyConfig(
        name="full", model=MODEL_PRESETS["full"],
        data=DataConfig(frame_stride=5, clips_per_video=6, val_clips_per_video=4),
        trainer=_trainer(epochs=200, batch_size=5, grad_accum=4, lr=1e-4, warmup=0.02, num_workers=4),
    ),
}


def model_preset(size: str) -> ModelConfig:
    if size not in MODEL_PRESETS:
        raise ConfigError(f"unknown saliency size {size!r}; choose one of {', '.join(MODEL_PRESETS)}")
    return MODEL_PRESETS[size]


def _merge(base: dict[str, Any], update: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def load_config(
    spec: str | Path | dict[str, Any] | SaliencyConfig, overrides: dict[str, Any] | list[str] | None = None
) -> SaliencyConfig:
    """A preset name (`tiny` | `small` | `full`), a YAML path, a dict or a config -> `SaliencyConfig`.

    A YAML file or dict may name its base with `preset: small` and list only what differs
    (`loss: seed` or `loss: literature` pick a loss preset). `overrides` are `key=value` strings
    or a dict with dotted keys, as `--set` on the command line gives them.
    """
    if isinstance(spec, SaliencyConfig):
        return core_load_config(SaliencyConfig, spec, overrides)
    if isinstance(spec, (str, Path)) and str(spec) in PRESETS:
        return core_load_config(SaliencyConfig, str(spec), overrides)
    if isinstance(spec, dict):
        data, where = dict(spec), "dict"
    else:
        path = Path(spec)
        if not path.is_file():
            raise ConfigError(f"{spec}: neither a saliency preset ({', '.join(PRESETS)}) nor a YAML file")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as err:
            raise ConfigError(f"{path}: invalid YAML: {err}") from err
        if not isinstance(data, dict):
            raise ConfigError(f"{path}: expected a mapping of SaliencyConfig fields")
        where = str(path)
    base = data.pop("preset", None)
    if base is not None:
        if base not in PRESETS:
            raise ConfigError(f"{where}: unknown preset {base!r}; choose one of {', '.join(PRESETS)}")
        data = _merge(config_to_dict(PRESETS[base]), data)
    if isinstance(data.get("loss"), str):
        if data["loss"] not in LOSS_PRESETS:
            raise ConfigError(f"{where}: unknown loss preset {data['loss']!r}; known: {', '.join(LOSS_PRESETS)}")
        data["loss"] = config_to_dict(LOSS_PRESETS[data["loss"]])
    try:
        return core_load_config(SaliencyConfig, data, overrides)
    except ConfigError as err:
        raise ConfigError(f"{where}: {err}") from err
