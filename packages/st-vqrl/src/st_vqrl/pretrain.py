"""ST-VQRL self-supervised pretraining through vqa-core's Trainer (DDP, accumulation, exact resume).

    from st_vqrl import StVqrlConfig, pretrain_stvqrl, load_pretrained
    path = pretrain_stvqrl("small", out_dir="runs/stvqrl")      # demo train scenes by default
    backbone, projection = load_pretrained(path)

Artifact: `<out_dir>/stvqrl.pt` = {format, config, backbone, projection} (weights_only-safe);
the Trainer's `last.pt` under `<out_dir>/train/` makes an interrupted run resumable.
Differences from the seed: the projection head is optimised and saved (`train_projection:
false` restores the seed's fixed random projection), scenes are visited once per epoch
instead of drawn with replacement, no `set_detect_anomaly`, one warmup+cosine schedule.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from st_vqrl.config import StVqrlConfig
from st_vqrl.data import PretrainDataset, Scene, scenes_from_folder, scenes_from_items
from st_vqrl.model import FragmentSwin3d, ProjectionHead, build_backbone
from st_vqrl.objective import stvqrl_loss
from st_vqrl.released import load_released_checkpoint
from vqa_core.config import config_to_dict, load_config
from vqa_core.errors import VqaError
from vqa_core.train import Trainer, TrainTask, save_checkpoint
from vqa_core.transforms import normalize

__all__ = [
    "ARTIFACT",
    "StVqrlNet",
    "build_net",
    "demo_scenes",
    "load_pretrained",
    "pretrain_scenes",
    "pretrain_stvqrl",
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


def to_model_input(clips: torch.Tensor) -> torch.Tensor:
    """uint8 (..., 3, T, S, S) -> float normalised (FAST-VQA's ImageNet statistics on 0-255)."""
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

    def training_step(self, model: nn.Module, batch: Any):
        clips = batch["clips"]  # (B, V, 2, 3, T, S, S) uint8
        b, v = clips.shape[:2]
        z = model(to_model_input(clips.flatten(0, 2)))  # (B*V*2, N, D)
        z = z.reshape(b, v, 2, *z.shape[1:])
        p = self.config.pretrain
        loss, logs = stvqrl_loss(z, tau=p.tau, eps=p.eps)
        return loss, {"infonce": float(loss.detach()), **logs}


def demo_scenes(k: int, root: str | Path | None = None, progress: bool = True) -> list[Scene]:
    """The embedded demo's *train* scenes (built on first use): never its val or test scenes."""
    from vqa_core.datasets import read_manifest_csv
    from vqa_core.demo import ensure_demo

    folder = ensure_demo(root, progress=progress)
    items = [it for it in read_manifest_csv(folder / "manifest.csv") if it.split == "train"]
    return scenes_from_items(items, k, source=f"demo ({folder})")


def pretrain_scenes(config: StVqrlConfig, progress: bool = True) -> list[Scene]:
    """The scenes named by `pretrain.dataset`: "demo" or a make-synthetic folder."""
    if config.pretrain.dataset == "demo":
        return demo_scenes(config.pretrain.k, progress=progress)
    return scenes_from_folder(config.pretrain.dataset, config.pretrain.k)


def pretrain_stvqrl(
    config: StVqrlConfig | str | Path | dict | None,
    out_dir: str | Path,
    scenes: Sequence[Scene] | None = None,
    *,
    device: str | torch.device | None = None,
    resume: bool = True,
    progress: bool = True,
    callbacks: Sequence[Any] = (),
) -> Path:
    """Run (or resume) ST-VQRL pretraining into `out_dir`; returns the artifact path.

    Under `torchrun` every rank calls this; rank 0 writes the artifact. `callbacks` go to the
    Trainer (`on_step_end(trainer, step, logs)`, `on_epoch_end(trainer, record)`).
    """
    cfg = load_config(StVqrlConfig, config)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    scenes = list(scenes) if scenes is not None else pretrain_scenes(cfg, progress)
    dataset = PretrainDataset(scenes, cfg.clip, cfg.pretrain.k, seed=cfg.seed)
    trainer_cfg = cfg.pretrain.trainer
    changes: dict[str, Any] = {"progress": trainer_cfg.progress and progress}
    if device is not None:
        changes["device"] = str(device)
    trainer = Trainer(
        _PretrainTask(cfg), replace(trainer_cfg, **changes), out_dir / "train", resume=resume, callbacks=callbacks
    )
    result = trainer.fit(dataset, None)
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


