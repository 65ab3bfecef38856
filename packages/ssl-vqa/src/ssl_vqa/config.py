"""Configuration of SSL-VQA and QASA-VQA: dataclasses, and the tiny / small / full presets as data.

Both methods share the primary model (Swin3D trunk + VQAHead, initialised from ST-VQRL), the
two-view fragment sampling, the labelled / unlabelled partition and the dual-model loss; they
differ in the auxiliary model (`NiqeConfig` for SSL-VQA, `ClipAuxConfig` for QASA-VQA) and in
how the final score combines the two.

The architecture and the ST-VQRL pretraining stage are one nested `st_vqrl.StVqrlConfig`
(`stvqrl`), so the trunk trained by the stage is by construction the trunk fine-tuned here, and
the stage's config hash keys its cached artifact.

`full` is the papers' setting (seed_audit §4.5, §5): 32-frame clips at stride 2, 7x7 fragments
of 32 px, batch 16 (SSL) / 6 (QASA), AdamW head 1e-3 / backbone 1e-4, 2.5 warm-up epochs then
cosine. `small` runs the embedded `demo` benchmark on a 2-core CPU; `tiny` is for tests (QASA's
`tiny`/`small` auxiliary is a small open_clip ViT built from a config dict with random init, see
`ClipAuxConfig`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Literal

from st_vqrl.config import StVqrlConfig
from vqa_core.errors import ConfigError
from vqa_core.train import TrainConfig

__all__ = [
    "ClipAuxConfig",
    "CombineConfig",
    "NiqeConfig",
    "OptimConfig",
    "QasaConfig",
    "SamplingConfig",
    "SemiConfig",
    "SslConfig",
]


@dataclass
class SemiConfig:
    """The labelled / unlabelled partition of the training split and the dual-model loss.

    `labelled`: how many training videos keep their label, an int count (>= 1) or a fraction in
    (0, 1] (the seeds: 500 of 2000 LSVQ videos = 0.25). The rest are unlabelled. `pick`:
    `"random"` draws the labelled subset with `partition_seed` (seeded, reproducible across
    runs and methods); `"spread"` reproduces the seeds' `np.linspace` pick over the items
    sorted by video id. `transfer`: the confidence-based knowledge transfer on unlabelled
    batches is decided once per batch (`"batch"`, the seeds) or per sample (`"sample"`).
    `w_cons` weights the two-view consistency terms, `w_stab` the transfer term (both 1 in the
    seeds). `unlabelled_per_labelled`: unlabelled videos drawn per labelled video.

    `val_labelled`: None takes the validation labels outside the budget (every given validation
    video is labelled on top of `labelled`); a count or fraction of `labelled` counts them inside
    it: that many of the given validation videos are drawn (seeded) and the training split keeps
    `labelled - val_labelled` labels, so a run uses exactly `labelled` MOS values in all, as the
    papers' 500-label setting means. `subset`: the names (video ids) the training split is
    restricted to before partitioning, e.g. the authors' released 2,000-video LSVQ subset (which
    users supply; it cannot ship here). None: the whole training split.
    """

    labelled: int | float = 0.25
    pick: Literal["random", "spread"] = "random"
    partition_seed: int = 0
    transfer: Literal["batch", "sample"] = "batch"
    w_cons: float = 1.0
    w_stab: float = 1.0
    unlabelled_per_labelled: int = 1
    val_labelled: int | float | None = None
    subset: list[str] | None = None

    def __post_init__(self) -> None:
        value = self.labelled
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"semi.labelled must be a count or a fraction, got {value!r}")
        if isinstance(value, float) and not value.is_integer() and not 0 < value < 1:
            raise ConfigError(f"semi.labelled as a fraction must be in (0, 1], got {value}")
        if value <= 0:
            raise ConfigError(f"semi.labelled must be > 0, got {value}")
        if self.pick not in ("random", "spread"):
            raise ConfigError(f"semi.pick {self.pick!r} must be 'random' or 'spread'")
        if self.transfer not in ("batch", "sample"):
            raise ConfigError(f"semi.transfer {self.transfer!r} must be 'batch' or 'sample'")
        if self.w_cons < 0 or self.w_stab < 0:
            raise ConfigError("semi.w_cons and semi.w_stab must be >= 0")
        if self.unlabelled_per_labelled < 0:
            raise ConfigError("semi.unlabelled_per_labelled must be >= 0")
        v = self.val_labelled
        if v is not None:
            if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
                raise ConfigError(f"semi.val_labelled must be a count or a fraction of semi.labelled, got {v!r}")
            if isinstance(v, float) and not v.is_integer() and not v < 1:
                raise ConfigError(f"semi.val_labelled as a fraction must be in (0, 1), got {v}")
        if self.subset is not None and len(self.subset) < 2:
            raise ConfigError(f"semi.subset must list at least 2 video names, got {len(self.subset)}")


@dataclass
class SamplingConfig:
    """Temporal sampling of training and test clips (the spatial grid comes from `stvqrl.clip`).

    `fragments_t` segments of `clip_len // fragments_t` frames each, `frame_interval` apart
    (`vqa_core.sampling.FragmentSampleFrames`; 1 segment = one contiguous run as SSL-VQA's
    `SampleFrames(32, 2, 1)`, 8 segments = QASA's). `test_clips` clips per video at test time
    (the seeds: 2 clips, i.e. 64 frames); the primary score is the mean over clips and the
    auxiliary scores the tokens of all clips together.

    `test_clip_len` / `test_fragments_t`: the test clips' geometry when it differs from training's
    (None: as in training). The papers test on 64 frames in 8 temporal fragments of 8 (SSL-VQA's
    `FragmentSampleFrames(8, 8, 2, num_clips=2)`, QASA-VQA's `UnifiedFrameSampler(8, 8, 2, 1)`)
    after training on 32-frame clips. Validation and scoring use the test geometry; SSL-VQA's
    pristine reference cubes keep the training one (the seed cut them as 32 contiguous frames).
    """

    clip_len: int = 32
    frame_interval: int = 2
    fragments_t: int = 1
    test_clips: int = 2
    test_clip_len: int | None = None
    test_fragments_t: int | None = None

    def __post_init__(self) -> None:
        for name in ("clip_len", "frame_interval", "fragments_t", "test_clips", "test_clip_len", "test_fragments_t"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ConfigError(f"sampling.{name} must be >= 1, got {value}")
        for length, parts, prefix in (
            (self.clip_len, self.fragments_t, ""),
            (self.eval_clip_len, self.eval_fragments_t, "test_"),
        ):
            if length % parts:
                raise ConfigError(
                    f"sampling.{prefix}clip_len {length} must be a multiple of sampling.{prefix}fragments_t {parts}"
                )

    @property
    def eval_clip_len(self) -> int:
        """Frames per test clip (validation and scoring)."""
        return int(self.test_clip_len or self.clip_len)

    @property
    def eval_fragments_t(self) -> int:
        """Temporal fragments per test clip."""
        return int(self.test_fragments_t or self.fragments_t)


@dataclass
class NiqeConfig:
    """SSL-VQA's auxiliary: a second Swin3D scoring exp(-tau * d), d the Gaussian-fit distance
    between the video's tokens and pristine reference tokens (seed_audit §4.5).

    `reference_dir`: a folder of pristine videos; None means the pristine (version 0) videos
    among the training items (the demo's scenes). `clips_per_reference` test-mode clips per
    reference video (the seeds: 4 cubes per video). `references_per_epoch` cubes are drawn each
    epoch and their tokens recomputed with the current auxiliary trunk every iteration (the
    seeds: 24 of 240); after training all cubes are fitted once and stored with the model.
    `tau_train` 0.01 / `tau_test` 0.1 are the seeds'. `eps` regularises the pooled covariance
    (the seeds: 1e-8 with a float32 inverse; vqa-core solves in float64).
    """

    reference_dir: str | None = None
    clips_per_reference: int = 4
    references_per_epoch: int = 24
    tau_train: float = 0.01
    tau_test: float = 0.1
    eps: float = 1e-8

    def __post_init__(self) -> None:
        if self.clips_per_reference < 1 or self.references_per_epoch < 1:
            raise ConfigError("niqe.clips_per_reference and niqe.references_per_epoch must be >= 1")
        if self.tau_train <= 0 or self.tau_test <= 0 or self.eps <= 0:
            raise ConfigError("niqe.tau_train, niqe.tau_test and niqe.eps must be > 0")


@dataclass
class ClipAuxConfig:
    """QASA-VQA's auxiliary: CLIP's image tower scoring antonym prompt pairs (seed_audit §5.1).

    `arch`: an open_clip model name (`"ViT-B-32"`, the paper) or `"custom"`, a small ViT built
    from `custom` (an open_clip model config dict: embed_dim, vision_cfg, text_cfg) with random
    init, for the tiny/small presets on CPU. `pretrained`: `"openai"` loads OpenAI's weights
    through open_clip; None is random init; `weights_path` is a local OpenAI `ViT-B-32.pt` (or
    a state dict in that layout) for offline machines. QuickGELU is used (the OpenAI weights
    were trained with it). Score = sum over pairs of sigmoid((cos+ - cos-) / tau) with the
    prompts `template.format(word)`; frames get CLIP's own preprocessing (squash-resize to the
    tower's image size, CLIP mean/std), not the seed's ImageNet statistics. The two CLIP views
    are all `clip_len` frames and every `view_stride`-th frame (the seeds: 32 and 8 frames).
    The text tower is frozen.
    """

    arch: str = "ViT-B-32"
    pretrained: str | None = "openai"
    weights_path: str | None = None
    custom: dict[str, Any] | None = None
    template: str = "a {} photo."
    pairs: list[list[str]] = field(default_factory=lambda: [["good", "bad"], ["high quality", "low quality"]])
    tau: float = 0.1
    view_stride: int = 4

    def __post_init__(self) -> None:
        if self.arch == "custom" and not self.custom:
            raise ConfigError("clip.arch 'custom' needs clip.custom, an open_clip model config dict")
        if self.arch == "custom" and self.pretrained:
            raise ConfigError("clip.arch 'custom' has no pretrained weights; set clip.pretrained: null")
        if self.tau <= 0 or self.view_stride < 1:
            raise ConfigError("clip.tau must be > 0 and clip.view_stride >= 1")
        if not self.pairs or any(len(p) != 2 for p in self.pairs):
            raise ConfigError(f"clip.pairs must be a list of [positive, negative] words, got {self.pairs!r}")
        if "{}" not in self.template:
            raise ConfigError(f"clip.template must contain '{{}}' for the word, got {self.template!r}")


@dataclass
class CombineConfig:
    """How the final score combines the primary score s_p and the auxiliary score s_a.

    - `"average"` (SSL-VQA's intent, a commented-out line in its test script): the mean of the
      two scores, each z-scored with its own statistics on the labelled training videos (the
      two raw scales are unrelated, so a raw average would let one model dominate);
    - `"product"` (QASA-VQA's seed): sigmoid(`primary_scale` * s_p) x s_a;
    - `"primary"` / `"auxiliary"`: one model alone.
    The combined raw score is mapped to MOS by an increasing linear fit on the labelled training videos.
    """

    mode: Literal["average", "product", "primary", "auxiliary"] = "average"
    primary_scale: float = 0.1

    def __post_init__(self) -> None:
        if self.mode not in ("average", "product", "primary", "auxiliary"):
            raise ConfigError(f"combine.mode {self.mode!r} must be average, product, primary or auxiliary")


@dataclass
class OptimConfig:
    """Learning rates per parameter group (one AdamW over groups = the seeds' two AdamWs).

    The seeds' LambdaLR divided the cosine progress by max_iter instead of max_iter - warm-up,
    so the rate never reached its floor; the shared Trainer's schedule (warm-up from
    `trainer.warmup`, then a cosine that ends at `trainer.min_lr_ratio` on the last step) is
    used instead, stepped per iteration. `*_lr` are absolute; the Trainer's `lr` is ignored.
    """

    head_lr: float = 1e-3
    backbone_lr: float = 1e-4
    aux_lr: float = 1e-4
    weight_decay: float = 0.05
    aux_weight_decay: float = 0.05

    def __post_init__(self) -> None:
        if min(self.head_lr, self.backbone_lr, self.aux_lr) <= 0:
            raise ConfigError("optim learning rates must be > 0")


#: the smallest batch whose PLCC losses have a gradient (z-scored, 2 scores are always -1 and +1)
MIN_PLCC_BATCH = 3


def _stvqrl(size: str) -> StVqrlConfig:
    return copy.deepcopy(StVqrlConfig.PRESETS[size])


@dataclass
class SslConfig:
    """Everything that defines an SSL-VQA run.

    `init`: `"stvqrl"` initialises both trunks from the ST-VQRL pretraining stage (built from
    `stvqrl`, or `stvqrl.init_from`, the authors' released checkpoint); `"random"` skips it.
    `init_from`: the authors' released SSL-VQA (or QASA-VQA) checkpoint `{primary, auxillary}`;
    loaded after the ST-VQRL init, so fine-tuning starts from the published model.
    """

    PRESETS: ClassVar[dict[str, SslConfig]]

    stvqrl: StVqrlConfig = field(default_factory=lambda: _stvqrl("full"))
    init: Literal["stvqrl", "random"] = "stvqrl"
    init_from: str | None = None
    head_hidden: int = 64
    head_dropout: float = 0.5
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    semi: SemiConfig = field(default_factory=SemiConfig)
    niqe: NiqeConfig = field(default_factory=NiqeConfig)
    combine: CombineConfig = field(default_factory=CombineConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    trainer: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=31, batch_size=16, lr=1e-4, weight_decay=0.05, warmup=0.08, drop_last=True
        )
    )

    def __post_init__(self) -> None:
        if self.init not in ("stvqrl", "random"):
            raise ConfigError(f"init {self.init!r} must be 'stvqrl' or 'random'")
        if self.init_from and self.stvqrl.clip.input_norm == "mscn":
            raise ConfigError(
                "init_from loads a released model trained on RGB fragments, but stvqrl.clip.input_norm=mscn "
                "feeds it MSCN coefficients; set stvqrl.clip.input_norm=fastvqa"
            )
        if self.trainer.batch_size < MIN_PLCC_BATCH:
            raise ConfigError(
                f"trainer.batch_size must be >= {MIN_PLCC_BATCH}, got {self.trainer.batch_size}: every loss term is a "
                "PLCC over the batch, and the correlation of 2 scores is +1 or -1 whatever they are, so a batch of 2 "
                "has no gradient"
            )


@dataclass
class QasaConfig(SslConfig):
    """Everything that defines a QASA-VQA run (the SSL-VQA fields plus the CLIP auxiliary)."""

    PRESETS: ClassVar[dict[str, QasaConfig]]

    clip: ClipAuxConfig = field(default_factory=ClipAuxConfig)
    combine: CombineConfig = field(default_factory=lambda: CombineConfig(mode="product"))
    sampling: SamplingConfig = field(default_factory=lambda: SamplingConfig(fragments_t=8))
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(aux_lr=5e-6, aux_weight_decay=1e-3))
    trainer: TrainConfig = field(
        default_factory=lambda: TrainConfig(
            epochs=41, batch_size=6, lr=1e-4, weight_decay=0.05, warmup=0.06, drop_last=True
        )
    )


# A tiny open_clip ViT (about 2M parameters, most of them the 49k-token embedding): tests only.
TINY_CLIP = {
    "embed_dim": 32,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "patch_size": 8, "head_width": 16},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}
# A small open_clip ViT for the CPU demo benchmark (random init: no small pretrained CLIP exists).
SMALL_CLIP = {
    "embed_dim": 128,
    "quick_gelu": True,
    "vision_cfg": {"image_size": 64, "layers": 4, "width": 128, "patch_size": 8, "head_width": 32},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 64, "heads": 2, "layers": 2},
}


def _tiny_trainer() -> TrainConfig:
    # batch 4: until session 8 it was 2, whose PLCC losses have no gradient (the tiny models never trained)
    return TrainConfig(epochs=2, batch_size=4, lr=1e-4, weight_decay=0.05, drop_last=True, progress=False)


def _small_trainer() -> TrainConfig:
    return TrainConfig(epochs=6, batch_size=4, lr=1e-4, weight_decay=0.05, warmup=0.08, drop_last=True)


def _primary_combine() -> CombineConfig:
    # The demo's auxiliaries carry almost no quality offline, so `small` and `tiny` score with the
    # primary model alone; both models still train together (consistency, transfer) as in the papers. On
    # demo split 0 (117 test videos; sharpness 0.639): SSL-VQA primary 0.655, its NIQE auxiliary
    # 0.059, their average 0.473; QASA-VQA primary 0.701, its random-init CLIP auxiliary 0.247,
    # their product 0.389 (benchmarks/README.md, "Offline trunks"). `full` keeps each paper's
    # combination; `--set ssl:combine.mode=average` (qasa: product) restores it here.
    return CombineConfig(mode="primary")


def _tiny_stvqrl() -> StVqrlConfig:
    # The tiny trunk starts from random init (no stage) and reads MSCN coefficients, as `small`
    # does: on RGB fragments it learned content, not quality (2 CI splits of the demo, primary
    # alone: SRCC 0.15 / -0.14 after 1 epoch, 0.19 / -0.11 after 6; on MSCN 0.65 / 0.62 after 2).
    cfg = _stvqrl("tiny")
    cfg.clip = replace(cfg.clip, input_norm="mscn")
    return cfg


def _tiny_optim(**changes: Any) -> OptimConfig:
    # a random trunk trained for 2 epochs: the backbone at the head's rate (1e-4 left it where it started)
    return OptimConfig(head_lr=1e-3, backbone_lr=1e-3, **changes)


SslConfig.PRESETS = {
    # Seconds on CPU: tests (random init; the ST-VQRL stage is skipped).
    "tiny": SslConfig(
        stvqrl=_tiny_stvqrl(),
        init="random",
        head_hidden=16,
        sampling=SamplingConfig(clip_len=4, frame_interval=2, test_clips=1),
        niqe=NiqeConfig(clips_per_reference=1, references_per_epoch=2, eps=1e-4),
        combine=_primary_combine(),
        optim=_tiny_optim(),
        trainer=_tiny_trainer(),
    ),
    # The demo benchmark on a 2-core CPU: st-vqrl's small trunk pretrained by its small stage.
    "small": SslConfig(
        stvqrl=_stvqrl("small"),
        head_hidden=32,
        sampling=SamplingConfig(clip_len=8, frame_interval=2, test_clips=1),
        niqe=NiqeConfig(clips_per_reference=1, references_per_epoch=4, eps=1e-4),
        combine=_primary_combine(),
        optim=OptimConfig(head_lr=1e-3, backbone_lr=2e-4, aux_lr=2e-4),
        trainer=_small_trainer(),
    ),
    # the papers: 500 labels in all, validation included (issue #14 point 4); tests on 2 x 64 frames
    # in 8 temporal fragments of 8 (point 6)
    "full": SslConfig(
        sampling=SamplingConfig(test_clips=2, test_clip_len=64, test_fragments_t=8),
        semi=SemiConfig(labelled=500, val_labelled=50),
    ),
}

QasaConfig.PRESETS = {
    "tiny": QasaConfig(
        stvqrl=_tiny_stvqrl(),
        init="random",
        head_hidden=16,
        # one 4-frame segment: 2 segments of 2 frames leave each segment one temporal patch of the
        # 2x4x4 embedding and no motion inside it (2 CI splits, 4 epochs: SRCC 0.36 / 0.32; one
        # segment, 2 epochs: 0.57 / 0.78). `small` and `full` keep QASA's temporal fragments.
        sampling=SamplingConfig(clip_len=4, frame_interval=2, fragments_t=1, test_clips=1),
        clip=ClipAuxConfig(arch="custom", pretrained=None, custom=copy.deepcopy(TINY_CLIP), view_stride=2),
        combine=_primary_combine(),
        optim=_tiny_optim(aux_lr=1e-4, aux_weight_decay=1e-3),
        trainer=_tiny_trainer(),
    ),
    "small": QasaConfig(
        stvqrl=_stvqrl("small"),
        head_hidden=32,
        sampling=SamplingConfig(clip_len=8, frame_interval=2, fragments_t=4, test_clips=1),
        clip=ClipAuxConfig(arch="custom", pretrained=None, custom=copy.deepcopy(SMALL_CLIP), view_stride=2),
        combine=_primary_combine(),
        optim=OptimConfig(head_lr=1e-3, backbone_lr=2e-4, aux_lr=1e-4, aux_weight_decay=1e-3),
        trainer=_small_trainer(),
    ),
    # 500 labels in all, validation included; tests on 1 x 64 frames in 8 fragments of 8
    "full": QasaConfig(
        sampling=SamplingConfig(fragments_t=8, test_clips=1, test_clip_len=64, test_fragments_t=8),
        semi=SemiConfig(labelled=500, val_labelled=50),
    ),
}


def with_trainer(cfg: Any, **changes: Any) -> Any:
    """A copy of `cfg` with trainer fields changed (used by the method for device/progress)."""
    return replace(cfg, trainer=replace(cfg.trainer, **changes))
