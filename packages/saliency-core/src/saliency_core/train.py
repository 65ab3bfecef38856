"""Train a saliency UNet3D with the shared vqa-core Trainer, and load what it produced.

    python -m saliency_core.train --config small --data demo-saliency --out runs/sal
    torchrun --nproc_per_node 2 -m saliency_core.train --config tiny --data demo-saliency --out runs/sal
    vqa saliency-train --config small --data dhf1k --data-root /data/DHF1K --out runs/sal --resume

The Trainer brings DDP, gradient accumulation, the whole-run cosine schedule, exact resume,
progress bars and selection on validation CC; this module only supplies the model, the
per-frame loss and the batch functions. The result, `<out>/saliency.pt`, stores the weights
with the config that builds them, so `load_saliency_model(path)` needs nothing else.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

# add_train_command is re-exported: the `saliency-train` entry point and callers name it here.
from saliency_core.command import add_train_arguments, add_train_command, run_train  # noqa: F401
from saliency_core.config import SaliencyConfig
from saliency_core.data import SaliencyClipDataset
from saliency_core.infer import minmax_per_frame
from saliency_core.losses import SaliencyLoss
from saliency_core.model import SaliencyUNet3D
from saliency_core.sources import load_manifest, make_saliency_splits
from vqa_core.config import config_to_dict, dump_config, load_config
from vqa_core.datasets import Manifest
from vqa_core.errors import ConfigError, VqaError
from vqa_core.metrics import saliency_metrics_per_frame
from vqa_core.train import Trainer, TrainTask, barrier, dist_info, save_checkpoint

log = logging.getLogger("saliency_core.train")

CHECKPOINT = "saliency.pt"
CKPT_FORMAT = "saliency-core/model"
CONFIG_FILE = "saliency_config.yaml"


class SaliencyTask(TrainTask):
    """Model, loss and batch functions of saliency training for `vqa_core.train.Trainer`."""

    def __init__(self, config: SaliencyConfig, sauc_splits: int = 100) -> None:
        self.config = config
        self.loss = SaliencyLoss(config.loss)
        self.sauc_splits = sauc_splits

    def build_model(self) -> nn.Module:
        return SaliencyUNet3D(self.config.model)

    def training_step(self, model: nn.Module, batch: Mapping[str, Any]) -> tuple[torch.Tensor, dict[str, float]]:
        logits = model(batch["frames"])  # (B, 1, T, H, W)
        fix = batch["fixations"][:, None] if self.config.loss.nss else None
        if fix is not None and not bool(batch["has_fixations"].all()):
            raise VqaError("loss.nss > 0 but some training clips have no fixation maps; set loss.nss: 0")
        loss, parts = self.loss(logits, batch["maps"][:, None], fix)
        parts.pop("loss", None)
        return loss, parts

    def validation_step(self, model: nn.Module, batch: Mapping[str, Any]) -> dict[str, torch.Tensor]:
        logits = model(batch["frames"])[:, 0]  # (B, T, H, W)
        pred = torch.sigmoid(logits.float())
        pred = minmax_per_frame(pred.reshape(-1, *pred.shape[-2:])).reshape(pred.shape)
        return {
            "pred": pred,
            "gt": batch["maps"],
            "fix": batch["fixations"],
            "has_fix": batch["has_fixations"],
            "video": batch["video_index"],
        }

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return clip_saliency_metrics(
            outputs["pred"], outputs["gt"], outputs["fix"], outputs["has_fix"], outputs["video"],
            sauc_splits=self.sauc_splits, seed=self.config.trainer.seed,
        )


def clip_saliency_metrics(
    pred: np.ndarray,
    gt: np.ndarray,
    fix: np.ndarray,
    has_fix: np.ndarray,
    video: np.ndarray,
    sauc_splits: int = 100,
    seed: int = 0,
) -> dict[str, float]:
    """The six saliency metrics over every frame of every clip (`vqa_core.metrics`).

    Shuffled-AUC negatives of a clip are the fixations of all *other* videos (union over their
    frames), the usual way to cancel centre bias.
    """
    has_fix = np.asarray(has_fix).astype(bool)
    video = np.asarray(video)
    union = {v: (fix[(video == v) & has_fix] > 0).any(axis=(0, 1)) for v in np.unique(video)}
    per_frame: dict[str, list[np.ndarray]] = {}
    for i in range(len(pred)):
        fixations = fix[i] if has_fix[i] else None
        other = None
        if fixations is not None:
            others = [m for v, m in union.items() if v != video[i]]
            other = np.any(others, axis=0) if others else None
            if other is not None and not other.any():
                other = None
        values = saliency_metrics_per_frame(
            pred[i], gt[i], fixations, other, sauc_splits=sauc_splits, seed=seed + i
        )
        for name, arr in values.items():
            per_frame.setdefault(name, []).append(arr)
    out = {}
    for name in ("auc_judd", "sauc", "nss", "cc", "sim", "kld"):
        if name in per_frame:
            arr = np.concatenate(per_frame[name])
            arr = arr[~np.isnan(arr)]
            out[name] = float(arr.mean()) if arr.size else float("nan")
    return out


# Settings that may change between an interrupted run and its resumption.
_RUNTIME_FIELDS = ("device", "progress", "num_workers")


def _comparable(config: SaliencyConfig) -> dict[str, Any]:
    data = config_to_dict(config)
    for key in _RUNTIME_FIELDS:
        data["trainer"].pop(key, None)
    return data


def _check_resume_config(out_dir: Path, config: SaliencyConfig) -> None:
    saved = out_dir / CONFIG_FILE
    if not saved.is_file():
        return
    previous = load_config(SaliencyConfig, saved)
    if _comparable(previous) != _comparable(config):
        raise ConfigError(
            f"{saved}: the run in {out_dir} was started with another config; resume with the same config "
            "or choose a new --out"
        )


def train_saliency(
    config: SaliencyConfig | str | Path,
    data: str | Path | Manifest | None = None,
    out_dir: str | Path = "runs/saliency",
    *,
    dataset: str | Path | Manifest | None = None,
    data_root: str | Path | None = None,
    device: str | None = None,
    resume: bool = True,
    progress: bool | None = None,
    max_steps: int | None = None,
    sauc_splits: int = 100,
    callbacks: Sequence[Any] = (),
) -> Path:
    """Train a saliency model and return its checkpoint `<out_dir>/saliency.pt`.

    `data` (or its alias `dataset`) is `demo-saliency`, a descriptor name (`dhf1k`, `diem`, with
    `data_root`), a manifest CSV or a Manifest. An interrupted run in `out_dir` resumes exactly
    (`resume=True`); `device` overrides the config's (`auto` picks CUDA when present).
    `callbacks` go to the Trainer (`on_step_end(trainer, step, logs)`, `on_epoch_end(trainer, record)`).
    """
    config = load_config(SaliencyConfig, config)
    overrides: dict[str, Any] = {}
    if device is not None:
        overrides["trainer.device"] = device
    if max_steps is not None:
        overrides["trainer.max_steps"] = max_steps
    if progress is not None:
        overrides["trainer.progress"] = progress
    if overrides:
        config = load_config(SaliencyConfig, config, overrides)
    source = data if data is not None else dataset
    if source is None:
        raise ConfigError("train_saliency needs data= (demo-saliency, dhf1k, diem or a manifest CSV)")
    out_dir = Path(out_dir)
    manifest = load_manifest(source, data_root)
    splits = make_saliency_splits(manifest, config.data.val_fraction, config.trainer.seed)
    name = manifest.name
    train_ds = SaliencyClipDataset(splits.train, config, train=True, dataset=name)
    val_ds = SaliencyClipDataset(splits.val, config, train=False, dataset=name)

    if resume:
        _check_resume_config(out_dir, config)
    if _launch_rank() == 0:  # the process group starts inside Trainer.fit; torchrun's RANK is known now
        dump_config(config, out_dir / CONFIG_FILE)
    log.info(
        "saliency %s (%s registers) on %s: %d train videos (%d clips/epoch), %d val videos (%d clips)",
        config.name, config.model.registers, name, len(splits.train), len(train_ds), len(splits.val), len(val_ds),
    )
    trainer = Trainer(
        SaliencyTask(config, sauc_splits), config.trainer, out_dir / "train", resume=resume, callbacks=callbacks
    )
    start = time.perf_counter()
    result = trainer.fit(train_ds, val_ds)
    seconds = time.perf_counter() - start
    path = out_dir / CHECKPOINT
    if dist_info().is_main:
        assert trainer.model is not None
        save_checkpoint(
            {
                "format": CKPT_FORMAT,
                "config": config_to_dict(config),
                "model": {k: v.detach().cpu() for k, v in trainer.model.state_dict().items()},
                "dataset": name,
                "train_videos": [item.video_id for item in splits.train],
                "val_videos": [item.video_id for item in splits.val],
                "best_epoch": result.best_epoch,
                "val_metrics": dict(result.metrics),
                "train_seconds": seconds,
            },
            path,
        )
    barrier()
    return path


def _launch_rank() -> int:
    return int(os.environ.get("RANK", "0"))


def stage_checkpoint(folder: str | Path) -> Path:
    """The model file a `train_saliency` run left in `folder` (its `saliency.pt`, else any .pt).

    The VQA methods keep their saliency stage as a folder (keyed by config hash); this finds the
    weights in it, also in folders produced by older layouts (`best.pt`, `model.pt`, `last.pt`).
    """
    folder = Path(folder)
    for name in (CHECKPOINT, "best.pt", "model.pt", "last.pt"):
        if (folder / name).is_file():
            return folder / name
    found = sorted(folder.glob("*.pt"))
    if not found:
        raise ConfigError(f"saliency stage folder {folder} holds no .pt checkpoint")
    return found[0]


def read_saliency_checkpoint(path: str | Path) -> dict[str, Any]:
    """The checkpoint dict (weights-only load), with a clear error for anything else."""
    path = Path(path)
    if not path.is_file():
        raise VqaError(f"{path}: saliency checkpoint not found")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for corrupt or non-checkpoint files
        raise VqaError(f"{path}: not a readable torch checkpoint ({err})") from err
    if not isinstance(state, dict) or state.get("format") != CKPT_FORMAT:
        raise VqaError(
            f"{path}: not a saliency-core checkpoint (format {state.get('format') if isinstance(state, dict) else None!r}); "
            f"use the {CHECKPOINT} written by `python -m saliency_core.train`"
        )
    return state


def load_saliency_model(path: str | Path, device: str | torch.device = "cpu") -> SaliencyUNet3D:
    """The trained model of a `saliency.pt` checkpoint, in eval mode on `device` (`auto` allowed)."""
    from vqa_core.device import resolve_device

    state = read_saliency_checkpoint(path)
    config = load_config(SaliencyConfig, state["config"])
    model = SaliencyUNet3D(config.model)
    model.load_state_dict(state["model"])
    return model.to(resolve_device(device)).eval()


# ----------------------------------------------------------------------------------- command line
# `vqa saliency-train` is built in saliency_core.command (its parser must not import torch);
# `add_train_command` stays importable from here for existing callers.


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m saliency_core.train",
        description="Train a saliency UNet3D (same options as `vqa saliency-train`; works under torchrun).",
    )
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_train(args)
    except VqaError as err:
        print(f"saliency-train: error: {err}", file=sys.stderr)
        return 1
    finally:
        from vqa_core.train import cleanup_distributed

        cleanup_distributed()


if __name__ == "__main__":
    sys.exit(main())
