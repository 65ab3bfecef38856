"""Configuration of STR-VQA and DAGR-VQA: dataclasses, and the tiny / small / full presets as data.

`full` is the papers' setting (ResNet-50, 8 frames at 224x398, seed hyperparameters with the bugs of
seed_audit.md §6 fixed). `small` runs the embedded `demo` benchmark on a 2-core CPU in minutes: a
ResNet-18 trunk kept frozen with its per-frame features cached on disk, a narrower head, 112x200 frames.
`tiny` is for tests: ResNet-18, 4 frames at 64x96, one narrow transformer layer, random init.

Each variant's config class holds its own presets (`DagrConfig.PRESETS`, `StrConfig.PRESETS`), one
entry per preset: what differs between the two variants is written in the entry (the network), what
a size means for both (data, training recipe, saliency stage) in one helper per size.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import ClassVar

from vqa_core.errors import ConfigError
from vqa_core.train.train_config import TrainConfig as TrainerConfig

VARIANTS = ("str", "dagr")
SIZES = ("tiny", "small", "full")


@dataclass
class ModelConfig:
    """The network. `temporal_dim=None` keeps the trunk width in the transformer (STR); an int projects (DAGR)."""

    backbone: str = "resnet50"  # resnet50 (the papers) | resnet18 (tiny/small presets)
    pretrained: bool = True
    weights: str = "IMAGENET1K_V1"  # torchvision weight enum entry, explicitly V1 as the seeds
    weights_path: str | None = None  # a local state dict, for offline machines
    temporal_dim: int | None = 1024
    heads: int = 1
    ff_dim: int = 128
    layers: int = 2
    dropout: float = 0.3
    fusion_dim: int = 2048
    regressor_hidden: list[int] = field(default_factory=lambda: [256, 128])


@dataclass
class SaliencyConfig:
    """How saliency maps weight the frames, and where the maps come from.

    Maps are always taken at the RGB frames' indices. Without `checkpoint`, the saliency model is a
    pretraining stage: saliency-core trains preset `stage_preset` on `stage_dataset`, keyed by its
    config hash, and the result is reused across runs.
    """

    enabled: bool = True
    alpha: float = 0.5  # x' = (1-alpha) x + alpha x w
    floor: float = 0.1  # w is clamped below at this value
    remap: str = "max"  # max: w = s/max(s) | seed: the seeds' (2s-1)/max(2s-1)
    checkpoint: str | None = None  # a trained saliency-core checkpoint; None: train the stage
    stage_preset: str = "full"  # saliency-core preset (tiny | small | full) or YAML file
    stage_dataset: str = "dhf1k"  # demo-saliency | dhf1k | diem | a manifest CSV
    stage_data_root: str | None = None  # the dataset's folder (DHF1K, DIEM); None for demo-saliency


@dataclass
class DataConfig:
    """Clip sampling: `num_frames` uniform indices, decoded straight to height x width."""

    num_frames: int = 8
    height: int = 224
    width: int = 398


@dataclass
class LossConfig:
    """Loss = L1 + rank_weight * (differentiable `rank_term`); the seeds' argsort Spearman had no gradient."""

    rank_term: str = "plcc"  # plcc | rank | none
    rank_weight: float = 0.1


@dataclass
class FitConfig:
    """Method-level training choices (the loop itself is configured by `trainer`)."""

    freeze_backbone: bool = False  # train only the head (temporal + fusion + regressor)
    cache_features: bool = False  # with a frozen backbone: per-frame trunk features cached on disk
    augment: bool = True  # clip-consistent flip / crop / colour, jointly on frames and maps


@dataclass
class DagrConfig:
    """Everything one STR-VQA or DAGR-VQA run needs; a checkpoint stores it whole."""

    PRESETS: ClassVar[dict[str, DagrConfig]]

    variant: str = "dagr"
    size: str = "full"
    model: ModelConfig = field(default_factory=ModelConfig)
    saliency: SaliencyConfig = field(default_factory=SaliencyConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    fit: FitConfig = field(default_factory=FitConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}; choose one of {list(VARIANTS)}")
        if not 0.0 <= self.saliency.alpha <= 1.0:
            raise ConfigError(f"saliency.alpha={self.saliency.alpha} must lie in [0, 1]")
        if self.saliency.remap not in ("max", "seed"):
            raise ConfigError(f"saliency.remap={self.saliency.remap!r}; choose 'max' or 'seed'")
        if self.loss.rank_term not in ("plcc", "rank", "none"):
            raise ConfigError(f"loss.rank_term={self.loss.rank_term!r}; choose plcc, rank or none")
        if self.fit.cache_features and not self.fit.freeze_backbone:
            raise ConfigError(
                "fit.cache_features needs fit.freeze_backbone=true (a trained trunk changes its features)"
            )
        if self.fit.cache_features and self.fit.augment:
            raise ConfigError(
                "fit.cache_features needs fit.augment=false (cached features are of unaugmented clips)"
            )


@dataclass
class StrConfig(DagrConfig):
    """The STR-VQA config: the same fields, STR defaults and presets."""

    PRESETS: ClassVar[dict[str, StrConfig]]

    variant: str = "str"
    model: ModelConfig = field(default_factory=lambda: _str_model())


def config_class(variant: str) -> type[DagrConfig]:
    """The config dataclass of a variant (`str` -> StrConfig, `dagr` -> DagrConfig)."""
    if variant not in VARIANTS:
        raise ConfigError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)}")
    return StrConfig if variant == "str" else DagrConfig


