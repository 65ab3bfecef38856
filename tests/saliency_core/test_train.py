"""Training through the shared Trainer (tiny config), checkpoints, the CLIs, the map cache, torchrun."""

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from saliency_core.command import add_saliency_command
from saliency_core.config import SaliencyConfig
from saliency_core.infer import predict_maps
from saliency_core.train import (
    SaliencyTask,
    add_train_command,
    clip_saliency_metrics,
    load_saliency_model,
    main,
    read_saliency_checkpoint,
    train_saliency,
)
from vqa_core.config import load_config
from vqa_core.errors import ConfigError, VqaError
from vqa_core.metrics import saliency_metrics
from vqa_core.testing import make_video

SIX = {"auc_judd", "sauc", "nss", "cc", "sim", "kld"}


def parser_with(add) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vqa")
    add(parser.add_subparsers(dest="command"))
    return parser


@pytest.fixture(scope="module")
def trained(demo_saliency_root, tmp_path_factory, one_torch_thread_module) -> Path:
    """`vqa saliency-train` (argparse path) on the tiny preset for 2 epochs: OUT/saliency.pt."""
    out = tmp_path_factory.mktemp("run")
    args = parser_with(add_train_command).parse_args(
        ["saliency-train", "--config", "tiny", "--data", "demo-saliency", "--data-root", str(demo_saliency_root),
         "--out", str(out), "--device", "cpu", "--no-progress", "--set", "data.clips_per_video=2"]
    )
    assert args.func(args) == 0
    return out


def test_training_writes_a_self_contained_checkpoint(trained):
    state = read_saliency_checkpoint(trained / "saliency.pt")
    assert state["dataset"] == "demo-saliency"
    assert state["train_videos"] == ["c0", "c1", "c2"] and state["val_videos"] == ["c3", "c5"]
    assert set(state["val_metrics"]) == SIX
    assert all(np.isfinite(v) for v in state["val_metrics"].values())
    assert state["config"]["model"]["registers"] == "attention"
    model = load_saliency_model(trained / "saliency.pt", device="auto")
    assert not model.training and model.config == load_config(SaliencyConfig, "tiny").model
    lines = (trained / "train" / "history.jsonl").read_text().splitlines()
    assert len(lines) == 2  # two epochs, each validated
    assert "val_sauc" in lines[-1] and "train_cc" in lines[-1]


def test_resume_refuses_another_config(trained, demo_saliency_root):
    with pytest.raises(ConfigError, match="another config"):
        train_saliency(load_config(SaliencyConfig, "tiny", ["loss.kld=1.0"]), "demo-saliency", trained,
                       data_root=demo_saliency_root, device="cpu")
    args = parser_with(add_train_command).parse_args(
        ["saliency-train", "--config", "tiny", "--data", "demo-saliency", "--data-root", str(demo_saliency_root),
         "--out", str(trained)]
    )
    with pytest.raises(ConfigError, match="--resume"):
        args.func(args)


def test_module_entry_point_reports_errors(tmp_path, capsys):
    code = main(["--config", "tiny", "--data", "dhf1k", "--out", str(tmp_path / "o")])
    assert code == 1
    assert "--data-root" in capsys.readouterr().err


def test_bad_checkpoint_is_a_clear_error(tmp_path):
    torch.save({"model": {}}, tmp_path / "x.pt")
    with pytest.raises(VqaError, match="not a saliency-core checkpoint"):
        load_saliency_model(tmp_path / "x.pt")
    with pytest.raises(VqaError, match="not found"):
        load_saliency_model(tmp_path / "missing.pt")


def test_trained_model_predicts_and_caches_maps(trained, tmp_path):
    from saliency_core.cache import SaliencyMapCache

    model = load_saliency_model(trained / "saliency.pt")
    video = make_video(tmp_path / "v.mp4", num_frames=9, height=36, width=52)
    cache = SaliencyMapCache(model, tmp_path / "cache")
    assert not cache.has(video, [0, 4, 8], (36, 52))
    maps = cache.maps(video, [0, 4, 8], (36, 52))
    assert maps.shape == (3, 36, 52) and float(maps.min()) == 0.0 and float(maps.max()) == 1.0
    assert cache.has(video, [0, 4, 8], (36, 52))
    assert torch.equal(cache.maps(video, [0, 4, 8], (36, 52)), maps)  # hit, same values
    assert not cache.has(video, [0, 4, 7], (36, 52))  # other indices, other entry
    from vqa_core.video import read_clip

    direct = predict_maps(model, read_clip(video, [0, 4, 8], size=(36, 52)))
    torch.testing.assert_close(maps, direct, atol=1e-3, rtol=0)  # float16 storage
    other = SaliencyMapCache(load_saliency_model(trained / "saliency.pt"), tmp_path / "cache")
    assert other.model_id == cache.model_id  # same weights, same key
    with torch.no_grad():
        next(other.model.parameters()).add_(1.0)
    assert SaliencyMapCache(other.model, tmp_path / "cache").model_id != cache.model_id


def test_vqa_saliency_command_writes_indexed_pngs_and_overlays(trained, tmp_path):
    video = make_video(tmp_path / "clip.mp4", num_frames=13, height=40, width=64)
    out = tmp_path / "maps"
    args = parser_with(add_saliency_command).parse_args(
        ["saliency", str(video), "--checkpoint", str(trained / "saliency.pt"), "--out", str(out),
         "--num-frames", "5", "--overlay", "--device", "cpu", "--quiet"]
    )
    assert args.func(args) == 0
    names = sorted(p.name for p in (out / "clip").glob("0*.png"))
    assert names == ["000000.png", "000003.png", "000006.png", "000009.png", "000012.png"]  # linspace(0, 12, 5)
    img = Image.open(out / "clip" / "000006.png")
    assert img.mode == "L" and img.size == (64, 40)
    arr = np.asarray(img)
    assert arr.min() == 0 and arr.max() == 255  # per-frame min-max to the full 8-bit range
    assert (out / "clip" / "overlay.png").stat().st_size > 0
    from vqa_core.video import probe

    info = probe(out / "clip" / "overlay.mp4")
    assert info.num_frames == 5


