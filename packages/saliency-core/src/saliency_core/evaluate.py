"""Score a trained saliency model on a held-out split with the six benchmark metrics.

    python -m saliency_core.evaluate runs/sal/saliency.pt --data demo-saliency --split test

Validation picks the checkpoint, so its numbers are optimistic; the `test` split is never
seen during training or selection. Clips are the fixed, evenly spaced clips validation uses.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from saliency_core.config import SaliencyConfig
from saliency_core.data import SaliencyClipDataset
from saliency_core.infer import minmax_per_frame
from saliency_core.sources import load_manifest, make_saliency_splits
from vqa_core.config import load_config
from vqa_core.errors import DatasetError, VqaError


@torch.inference_mode()
def evaluate_saliency(
    checkpoint: str | Path,
    data: str | Path = "demo-saliency",
    split: str = "test",
    data_root: str | Path | None = None,
    device: str = "auto",
    sauc_splits: int = 100,
) -> dict[str, float]:
    """AUC-Judd, sAUC, NSS, CC, SIM and KLD of `checkpoint` over every frame of `split`'s clips."""
    from saliency_core.train import clip_saliency_metrics, load_saliency_model, read_saliency_checkpoint

    state = read_saliency_checkpoint(checkpoint)
    config = load_config(SaliencyConfig, state["config"])
    model = load_saliency_model(checkpoint, device=device)
    device_t = next(model.parameters()).device
    manifest = load_manifest(data, data_root)
    splits = make_saliency_splits(manifest, config.data.val_fraction, config.trainer.seed)
    items = {"train": splits.train, "val": splits.val, "test": splits.test}.get(split)
    if items is None:
        raise DatasetError(f"unknown split {split!r}; use train, val or test")
    if not items:
        raise DatasetError(f"dataset {manifest.name!r} has no {split!r} clips")
    ds = SaliencyClipDataset(items, config, train=False, dataset=manifest.name)
    preds, gts, fixes, has, videos = [], [], [], [], []
    for i in range(len(ds)):
        item = ds[i]
        logits = model(item["frames"][None].to(device_t))[0, 0]
        preds.append(minmax_per_frame(torch.sigmoid(logits.float())).cpu().numpy())
        gts.append(item["maps"].numpy())
        fixes.append(item["fixations"].numpy())
        has.append(bool(item["has_fixations"]))
        videos.append(int(item["video_index"]))
    metrics = clip_saliency_metrics(
        np.stack(preds), np.stack(gts), np.stack(fixes), np.array(has), np.array(videos),
        sauc_splits=sauc_splits, seed=config.trainer.seed,
    )
    return {**metrics, "clips": float(len(ds)), "videos": float(len(items))}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m saliency_core.evaluate",
        description="Six saliency metrics (AUC-Judd, sAUC, NSS, CC, SIM, KLD) of a checkpoint on a split.",
    )
    p.add_argument("checkpoint", help="saliency.pt from saliency-train")
    p.add_argument("--data", default="demo-saliency", help="demo-saliency, dhf1k, diem or a manifest CSV")
    p.add_argument("--data-root", default=None, help="dataset folder (demo-saliency: where it is built)")
    p.add_argument("--split", default="test", choices=("train", "val", "test"), help="default: test")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    try:
        metrics = evaluate_saliency(args.checkpoint, args.data, args.split, args.data_root, args.device)
    except VqaError as err:
        print(f"saliency-evaluate: error: {err}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(metrics))
    else:
        print(", ".join(f"{k} {v:.4f}" if k not in ("clips", "videos") else f"{k} {int(v)}" for k, v in metrics.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