def _str_model(**kw) -> ModelConfig:
    return ModelConfig(temporal_dim=None, heads=4, **kw)


def _dagr_model(temporal_dim: int = 1024, **kw) -> ModelConfig:
    return ModelConfig(temporal_dim=temporal_dim, heads=1, **kw)


def _full(cls: type[DagrConfig], model: ModelConfig, batch_size: int, epochs: int) -> DagrConfig:
    # the seeds' AdamW lr 5e-6, wd 5e-4, cosine down to 1e-8 (here over the whole run)
    trainer = TrainerConfig(
        epochs=epochs,
        batch_size=batch_size,
        val_batch_size=2,
        lr=5e-6,
        weight_decay=5e-4,
        min_lr_ratio=1e-8 / 5e-6,
        num_workers=4,
        select_metric="srcc",
    )
    return cls(size="full", model=model, saliency=SaliencyConfig(), trainer=trainer)


def _small(cls: type[DagrConfig], model: ModelConfig) -> DagrConfig:
    # the demo on a 2-core CPU: frozen random/ImageNet ResNet-18 with cached features, head-only training
    return cls(
        size="small",
        model=model,
        saliency=SaliencyConfig(stage_preset="small", stage_dataset="demo-saliency"),
        data=DataConfig(num_frames=8, height=112, width=200),
        fit=FitConfig(freeze_backbone=True, cache_features=True, augment=False),
        trainer=TrainerConfig(
            epochs=30, batch_size=8, val_batch_size=16, lr=3e-4, weight_decay=5e-4, min_lr_ratio=0.01
        ),
    )


def _tiny(cls: type[DagrConfig], model: ModelConfig) -> DagrConfig:
    return cls(
        size="tiny",
        model=model,
        saliency=SaliencyConfig(stage_preset="tiny", stage_dataset="demo-saliency"),
        data=DataConfig(num_frames=4, height=64, width=96),
        fit=FitConfig(freeze_backbone=False, cache_features=False, augment=True),
        trainer=TrainerConfig(
            epochs=2, batch_size=4, val_batch_size=4, lr=1e-4, min_lr_ratio=0.01, progress=False
        ),
    )


_TINY_HEAD = {"ff_dim": 32, "layers": 1, "fusion_dim": 64, "regressor_hidden": [32, 16]}

StrConfig.PRESETS = {
    "full": _full(StrConfig, _str_model(), batch_size=5, epochs=1000),
    "small": _small(StrConfig, _str_model(backbone="resnet18", fusion_dim=512)),
    "tiny": _tiny(StrConfig, _str_model(backbone="resnet18", pretrained=False, **_TINY_HEAD)),
}

DagrConfig.PRESETS = {
    "full": _full(DagrConfig, _dagr_model(), batch_size=16, epochs=300),
    "small": _small(DagrConfig, _dagr_model(backbone="resnet18", temporal_dim=256, fusion_dim=512)),
    "tiny": _tiny(DagrConfig, _dagr_model(backbone="resnet18", pretrained=False, temporal_dim=32, **_TINY_HEAD)),
}


def preset(variant: str = "dagr", size: str = "full") -> DagrConfig:
    """A fresh copy of a preset of a variant, safe to modify."""
    presets = config_class(variant).PRESETS
    if size not in presets:
        raise ConfigError(f"unknown size {size!r} for {variant}; choose one of {list(presets)}")
    return copy.deepcopy(presets[size])


def with_saliency(cfg: DagrConfig, enabled: bool) -> DagrConfig:
    """A copy of `cfg` with saliency weighting switched on or off (the ablation)."""
    out = copy.deepcopy(cfg)
    out.saliency = replace(out.saliency, enabled=enabled)
    return out
