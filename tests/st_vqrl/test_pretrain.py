"""ST-VQRL pretraining: exact resume after an interrupt, the projection option, DDP (slow)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from st_vqrl import StVqrlConfig, load_pretrained, pretrain_stvqrl
from st_vqrl.data import scenes_from_folder
from st_vqrl.pretrain import to_model_input
from vqa_core.config import load_config
from vqa_core.testing import make_video
from vqa_core.transforms import fragment_contrast_normalize, normalize


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("syn")
    for s in range(2):
        for v, crf in enumerate((0, 30, 42, 51)):
            make_video(root / f"sc{s}_v{v:02d}.mp4", num_frames=16, height=64, width=64, seed=s,
                       options={"crf": str(crf)})
    return root


def _cfg(folder, **over) -> StVqrlConfig:
    base = {"pretrain.dataset": str(folder), "pretrain.k": 2, "pretrain.trainer.epochs": 2,
            "pretrain.trainer.checkpoint_every": 1, "pretrain.trainer.batch_size": 1, "backbone.drop_path": 0.1}
    return load_config(StVqrlConfig, "tiny", {**base, **over})


class _Interrupt(Exception):
    pass


class _StopAt:
    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer, global_step, logs):
        if global_step == self.step:
            raise _Interrupt


def _weights(path: Path) -> dict[str, torch.Tensor]:
    backbone, projection = load_pretrained(path)
    return {**backbone.state_dict(), **{f"proj.{k}": v for k, v in projection.state_dict().items()}}


def test_interrupted_run_resumes_exactly(folder, tmp_path):
    cfg = _cfg(folder)
    scenes = scenes_from_folder(folder, 2)
    straight = pretrain_stvqrl(cfg, tmp_path / "a", scenes, device="cpu", progress=False)
    with pytest.raises(_Interrupt):
        pretrain_stvqrl(cfg, tmp_path / "b", scenes, device="cpu", progress=False, callbacks=[_StopAt(3)])
    assert not (tmp_path / "b" / "stvqrl.pt").exists()
    resumed = pretrain_stvqrl(cfg, tmp_path / "b", scenes, device="cpu", progress=False)
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)



def test_the_trunk_input_follows_clip_input_norm(folder, tmp_path):
    rgb, mscn = _cfg(folder), _cfg(folder, **{"clip.input_norm": "mscn"})
    size = rgb.clip.grid * rgb.clip.patch
    clips = torch.randint(0, 256, (2, 3, rgb.clip.clip_len, size, size), dtype=torch.uint8)
    torch.testing.assert_close(to_model_input(clips, rgb.clip), normalize(clips, "fastvqa", channel_dim=-4))
    expected = fragment_contrast_normalize(clips, mscn.clip.grid, mscn.clip.patch)
    torch.testing.assert_close(to_model_input(clips, mscn.clip), expected)
    # and pretraining runs on it end to end (the small presets' input)
    path = pretrain_stvqrl(mscn, tmp_path / "m", scenes_from_folder(folder, 2), device="cpu", progress=False)
    assert all(torch.isfinite(v).all() for v in _weights(path).values())

def test_projection_is_trained_unless_the_seed_option_is_set(folder, tmp_path):
    scenes = scenes_from_folder(folder, 2)
    torch.manual_seed(0)
    trained = _weights(pretrain_stvqrl(_cfg(folder, **{"pretrain.trainer.epochs": 1}), tmp_path / "t", scenes, device="cpu", progress=False))
    frozen = _weights(
        pretrain_stvqrl(_cfg(folder, **{"pretrain.train_projection": False, "pretrain.trainer.epochs": 1}), tmp_path / "f", scenes,
                        device="cpu", progress=False)
    )
    # same seed, same init: the frozen run keeps the initial projection, the trained run moves it
    init = load_config(StVqrlConfig, _cfg(folder))
    from st_vqrl import build_net
    from vqa_core.train import seed_everything

    seed_everything(init.pretrain.trainer.seed)
    fresh = build_net(init).projection.state_dict()
    assert torch.equal(frozen["proj.proj.weight"], fresh["proj.weight"])
    assert not torch.equal(trained["proj.proj.weight"], fresh["proj.weight"])


@pytest.mark.slow
def test_ddp_pretraining_under_torchrun(folder, tmp_path):
    """Two CPU ranks (gloo): both finish, rank 0 writes the artifact."""
    script = Path(__file__).with_name("ddp_pretrain_script.py")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(folder), str(tmp_path / "ddp")]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (tmp_path / "ddp" / "stvqrl.pt").is_file()
    assert (tmp_path / "ddp" / "world_size.txt").read_text() == "2"


def test_held_out_scenes_are_measured_every_epoch(folder, tmp_path):
    import json

    scenes = scenes_from_folder(folder, 2)
    cfg = _cfg(folder, **{"pretrain.val_draws": 2})
    pretrain_stvqrl(cfg, tmp_path / "v", scenes[:1], val_scenes=scenes[1:], device="cpu", progress=False)
    records = [json.loads(line) for line in (tmp_path / "v" / "train" / "history.jsonl").read_text().splitlines()]
    assert len(records) == 2
    for r in records:
        assert 0.0 <= r["val_acc"] <= 1.0 and r["val_infonce"] > 0 and r["val_d_neg"] > 0
        assert "train_infonce" in r


def test_split_scenes_is_seeded_disjoint_and_keeps_two_to_train():
    from st_vqrl.data import Scene
    from st_vqrl.pretrain import split_scenes

    scenes = [Scene(f"s{i}") for i in range(8)]
    train, held = split_scenes(scenes, 2, seed=0)
    assert len(held) == 2 and len(train) == 6
    assert {s.scene_id for s in train}.isdisjoint(s.scene_id for s in held)
    assert [s.scene_id for s in split_scenes(scenes, 2, seed=0)[1]] == [s.scene_id for s in held]
    assert split_scenes(scenes[:3], 2)[1] == []  # would leave one scene to train on: no hold-out
    assert split_scenes(scenes, 0)[1] == []


def test_demo_scale_presets_pretrain_on_scenes_the_demo_never_shows(tmp_path, monkeypatch):
    import vqa_core.demo.pretrain_set as pretrain_set
    from st_vqrl.pretrain import pretrain_scenes
    from vqa_core.demo import DemoConfig
    from vqa_core.demo.scenes import scene_specs

    small = pretrain_set.DemoPretrainConfig(num_scenes=3, height=48, width=64, num_frames=8, versions=[0, 3, 7, 9])
    folder = pretrain_set.build_demo_pretrain(tmp_path, small, progress=False)
    monkeypatch.setattr(pretrain_set, "ensure_demo_pretrain", lambda root=None, progress=True: folder)
    demo_ids = {s.scene_id for s in scene_specs(DemoConfig().num_scenes)}
    for name in ("tiny", "small"):
        preset = StVqrlConfig.PRESETS[name]
        assert preset.pretrain.dataset == "demo-pretrain", name
        ids = {s.scene_id for s in pretrain_scenes(load_config(StVqrlConfig, preset, {"pretrain.k": 3}))}
        assert ids == {s.scene_id for s in pretrain_set.PRETRAIN_SCENES[:3]}
        assert ids.isdisjoint(demo_ids)
