"""Presets and config validation."""

from __future__ import annotations

import pytest

from st_vqrl import StVqrlConfig
from vqa_core.config import config_to_dict, load_config
from vqa_core.errors import ConfigError

PRESETS = StVqrlConfig.PRESETS


@pytest.mark.parametrize("name", ["tiny", "small", "full"])
def test_preset_by_name(name):
    assert config_to_dict(load_config(StVqrlConfig, name)) == config_to_dict(PRESETS[name])


def test_full_preset_is_the_paper():
    cfg = PRESETS["full"]
    assert cfg.backbone.size == "full" and cfg.backbone.frag_bias
    assert (cfg.clip.clip_len, cfg.clip.frame_interval, cfg.clip.grid, cfg.clip.patch) == (32, 2, 7, 32)
    assert (cfg.pretrain.k, cfg.pretrain.tau, cfg.pretrain.eps, cfg.pretrain.proj_dim) == (9, 0.1, 1e-4, 64)
    assert (cfg.pretrain.trainer.lr, cfg.pretrain.trainer.weight_decay, cfg.pretrain.trainer.batch_size) == (
        1e-4, 0.05, 6
    )


def test_seed_projection_behaviour_is_an_option():
    cfg = load_config(StVqrlConfig, "tiny", {"pretrain.train_projection": False})
    assert cfg.pretrain.train_projection is False


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"pretrain.k": 13}, "pretrain.k"),
        ({"backbone.size": "huge"}, "backbone.size"),
        ({"backbone.pretrained": True}, "size 'full'"),
        ({"eval.score": "both"}, "eval.score"),
        ({"backbone.frag_gate": "soft"}, "frag_gate"),
        ({"clip.input_norm": "lab"}, "clip.input_norm"),
        ({"clip.input_norm": "mscn", "init_from": "stvqrl_30.pth"}, "not the RGB"),
    ],
)
def test_bad_values_are_named(override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(StVqrlConfig, "tiny", override)


def test_small_trunks_read_mscn_patches_and_the_others_rgb():
    assert PRESETS["small"].clip.input_norm == "mscn"
    assert PRESETS["tiny"].clip.input_norm == PRESETS["full"].clip.input_norm == "fastvqa"
    with pytest.raises(ConfigError, match="Kinetics-400"):
        load_config(StVqrlConfig, "full", {"backbone.pretrained": True, "clip.input_norm": "mscn"})
