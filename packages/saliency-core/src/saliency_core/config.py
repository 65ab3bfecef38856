"""Saliency configs as dataclasses with tiny / small / full presets (data, not code paths).

A checkpoint stores `asdict(config)`, so `load_saliency_model(path)` needs nothing else; a YAML
file with the same keys (any subset, over a preset) loads to the same dataclass.
"""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from vqa_core.errors import ConfigError


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


@dataclass(frozen=True)
class AugmentConfig:
    """Clip-consistent augmentation applied jointly to frames and maps (training only)."""

    hflip: float = 0.5
    crop_scale: tuple[float, float] = (0.8, 1.0)
    color_jitter: float = 0.1


@dataclass(frozen=True)
class SaliencyConfig:
    """Everything that defines a saliency training run and the model it produces."""

    name: str = "small"
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    batch_size: int = 4
    grad_accum: int = 1  # micro-batches per optimiser step
    epochs: int = 20
    clips_per_video: int = 4  # random clips drawn from each training video per epoch
    val_clips_per_video: int = 2  # fixed, evenly spaced clips per held-out video
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 0
    grad_clip: float = 1.0
    seed: int = 0
    num_workers: int = 0


MODEL_PRESETS: dict[str, ModelConfig] = {
    "tiny": ModelConfig(channels=(4, 8, 8, 16, 16), token_dim=16, attention_heads=2, clip_len=4, height=32, width=48),
    "small": ModelConfig(channels=(16, 24, 32, 48, 64), clip_len=8, height=64, width=112),
    "full": ModelConfig(channels=(64, 128, 256, 512, 1024), clip_len=8, height=224, width=398),
}


PRESETS: dict[str, SaliencyConfig] = {
    "tiny": SaliencyConfig(
        name="tiny", model=MODEL_PRESETS["tiny"], batch_size=2, grad_accum=2,
        epochs=2, clips_per_video=1, val_clips_per_video=1, lr=3e-3,
    ),
    "small": SaliencyConfig(
        name="small", model=MODEL_PRESETS["small"], batch_size=4, grad_accum=1,
        epochs=30, clips_per_video=4, val_clips_per_video=2, lr=3e-3,
    ),
    "full": SaliencyConfig(
        name="full", model=MODEL_PRESETS["full"], batch_size=5, grad_accum=4,
        epochs=200, clips_per_video=6, val_clips_per_video=4, lr=1e-4,
    ),
}


def model_preset(size: str) -> ModelConfig:
    if size not in MODEL_PRESETS:
        raise ConfigError(f"unknown saliency size {size!r}; choose one of {', '.join(MODEL_PRESETS)}")
    return MODEL_PRESETS[size]


def _build(cls: type, data: dict[str, Any], base: Any, where: str) -> Any:
    """Overlay `data` on the dataclass instance `base`, recursing into nested dataclasses."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; known: {sorted(fields)}")
    values = {}
    for key, value in data.items():
        current = getattr(base, key)
        if dataclasses.is_dataclass(current):
            if key == "loss" and isinstance(value, str):
                if value not in LOSS_PRESETS:
                    raise ConfigError(f"{where}.loss: unknown preset {value!r}; known: {sorted(LOSS_PRESETS)}")
                values[key] = LOSS_PRESETS[value]
            else:
                values[key] = _build(type(current), value, current, f"{where}.{key}")
        elif isinstance(current, tuple):
            values[key] = tuple(value)
        else:
            values[key] = value
    return replace(base, **values)


def config_from_dict(data: dict[str, Any], where: str = "config") -> SaliencyConfig:
    """A config from a (possibly partial) dict; `preset: small` chooses the base (default small)."""
    data = dict(data)
    base = data.pop("preset", data.get("name", "small"))
    if base not in PRESETS:
        raise ConfigError(f"{where}: unknown preset {base!r}; choose one of {', '.join(PRESETS)}")
    config = _build(SaliencyConfig, data, PRESETS[base], where)
    if config.model.registers not in ("none", "concat", "attention"):
        raise ConfigError(f"{where}: model.registers={config.model.registers!r}; use none, concat or attention")
    return config


def load_config(spec: str | Path) -> SaliencyConfig:
    """A preset name (`tiny` | `small` | `full`) or a YAML file path -> `SaliencyConfig`."""
    if str(spec) in PRESETS:
        return PRESETS[str(spec)]
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"{spec}: not a preset ({', '.join(PRESETS)}) and no such YAML file")
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: invalid YAML: {err}") from err
    return config_from_dict(data, where=str(path))


def config_to_dict(config: SaliencyConfig) -> dict[str, Any]:
    """Plain-Python form (tuples become lists) for checkpoints and YAML."""
    def plain(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        return v

    return plain(asdict(config))