def test_vqa_saliency_command_reports_a_broken_video(trained, tmp_path, capsys):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    args = parser_with(add_saliency_command).parse_args(
        ["saliency", str(bad), "--checkpoint", str(trained / "saliency.pt"), "--out", str(tmp_path), "--quiet"]
    )
    assert args.func(args) == 1
    assert "bad.mp4" in capsys.readouterr().err


def test_validation_metrics_match_vqa_core_and_use_other_videos_for_sauc():
    rng = np.random.default_rng(0)
    pred = rng.random((3, 2, 8, 8))
    gt = rng.random((3, 2, 8, 8))
    fix = (rng.random((3, 2, 8, 8)) > 0.9).astype(np.float32)
    video = np.array([0, 0, 1])
    got = clip_saliency_metrics(pred, gt, fix, np.array([True, True, True]), video, sauc_splits=5)
    assert set(got) == SIX
    # without sAUC the numbers are vqa_core's over all frames of all clips
    frames = saliency_metrics(pred.reshape(6, 8, 8), gt.reshape(6, 8, 8), fix.reshape(6, 8, 8))
    for name in ("auc_judd", "nss", "cc", "sim", "kld"):
        assert got[name] == pytest.approx(frames[name])
    # the sAUC of clip 2 (video 1) draws negatives from video 0's fixations only
    other0 = (fix[:2] > 0).any(axis=(0, 1))
    want = saliency_metrics(pred[2], gt[2], fix[2], other0, sauc_splits=5, seed=2)["sauc"]
    only2 = clip_saliency_metrics(pred[2:], gt[2:], fix[2:], np.array([True]), np.array([1]), sauc_splits=5)
    assert "sauc" not in only2  # a single video has no other video to shuffle from
    assert np.isfinite(want)


def test_task_loss_is_finite_and_needs_fixations_for_nss():
    config = load_config(SaliencyConfig, "tiny", ["loss.nss=0.1"])
    task = SaliencyTask(config)
    model = task.build_model()
    batch = {
        "frames": torch.rand(2, 3, 4, 32, 48), "maps": torch.rand(2, 4, 32, 48),
        "fixations": torch.zeros(2, 4, 32, 48), "has_fixations": torch.tensor([True, False]),
    }
    with pytest.raises(VqaError, match="fixation"):
        task.training_step(model, batch)
    batch["has_fixations"] = torch.tensor([True, True])
    batch["fixations"][:, :, 5, 5] = 1
    loss, logs = task.training_step(model, batch)
    assert torch.isfinite(loss) and {"kld", "cc", "nss"} <= set(logs)


@pytest.mark.slow
def test_tiny_config_trains_under_torchrun_on_two_cpu_processes(demo_saliency_root, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port),
           "-m", "saliency_core.train", "--config", "tiny", "--data", "demo-saliency", "--data-root",
           str(demo_saliency_root), "--out", str(out), "--device", "cpu", "--no-progress", "--max-steps", "2"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    state = read_saliency_checkpoint(out / "saliency.pt")
    assert set(state["val_metrics"]) == SIX
    assert "saved" in done.stdout


class Interrupt(Exception):
    pass


class StopAt:
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer, step, logs):
        if step == self.step:
            raise Interrupt(f"stopped at step {step}")


def test_interrupted_run_resumes_to_the_same_weights(demo_saliency_root, tmp_path):
    config = load_config(SaliencyConfig, "tiny", ["data.clips_per_video=4", "trainer.checkpoint_every=1"])  # 3 steps/epoch
    kwargs = {"data_root": demo_saliency_root, "device": "cpu", "progress": False, "sauc_splits": 2}
    straight = train_saliency(config, "demo-saliency", tmp_path / "a", **kwargs)
    with pytest.raises(Interrupt):
        train_saliency(config, "demo-saliency", tmp_path / "b", callbacks=[StopAt(4)], **kwargs)
    assert not (tmp_path / "b" / "saliency.pt").exists()
    resumed = train_saliency(config, "demo-saliency", tmp_path / "b", resume=True, **kwargs)
    a, b = read_saliency_checkpoint(straight), read_saliency_checkpoint(resumed)
    assert a["best_epoch"] == b["best_epoch"]
    for key, value in a["model"].items():
        torch.testing.assert_close(b["model"][key], value, rtol=0, atol=0, msg=key)


def test_evaluate_on_the_test_split(trained, demo_saliency_root, capsys):
    from saliency_core.evaluate import evaluate_saliency
    from saliency_core.evaluate import main as evaluate_main

    metrics = evaluate_saliency(trained / "saliency.pt", "demo-saliency", "val", demo_saliency_root,
                                device="cpu", sauc_splits=100)
    stored = read_saliency_checkpoint(trained / "saliency.pt")["val_metrics"]
    for name in SIX:  # the same clips and metrics as the Trainer's validation of the kept epoch
        assert metrics[name] == pytest.approx(stored[name], rel=1e-4, abs=1e-5)
    assert metrics["videos"] == 2
    assert evaluate_main([str(trained / "saliency.pt"), "--data-root", str(demo_saliency_root), "--json",
                          "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert '"videos": 1.0' in out and "sauc" not in out  # one test video: no other video for sAUC
