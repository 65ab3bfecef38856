"""bf16 through a real method: `trainer.precision=bf16` trains the tiny preset in bfloat16 on a
CPU, scores in bfloat16 close to float32, and `vqa score --precision bf16` applies it to a
checkpoint. dagr is the method used: its trunk (ResNet) and temporal transformer cover the
convolution, attention and linear layers autocast changes; the other learned methods go through
the same `score_dataset(..., precision=...)` (benchmarks/README.md "bf16" has all of them)."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from vqa_bench.method_config import resolve_method_config
from vqa_bench.score import add_score_command
from vqa_core.datasets import ManifestItem
from vqa_core.method import get_method
from vqa_core.testing import make_video
from vqa_core.train import with_precision


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[ManifestItem]:
    folder = tmp_path_factory.mktemp("bf16-clips")
    return [
        ManifestItem(
            video_id=f"v{i}",
            path=make_video(
                folder / f"v{i}.mp4",
                num_frames=24,
                height=64,
                width=96,
                seed=i,
                options={"crf": str(10 + 8 * i)},
            ),
            mos=float(100 - 8 * i),
            split="train",
        )
        for i in range(6)
    ]


def ready_dagr(overrides: list[str]):
    """dagr `tiny` with random weights and a random saliency UNet3D (no stage is built)."""
    cls = get_method("dagr")
    method = cls(
        config=resolve_method_config(cls, "tiny", "dagr", overrides, no_pretrained=True), device="cpu"
    )
    method.init_for_scoring(seed=0)
    return method


def test_tiny_training_steps_run_in_bf16_with_a_finite_loss(tmp_path, clips) -> None:
    method = ready_dagr(["trainer.precision=bf16", "trainer.epochs=2", "trainer.max_steps=2"])
    dtypes: set[torch.dtype] = set()

    def record(module: torch.nn.Module, args: object, out: object) -> None:
        if module.training and isinstance(out, torch.Tensor) and out.is_floating_point():
            dtypes.add(out.dtype)

    handle = torch.nn.modules.module.register_module_forward_hook(record)
    try:
        history = method.fit(clips[:4], clips[4:], tmp_path / "work", resume=False, progress=False)["history"]
    finally:
        handle.remove()
    losses = [record["train_loss"] for record in history]
    assert history[-1]["step"] == 2 and losses
    assert all(np.isfinite(losses))
    assert torch.bfloat16 in dtypes  # the training forward did run under bf16 autocast


def test_bf16_scores_are_float32_and_close_to_fp32(clips) -> None:
    method = ready_dagr([])
    videos = [it.path for it in clips[:3]]
    fp32 = method.score(videos).scores
    assert np.array_equal(fp32, method.score(videos).scores)
    method.config = with_precision(method.config, "bf16")
    bf16 = method.score(videos).scores
    assert bf16.dtype == np.float64 and np.isfinite(bf16).all()
    assert not np.array_equal(fp32, bf16)
    # measured on these clips (AVX512-BF16/AMX Xeon): |bf16 - fp32| <= 1.8e-3 on outputs of
    # 0.03-0.05 (identity calibration). Rounding the head's output to bf16's 8 mantissa bits is
    # <= 1.2e-4 of that; the rest is the trunk's accumulated rounding, which another CPU's bf16
    # kernels (or their fp32 emulation) sum in another order: 5e-3 is ~2.8x the measured error
    np.testing.assert_allclose(bf16, fp32, rtol=0, atol=5e-3)


def _score_cli(ckpt: Path, videos: list[Path], out: Path, *extra: str) -> list[float]:
    parser = argparse.ArgumentParser()
    add_score_command(parser.add_subparsers())
    argv = ["score", *map(str, videos), "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu"]
    args = parser.parse_args([*argv, "--no-progress", *extra])
    assert args.func(args) == 0
    rows = {r["path"]: float(r["score"]) for r in csv.DictReader(out.open())}
    return [rows[str(v)] for v in videos]


def test_vqa_score_precision_flag(tmp_path, clips) -> None:
    method = ready_dagr([])
    ckpt = method.save(tmp_path / "dagr.pt")
    videos = [it.path for it in clips[:2]]
    fp32 = _score_cli(ckpt, videos, tmp_path / "fp32.csv")
    bf16 = _score_cli(ckpt, videos, tmp_path / "bf16.csv", "--precision", "bf16")
    assert fp32 == pytest.approx(list(method.predict(videos)), abs=1e-4)  # the CSV's 4 decimals
    assert fp32 != bf16
    np.testing.assert_allclose(bf16, fp32, rtol=0, atol=5e-3)
