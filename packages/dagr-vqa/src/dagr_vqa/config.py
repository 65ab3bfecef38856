"""Configuration of STR-VQA and DAGR-VQA: dataclasses, and the tiny / small / full presets as data.

`full` is the papers' setting (ResNet-50, 8 frames at 224x398, seed hyperparameters with the bugs of
seed_audit.md §6 fixed). `small` runs the embedded `demo` benchmark on a 2-core CPU in minutes: a
ResNet-18 trunk kept frozen with its per-frame features cached on disk, a narrower head, 112x200 frames.
`tiny` is for tests: ResNet-18, 4 frames at 64x96, one narrow transformer layer, random init.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace

from vqa_core.errors import ConfigError

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
    stage_preset: str = "full"
    stage_dataset: str = "dhf1k"


@dataclass
class DataConfig:
    """Clip sampling: `num_frames` uniform indices, decoded straight to height x width."""

    num_frames: int = 8
    height: int = 224
    width: int = 398


@dataclass
class TrainConfig:
    """Optimisation. Loss = L1 + rank_weight * (differentiable `rank_term`)."""

    epochs: int = 300
    batch_size: int = 16
    eval_batch_size: int = 4
    lr: float = 5e-6
    weight_decay: float = 5e-4
    min_lr: float = 1e-8
    rank_term: str = "plcc"  # plcc | rank | none
    rank_weight: float = 0.1
    freeze_backbone: bool = False  # train only the head; with cache_features, on cached trunk features
    cache_features: bool = False
    augment: bool = True  # clip-consistent flip/crop/colour, jointly on frames and maps
    val_fraction: float = 0.2  # of the training items, when no validation items are given
    grad_accum: int = 1
    num_workers: int = 0
    seed: int = 0


@dataclass
class DagrConfig:
    """Everything one STR-VQA or DAGR-VQA run needs; a checkpoint stores it whole."""

    variant: str = "dagr"
    size: str = "full"
    model: ModelConfig = field(default_factory=ModelConfig)
    saliency: SaliencyConfig = field(default_factory=SaliencyConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ConfigError(f"unknown variant {self.variant!r}; choose one of {list(VARIANTS)}")
        if not 0.0 <= self.saliency.alpha <= 1.0:
            raise ConfigError(f"saliency.alpha={self.saliency.alpha} must lie in [0, 1]")
        if self.saliency.remap not in ("max", "seed"):
            raise ConfigError(f"saliency.remap={self.saliency.remap!r}; choose 'max' or 'seed'")
        if self.train.rank_term not in ("plcc", "rank", "none"):
            raise ConfigError(f"train.rank_term={self.train.rank_term!r}; choose plcc, rank or none")
        if self.train.cache_features and not self.train.freeze_backbone:
            raise ConfigError(
                "train.cache_features needs train.freeze_backbone=true (a trained trunk changes its features)"
            )


def _str_model(**kw) -> ModelConfig:
    return ModelConfig(temporal_dim=None, heads=4, **kw)


def _dagr_model(temporal_dim: int = 1024, **kw) -> ModelConfig:
    return ModelConfig(temporal_dim=temporal_dim, heads=1, **kw)


_FULL_DATA = DataConfig(num_frames=8, height=224, width=398)
_SMALL_DATA = DataConfig(num_frames=8, height=112, width=200)
_TINY_DATA = DataConfig(num_frames=4, height=64, width=96)
_SMALL_TRAIN = TrainConfig(
    epochs=40,
    batch_size=8,
    eval_batch_size=8,
    lr=3e-4,
    weight_decay=5e-4,
    min_lr=1e-6,
    freeze_backbone=True,
    cache_features=True,
    augment=False,
)
_TINY_TRAIN = TrainConfig(epochs=2, batch_size=4, eval_batch_size=4, lr=1e-4, min_lr=1e-6, augment=True)
_SMALL_SAL = SaliencyConfig(stage_preset="small", stage_dataset="demo-saliency")
_TINY_SAL = SaliencyConfig(stage_preset="tiny", stage_dataset="demo-saliency")

PRESETS: dict[str, dict[str, DagrConfig]] = {
    "str": {
        "full": DagrConfig(
            "str",
            "full",
            _str_model(),
            SaliencyConfig(),
            _FULL_DATA,
            TrainConfig(epochs=1000, batch_size=5, eval_batch_size=2, lr=5e-6),
        ),
        "small": DagrConfig(
            "str",
            "small",
            _str_model(backbone="resnet18", fusion_dim=512, ff_dim=128),
            _SMALL_SAL,
            _SMALL_DATA,
            _SMALL_TRAIN,
        ),
        "tiny": DagrConfig(
            "str",
            "tiny",
            _str_model(
                backbone="resnet18",
                pretrained=False,
                ff_dim=32,
                layers=1,
                fusion_dim=64,
                regressor_hidden=[32, 16],
            ),
            _TINY_SAL,
            _TINY_DATA,
            _TINY_TRAIN,
        ),
    },
    "dagr": {
        "full": DagrConfig(
            "dagr",
            "full",
            _dagr_model(),
            SaliencyConfig(),
            _FULL_DATA,
            TrainConfig(epochs=300, batch_size=16, eval_batch_size=2, lr=5e-6),
        ),
        "small": DagrConfig(
            "dagr",
            "small",
            _dagr_model(backbone="resnet18", temporal_dim=256, fusion_dim=512),
            _SMALL_SAL,
            _SMALL_DATA,
            _SMALL_TRAIN,
        ),
        "tiny": DagrConfig(
            "dagr",
            "tiny",
            _dagr_model(
                backbone="resnet18",
                pretrained=False,
                temporal_dim=32,
                ff_dim=32,
                layers=1,
                fusion_dim=64,
                regressor_hidden=[32, 16],
            ),
            _TINY_SAL,
            _TINY_DATA,
            _TINY_TRAIN,
        ),
    },
}


def preset(variant: str = "dagr", size: str = "full") -> DagrConfig:
    """A fresh copy of a preset, safe to modify."""
    if variant not in PRESETS:
        raise ConfigError(f"unknown variant {variant!r}; choose one of {list(PRESETS)}")
    if size not in PRESETS[variant]:
        raise ConfigError(f"unknown size {size!r} for {variant}; choose one of {list(PRESETS[variant])}")
    return copy.deepcopy(PRESETS[variant][size])


def with_saliency(cfg: DagrConfig, enabled: bool) -> DagrConfig:
    """A copy of `cfg` with saliency weighting switched on or off (the ablation)."""
    out = copy.deepcopy(cfg)
    out.saliency = replace(out.saliency, enabled=enabled)
    return out
