"""ST-VQRL self-supervised pretraining through vqa-core's Trainer (DDP, accumulation, exact resume).

    from st_vqrl import StVqrlConfig, pretrain_stvqrl, load_pretrained
    path = pretrain_stvqrl("small", out_dir="runs/stvqrl")      # demo-pretrain scenes by default
    backbone, projection = load_pretrained(path)

Artifact: `<out_dir>/stvqrl.pt` = {format, config, backbone, projection} (weights_only-safe);
the Trainer's `last.pt` under `<out_dir>/train/` makes an interrupted run resumable.
Differences from the seed: the projection head is optimised and saved (`train_projection:
false` restores the seed's fixed random projection), scenes are visited once per epoch
instead of drawn with replacement, no `set_detect_anomaly`, one warmup+cosine schedule, and
`pretrain.val_scenes` held-out scenes measure InfoNCE / version accuracy on unseen content
(`history.jsonl`: `train_*` and `val_*`; the best held-out accuracy selects the weights).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from st_vqrl.config import ClipConfig, StVqrlConfig
from st_vqrl.data import PretrainDataset, Scene, scenes_from_folder, scenes_from_items
from st_vqrl.model import FragmentSwin3d, ProjectionHead, build_backbone
from st_vqrl.objective import stvqrl_loss
from st_vqrl.released import load_released_checkpoint
from vqa_core.config import config_to_dict, load_config
from vqa_core.distort import NUM_VERSIONS
from vqa_core.errors import ConfigError, VqaError
from vqa_core.train import Trainer, TrainTask, save_checkpoint
from vqa_core.transforms import fragment_contrast_normalize, normalize

__all__ = [
    "ARTIFACT",
    "StVqrlNet",
    "build_net",
    "check_pretrain_source",
    "demo_pretrain_scenes",
    "demo_scenes",
    "load_pretrained",
    "pretrain_scenes",
    "pretrain_stvqrl",
    "split_scenes",
]

log = logging.getLogger(__name__)

ARTIFACT = "stvqrl.pt"
FORMAT = "vqa-zoo/st-vqrl-pretrained"


class StVqrlNet(nn.Module):
    """Backbone + projection head: fragment clips (M, 3, T, S, S) -> projected tokens (M, N, D)."""

    def __init__(self, backbone: FragmentSwin3d, projection: ProjectionHead) -> None:
        super().__init__()
        self.backbone = backbone
        self.projection = projection

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        return self.projection(self.backbone(clips))


def build_net(config: StVqrlConfig, pretrained: bool | None = None) -> StVqrlNet:
    """A fresh network for `config`; `init_from` (the authors' release) is loaded into the backbone."""
    b = config.backbone
    backbone = build_backbone(
        b.size,
        pretrained=b.pretrained if pretrained is None else pretrained,
        frag_bias=b.frag_bias,
        frag_gate=b.frag_gate,
        fragments=(config.clip.grid, config.clip.grid),
        drop_path=b.drop_path,
        weights_path=b.weights_path,
    )
    if config.init_from and pretrained is not False:
        load_released_checkpoint(config.init_from, backbone)
    return StVqrlNet(backbone, ProjectionHead(backbone.out_channels, config.pretrain.proj_dim))


def to_model_input(clips: torch.Tensor, clip: ClipConfig) -> torch.Tensor:
    """uint8 (..., 3, T, S, S) fragment mosaics -> the trunk's float input (`clip.input_norm`):
    FAST-VQA's ImageNet statistics on 0-255, or each patch's MSCN coefficients."""
    if clip.input_norm == "mscn":
        return fragment_contrast_normalize(clips, clip.grid, clip.patch)
    return normalize(clips, "fastvqa", channel_dim=-4)


class _PretrainTask(TrainTask):
    def __init__(self, config: StVqrlConfig) -> None:
        self.config = config

    def build_model(self) -> nn.Module:
        net = build_net(self.config)
        if not self.config.pretrain.train_projection:
            net.projection.requires_grad_(False)
        return net

    def param_groups(self, model: nn.Module):
        return [p for p in model.parameters() if p.requires_grad]

    def _tokens(self, model: nn.Module, clips: torch.Tensor) -> torch.Tensor:
        b, v = clips.shape[:2]  # (B, V, 2, 3, T, S, S) uint8
        z = model(to_model_input(clips.flatten(0, 2), self.config.clip))  # (B*V*2, N, D)
        return z.reshape(b, v, 2, *z.shape[1:])

    def training_step(self, model: nn.Module, batch: Any):
        p = self.config.pretrain
        loss, logs = stvqrl_loss(self._tokens(model, batch["clips"]), tau=p.tau, eps=p.eps, shrinkage=p.shrinkage)
        return loss, {"infonce": float(loss.detach()), **logs}

    def validation_step(self, model: nn.Module, batch: Any) -> dict[str, torch.Tensor]:
        """Per held-out item: its InfoNCE, version accuracy and mean positive / negative distance."""
        p = self.config.pretrain
        z = self._tokens(model, batch["clips"])
        out: dict[str, list[torch.Tensor]] = {"infonce": [], "acc": [], "d_pos": [], "d_neg": []}
        for item in z:
            loss, logs = stvqrl_loss(item[None], tau=p.tau, eps=p.eps, shrinkage=p.shrinkage)
            out["infonce"].append(loss.detach().double().cpu())
            for key in ("acc", "d_pos", "d_neg"):
                out[key].append(torch.tensor(logs[key], dtype=torch.float64))
        return {k: torch.stack(v) for k, v in out.items()}

    def validation_metrics(self, outputs) -> dict[str, float]:
        return {k: float(np.mean(outputs[k])) for k in ("infonce", "acc", "d_pos", "d_neg")}


def demo_scenes(k: int, root: str | Path | None = None, progress: bool = True) -> list[Scene]:
    """The embedded demo's *train* scenes (built on first use): never its val or test scenes."""
    from vqa_core.datasets import read_manifest_csv
    from vqa_core.demo import ensure_demo

    folder = ensure_demo(root, progress=progress)
    items = [it for it in read_manifest_csv(folder / "manifest.csv") if it.split == "train"]
    return scenes_from_items(items, k, source=f"demo ({folder})")


def demo_pretrain_scenes(k: int, root: str | Path | None = None, progress: bool = True) -> list[Scene]:
    """`demo-pretrain` (built on first use): scenes whose content the `demo` dataset never shows."""
    from vqa_core.demo.pretrain_set import ensure_demo_pretrain

    folder = ensure_demo_pretrain(root, progress=progress)
    return scenes_from_folder(folder / "videos", k)


def check_pretrain_source(config: StVqrlConfig) -> None:
    """Fail before any work when pretraining is on but has nothing to learn from.

    `pretrain.dataset: null` (the `full` preset) needs a released checkpoint instead; the error
    names both ways out, so a `full` run never falls back to the 8-scene demo set.
    """
    p = config.pretrain
    if p.enabled and p.dataset is None and not config.init_from:
        raise ConfigError(
            "st-vqrl: pretraining needs a real synthetic set or released weights: set pretrain.dataset to a "
            f"folder written by `vqa st-vqrl make-synthetic` (at least {max(p.min_scenes, 1)} scenes x "
            f"{NUM_VERSIONS - 1} distorted versions) or init_from to the authors' released ST-VQRL checkpoint "
            "(or pretrain.enabled=false for a random trunk)"
        )


def _enough_scenes(scenes: list[Scene], min_scenes: int, source: str) -> list[Scene]:
    complete = [s for s in scenes if len(s.distorted) >= NUM_VERSIONS - 1]
    if len(complete) < min_scenes:
        raise ConfigError(
            f"st-vqrl: {source} holds {len(complete)} scene(s) with all {NUM_VERSIONS - 1} distorted versions, "
            f"pretrain.min_scenes asks for {min_scenes}; write more with `vqa st-vqrl make-synthetic`, load "
            "released weights with init_from, or lower pretrain.min_scenes"
        )
    return scenes


def pretrain_scenes(config: StVqrlConfig, progress: bool = True) -> list[Scene]:
    """The scenes named by `pretrain.dataset`: "demo-pretrain", "demo" or a make-synthetic folder."""
    check_pretrain_source(config)
    name = config.pretrain.dataset
    assert name is not None  # check_pretrain_source: only init_from runs go without a dataset
    min_scenes = config.pretrain.min_scenes
    if name == "demo-pretrain":
        return _enough_scenes(demo_pretrain_scenes(config.pretrain.k, progress=progress), min_scenes, name)
    if name == "demo":
        log.warning(
            "st-vqrl: pretraining on the demo's own train scenes; benchmark splits that put these scenes "
            "in test have seen their content (use pretrain.dataset=demo-pretrain for a content-disjoint set)"
        )
        return _enough_scenes(demo_scenes(config.pretrain.k, progress=progress), min_scenes, name)
    return _enough_scenes(scenes_from_folder(name, config.pretrain.k), min_scenes, name)


def split_scenes(scenes: Sequence[Scene], val_scenes: int, seed: int = 0) -> tuple[list[Scene], list[Scene]]:
    """(train, held-out): `val_scenes` scenes drawn with `seed`; none held out if fewer than 2 would train."""
    scenes = sorted(scenes, key=lambda s: s.scene_id)
    if val_scenes <= 0:
        return scenes, []
    if len(scenes) - val_scenes < 2:
        log.warning(
            "st-vqrl: %d pretraining scene(s) cannot spare %d for a held-out check; training on all of them",
            len(scenes), val_scenes,
        )
        return scenes, []
    order = np.random.default_rng(seed).permutation(len(scenes))
    held = {int(i) for i in order[:val_scenes]}
    return [s for i, s in enumerate(scenes) if i not in held], [s for i, s in enumerate(scenes) if i in held]


def pretrain_stvqrl(
    config: StVqrlConfig | str | Path | dict | None,
    out_dir: str | Path,
    scenes: Sequence[Scene] | None = None,
    *,
    val_scenes: Sequence[Scene] | None = None,
    device: str | torch.device | None = None,
    resume: bool = True,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
) -> Path:
    """Run (or resume) ST-VQRL pretraining into `out_dir`; returns the artifact path.

    Scenes: `scenes` (and optional `val_scenes`) if given, else `pretrain.dataset` with
    `pretrain.val_scenes` of them held out. Under `torchrun` every rank calls this; rank 0
    writes the artifact. `callbacks` go to the Trainer (`on_step_end(trainer, step, logs)`,
    `on_epoch_end(trainer, record)`).
    """
    cfg = load_config(StVqrlConfig, config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if scenes is None:
        scenes, held = split_scenes(pretrain_scenes(cfg, progress), cfg.pretrain.val_scenes, cfg.seed)
    else:
        scenes, held = list(scenes), list(val_scenes or [])
    p = cfg.pretrain
    per_epoch = None if p.scenes_per_epoch is None else (
        max(1, len(scenes) // 10) if p.scenes_per_epoch == "seed" else int(p.scenes_per_epoch)
    )
    dataset = PretrainDataset(
        scenes, cfg.clip, p.k, seed=cfg.seed, windows=p.clip_windows, scenes_per_epoch=per_epoch
    )
    val_dataset = (
        PretrainDataset(held, cfg.clip, p.k, seed=cfg.seed + 1, draws=p.val_draws, windows=p.clip_windows)
        if held
        else None
    )
    trainer_cfg = cfg.pretrain.trainer
    changes: dict[str, Any] = {"progress": trainer_cfg.progress and progress}
    if val_dataset is not None:
        changes.update(select_metric="acc", mode="max")
    if device is not None:
        changes["device"] = str(device)
    trainer = Trainer(
        _PretrainTask(cfg), replace(trainer_cfg, **changes), out_dir / "train", resume=resume, callbacks=callbacks
    )
    result = trainer.fit(dataset, val_dataset)
    net = trainer.model
    path = out_dir / ARTIFACT
    if trainer.dist.is_main:
        save_checkpoint(
            {
                "format": FORMAT,
                "config": config_to_dict(cfg),
                "backbone": {k: t.detach().cpu() for k, t in net.backbone.state_dict().items()},
                "projection": {k: t.detach().cpu() for k, t in net.projection.state_dict().items()},
                "global_step": int(result.global_step),
            },
            path,
        )
    from vqa_core.train import barrier

    barrier()
    return path


def load_pretrained(path: str | Path, device: str | torch.device = "cpu") -> tuple[FragmentSwin3d, ProjectionHead]:
    """Backbone and projection from a `pretrain_stvqrl` artifact (the config is stored in it)."""
    path = Path(path)
    if not path.is_file():
        raise VqaError(f"ST-VQRL pretrained artifact {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise VqaError(f"cannot read ST-VQRL artifact {path}: {err}") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise VqaError(f"{path} is not an ST-VQRL pretraining artifact (no '{FORMAT}' header)")
    cfg = load_config(StVqrlConfig, ckpt["config"])
    cfg = replace(cfg, init_from=None)
    net = build_net(cfg, pretrained=False)
    net.backbone.load_state_dict(ckpt["backbone"])
    net.projection.load_state_dict(ckpt["projection"])
    return net.backbone.to(device).eval(), net.projection.to(device).eval()


