"""`vqa st-vqrl make-synthetic` / `pretrain` through argparse (the lead wires the entry point)."""

from __future__ import annotations

import argparse

import torch

from st_vqrl.command import add_command
from vqa_core.distort import count_frames
from vqa_core.testing import make_video


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vqa")
    add_command(parser.add_subparsers(dest="command"))
    return parser


def test_make_synthetic_then_pretrain(tmp_path, capsys):
    src = tmp_path / "src"
    make_video(src / "clip a.mp4", num_frames=16, height=64, width=64, seed=0)
    make_video(src / "nested" / "b.mp4", num_frames=16, height=64, width=64, seed=1)
    out = tmp_path / "syn"
    args = _parser().parse_args(["st-vqrl", "make-synthetic", "--src", str(src), "--out", str(out),
                                 "--versions", "0,4-6", "--no-progress"])
    assert args.func(args) == 0
    names = sorted(p.name for p in out.glob("*.mp4"))
    assert names == [f"{vid}_v{v:02d}.mp4" for vid in ("b", "clip_a") for v in (0, 4, 5, 6)]
    assert {count_frames(out / n) for n in names} == {(16, 64, 64)}
    assert "8 file(s) written" in capsys.readouterr().out
    assert args.func(args) == 0  # resumed: nothing left to do
    assert "0 file(s) written, 8 already complete" in capsys.readouterr().out

    run = tmp_path / "pretrain"
    args = _parser().parse_args(["st-vqrl", "pretrain", "--config", "tiny", "--dataset", str(out), "--out", str(run),
                                 "--set", "pretrain.k=2", "--set", "pretrain.trainer.epochs=1", "--device", "cpu",
                                 "--no-progress"])
    assert args.func(args) == 0
    ckpt = torch.load(run / "stvqrl.pt", weights_only=True)
    assert ckpt["config"]["pretrain"]["k"] == 2 and "proj.weight" in ckpt["projection"]
    assert (run / "train" / "last.pt").is_file()


def test_help_explains(capsys):
    parser = _parser()
    args = parser.parse_args(["st-vqrl"])
    assert args.func(args) == 0
    assert "make-synthetic" in capsys.readouterr().out
