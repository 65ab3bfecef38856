"""ST-VQRL configuration: backbone, clip sampling, self-supervised pretraining and evaluation.

Presets `tiny` / `small` / `full` are data (`StVqrlConfig.PRESETS`), loadable and overridable
through `vqa_core.config.load_config(StVqrlConfig, "small", overrides)`; a YAML file may start from
one (`preset: small`) and list only what it changes (e.g. `benchmarks/configs/stvqrl-small-no-pretrain.yaml`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from vqa_core.errors import ConfigError
from vqa_core.train import TrainConfig

__all__ = [
    "BACKBONE_SIZES",
    "BackboneConfig",
    "ClipConfig",
    "EvalConfig",
    "PretrainConfig",
    "StVqrlConfig",
]

# Architecture of each size: (embed_dim, depths, heads, window (T, H, W)). `full` is torchvision's
# swin3d_t (= FAST-VQA's swin_tiny_grpb); the smaller ones keep the family (patch 2x4x4, four
# stages, patch merging) with fewer channels/blocks so tests and CPU demos run in seconds.
BACKBONE_SIZES: dict[str, dict[str, object]] = {
    "full": {"embed_dim": 96, "depths": (2, 2, 6, 2), "num_heads": (3, 6, 12, 24), "window": (8, 7, 7)},
    "small": {"embed_dim": 32, "depths": (1, 1, 3, 1), "num_heads": (1, 2, 4, 8), "window": (4, 7, 7)},
    "tiny": {"embed_dim": 16, "depths": (1, 1, 1, 1), "num_heads": (1, 2, 4, 8), "window": (2, 4, 4)},
}


@dataclass
class BackboneConfig:
    """The Video Swin trunk.

    `pretrained`: start from torchvision's Kinetics-400 `Swin3D_T_Weights.KINETICS400_V1`
    (size `full` only; `weights_path` points to a local copy of that file for offline machines).
    `frag_bias`: FAST-VQA's gated relative position bias in stages 1-3. `frag_gate`:
    `"same_fragment"` uses the fragment table for query/key pairs inside one fragment and the
    ordinary table otherwise (the design as described); `"fastvqa"` reproduces FAST-VQA's code,
    which multiplies the ordinary bias by the L1 distance between the two fragments' grid
    positions (use it with the authors' released checkpoints, which were trained that way).
    """

    size: Literal["tiny", "small", "full"] = "full"
    pretrained: bool = False
    weights_path: str | None = None
    frag_bias: bool = True
    frag_gate: Literal["same_fragment", "fastvqa"] = "same_fragment"
    drop_path: float = 0.1

    def __post_init__(self) -> None:
        if self.size not in BACKBONE_SIZES:
            raise ConfigError(f"backbone.size {self.size!r} must be one of {sorted(BACKBONE_SIZES)}")
        if self.frag_gate not in ("same_fragment", "fastvqa"):
            raise ConfigError(f"backbone.frag_gate {self.frag_gate!r} must be 'same_fragment' or 'fastvqa'")
        if self.pretrained and self.size != "full":
            raise ConfigError(
                f"backbone.pretrained needs size 'full' (Kinetics-400 weights exist for Swin3D-T only), "
                f"got size {self.size!r}"
            )


@dataclass
class ClipConfig:
    """How a clip is cut from a video: temporal run, then a grid of spatial fragments.

    The fragment mosaic is `grid * patch` pixels square; patches stay put for `aligned` frames.
    `input_norm`: what the trunk reads. `"fastvqa"`: RGB standardised with FAST-VQA's ImageNet
    statistics (the papers; Kinetics-400 and released weights expect it). `"mscn"`: each patch's
    MSCN coefficients (`vqa_core.transforms.fragment_contrast_normalize`), for trunks trained
    from random init: on RGB the offline Swin3D learned content (benchmarks/README.md).
    """

    clip_len: int = 32
    frame_interval: int = 2
    grid: int = 7
    patch: int = 32
    aligned: int = 32
    input_norm: Literal["fastvqa", "mscn"] = "fastvqa"

    @property
    def size(self) -> int:
        return self.grid * self.patch

    def __post_init__(self) -> None:
        for name in ("clip_len", "frame_interval", "grid", "patch", "aligned"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"clip.{name} must be >= 1, got {getattr(self, name)}")
        if self.input_norm not in ("fastvqa", "mscn"):
            raise ConfigError(f"clip.input_norm {self.input_norm!r} must be 'fastvqa' or 'mscn'")


@dataclass
class PretrainConfig:
    """ST-VQRL self-supervised pretraining (seed_audit §4.3).

    Per scene, `k` of the 12 distorted versions plus the pristine; two clips from different
    temporal halves; InfoNCE over versions with similarity exp(-tau * d), d the Gaussian-fit
    distance between projected token sets. `train_projection: false` reproduces the seed,
    which never optimised its projection head (it stayed a fixed random projection).

    `dataset`: `"demo-pretrain"` (8 scenes x 13 versions that the `demo` dataset never shows,
    built on first use: no content leak into any demo split), `"demo"` (the demo's own train
    scenes: its val/test scenes are never used, but bench's random re-splits move demo scenes
    into test, so this leaks content there), a folder written by `vqa st-vqrl make-synthetic`,
    or `None`: no pretraining set is named, which is only valid with a released checkpoint
    (`init_from`); `full` is `None` because the paper's objective needs a real synthetic set
    (LSVQ-like pristine videos x 12 versions), and 8 demo scenes would pass for it silently.
    `min_scenes`: the fewest usable scenes (pristine + all 12 distorted versions) the set must
    hold (`full`: 200, the paper's scale); 0 accepts any set with `k` versions per scene.
    `clip_windows`: where the two clips of an item come from. `"disjoint"` cuts the video
    into two halves and puts each clip wholly inside its own half, so the two views never
    share a frame (a video too short for that is an error naming the sizes); `"seed"` is the
    seed's `SampleFrames(num_clips=2)`, whose clips may overlap and on a video no longer than
    one clip both start at frame 0 (identical views).
    `scenes_per_epoch`: scenes visited per epoch (a fresh seeded draw each epoch); `None`
    visits every scene once, `"seed"` draws `len(scenes) // 10` as the seed does (at least 1).
    `val_scenes`: scenes of the dataset held out from training to measure InfoNCE and version
    accuracy on unseen content every epoch (the weights of the best held-out accuracy are kept);
    0 trains on every scene. `val_draws`: held-out items per held-out scene.

    The seed's objective is `tau` 0.1 (multiplying d), `eps` 1e-4, `shrinkage` 0, `proj_dim`
    64 on 784 tokens per clip. `shrinkage` in [0, 1] pulls each token covariance toward a
    scaled identity (see `st_vqrl.objective`); it is needed when a clip has fewer tokens than
    `proj_dim` dimensions (every CPU preset), where the seed's distance is degenerate.
    """

    enabled: bool = True
    dataset: str | None = "demo-pretrain"
    min_scenes: int = 0
    clip_windows: Literal["disjoint", "seed"] = "disjoint"
    scenes_per_epoch: int | Literal["seed"] | None = None
    k: int = 9
    tau: float = 0.1
    eps: float = 1e-4
    shrinkage: float = 0.0
    proj_dim: int = 64
    train_projection: bool = True
    val_scenes: int = 0
    val_draws: int = 4
    trainer: TrainConfig = field(
        default_factory=lambda: TrainConfig(epochs=31, batch_size=6, lr=1e-4, weight_decay=0.05, min_lr_ratio=0.1)
    )

    def __post_init__(self) -> None:
        if not 1 <= self.k <= 12:
            raise ConfigError(f"pretrain.k must be in 1..12 (distorted versions per scene), got {self.k}")
        if self.tau <= 0 or self.eps <= 0 or self.proj_dim < 1:
            raise ConfigError("pretrain.tau, pretrain.eps and pretrain.proj_dim must be > 0")
        if not 0.0 <= self.shrinkage <= 1.0:
            raise ConfigError(f"pretrain.shrinkage must be in [0, 1], got {self.shrinkage}")
        if self.clip_windows not in ("disjoint", "seed"):
            raise ConfigError(f"pretrain.clip_windows {self.clip_windows!r} must be 'disjoint' or 'seed'")
        if self.min_scenes < 0:
            raise ConfigError(f"pretrain.min_scenes must be >= 0, got {self.min_scenes}")
        if self.scenes_per_epoch is not None and self.scenes_per_epoch != "seed" and int(self.scenes_per_epoch) < 1:
            raise ConfigError(
                f"pretrain.scenes_per_epoch must be >= 1, 'seed' (len(scenes)//10) or null (every scene), "
                f"got {self.scenes_per_epoch!r}"
            )
        if self.val_scenes < 0 or self.val_draws < 1:
            raise ConfigError(
                f"pretrain.val_scenes must be >= 0 and pretrain.val_draws >= 1, got {self.val_scenes}, {self.val_draws}"
            )


@dataclass
class EvalConfig:
    """Evaluation of the frozen representation.

    `score`: what `predict` returns, `"probe"` (ridge regression on mean-pooled tokens, alpha
    chosen on the validation part) or `"zero_shot"` (exp(-tau * d) against pristine reference
    tokens, mapped to MOS by a logistic fitted on the train part, which keeps the ranking).
    `reference_dir`: a folder of pristine videos; empty means the version-0 videos among the
    training items (the demo's pristine train scenes). `num_clips`: test clips per video.
    `zero_shot_space`: `"projection"` (the 64-D space ST-VQRL's objective trains the distance
    in) or `"backbone"` (raw tokens, as SSL-VQA's auxiliary score uses them).
    `pool`: what the probe reads per video. `"mean"`: the mean backbone token (the seed's
    probe). `"mean_std"`: mean and standard deviation over tokens of both the backbone tokens
    and the projected tokens; the mean of a few tokens is mostly content, while the spread
    of the tokens and the projection the objective shaped carry the distortion.
    `"stages"`: `"mean_std"` plus the mean and std over positions of every backbone stage's
    output (averaged over clips): early stages keep the fine scale where blur, blocking and
    noise live, which the 1/32-scale tokens have mostly averaged away.
    """

    score: Literal["probe", "zero_shot"] = "probe"
    pool: Literal["mean", "mean_std", "stages"] = "mean"
    zero_shot_space: Literal["projection", "backbone"] = "projection"
    tau: float = 0.1
    eps: float = 1e-4
    alphas: tuple[float, ...] = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0)
    reference_dir: str | None = None
    num_clips: int = 1
    batch_size: int = 2
    cache_features: bool = True

    def __post_init__(self) -> None:
        if self.score not in ("probe", "zero_shot"):
            raise ConfigError(f"eval.score {self.score!r} must be 'probe' or 'zero_shot'")
        if not self.alphas or min(self.alphas) <= 0:
            raise ConfigError("eval.alphas must be a non-empty list of positive ridge strengths")
        if self.pool not in ("mean", "mean_std", "stages"):
            raise ConfigError(f"eval.pool {self.pool!r} must be 'mean', 'mean_std' or 'stages'")
        if self.zero_shot_space not in ("projection", "backbone"):
            raise ConfigError(f"eval.zero_shot_space {self.zero_shot_space!r} must be 'projection' or 'backbone'")
        if self.num_clips < 1 or self.batch_size < 1:
            raise ConfigError("eval.num_clips and eval.batch_size must be >= 1")


@dataclass
class StVqrlConfig:
    """Everything that defines an ST-VQRL run; `init_from` loads the authors' released checkpoint."""

    PRESETS: ClassVar[dict[str, StVqrlConfig]]

    backbone: BackboneConfig = field(default_factory=BackboneConfig)
    clip: ClipConfig = field(default_factory=ClipConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)
    init_from: str | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        if self.clip.input_norm == "mscn" and (self.backbone.pretrained or self.init_from):
            raise ConfigError(
                "clip.input_norm=mscn feeds the trunk MSCN coefficients, not the RGB that Kinetics-400 or "
                "released weights expect; set backbone.pretrained=false and no init_from, or clip.input_norm=fastvqa"
            )


# The CPU presets do not use the seed's objective constants: a tiny clip has 8 tokens and a
# small one 64, against the seed's 784 in 64 dimensions, so the seed's covariance is singular
# (tiny) or barely full rank (small), its distance is null-space noise amplified by
# 1/sqrt(eps), and tau = 0.1 times d ~ 3-5 leaves logits flat (measured: InfoNCE at chance,
# train acc ~0.2 after 30 steps). They fit the Gaussians in few dimensions (proj_dim well
# below the token count), shrink the covariances 10% toward a scaled identity and use
# tau = 1. Both pretrain on `demo-pretrain` with 2 of its 8 scenes held out (val_* in
# history.jsonl). `full` keeps the seed's values.
StVqrlConfig.PRESETS = {
    # Quick benchmark runs: 1-2 min of CPU pretraining (20 epochs x 3 steps); tests shorten it to 1 epoch.
    "tiny": StVqrlConfig(
        backbone=BackboneConfig(size="tiny", drop_path=0.0),
        clip=ClipConfig(clip_len=4, frame_interval=2, grid=7, patch=8, aligned=4),
        pretrain=PretrainConfig(
            k=3, tau=1.0, shrinkage=0.1, proj_dim=8, val_scenes=2,
            trainer=TrainConfig(epochs=20, batch_size=2, lr=5e-4, weight_decay=0.05, progress=False),
        ),
        # the mean of 8 tokens is content: on 2 demo splits the mean-token probe scored SRCC -0.05,
        # mean+std of tokens and projections 0.17, plus per-stage statistics 0.41 (random trunk: 0.23)
        eval=EvalConfig(pool="stages"),
    ),
    # About 10 min of 2-core CPU pretraining (40 epochs x 3 steps of 2 scenes), then the demo: 16-frame
    # clips of 7x7 fragments of 16 px (64 tokens), each patch read as MSCN coefficients: the random-init
    # trunk trained on RGB fragments scored a constant (ssl's small primary, SRCC 0.09 on a demo
    # split), on per-patch MSCN 0.79 (benchmarks/README.md, "Offline trunks"). SSL-VQA and QASA-VQA's small
    # presets take this trunk and input.
    "small": StVqrlConfig(
        backbone=BackboneConfig(size="small", drop_path=0.05),
        clip=ClipConfig(clip_len=8, frame_interval=2, grid=7, patch=16, aligned=8, input_norm="mscn"),
        pretrain=PretrainConfig(
            k=5, tau=1.0, shrinkage=0.1, proj_dim=16, val_scenes=2,
            trainer=TrainConfig(epochs=40, batch_size=2, lr=5e-4, weight_decay=0.05, min_lr_ratio=0.1),
        ),
        eval=EvalConfig(num_clips=2),  # 2 x 64 tokens: enough for a 64-D Gaussian fit
    ),
    # The paper: Swin3D-T on 32x2 clips of 7x7x32 fragments, k = 9, bs 6, 31 epochs, len(refs)//10
    # scenes per epoch, on a real synthetic set (pretrain.dataset = a make-synthetic folder of 200+
    # scenes x 12 versions) or the authors' release (init_from): neither is given here, so a `full`
    # run must name one (`st_vqrl.pretrain.check_pretrain_source` says so before any work).
    "full": StVqrlConfig(pretrain=PretrainConfig(dataset=None, min_scenes=200, scenes_per_epoch="seed")),
}
