"""Presets as data: presets load by name, and bad values fail at load time."""

from __future__ import annotations

import pytest

from sc_vqa.config import ScConfig, preset, with_contrastive
from vqa_core.config import config_hash, load_config
from vqa_core.errors import ConfigError


@pytest.mark.parametrize("size", ["tiny", "small", "full"])
def test_preset_by_name(size: str) -> None:
    assert load_config(ScConfig, size) == preset(size)


def test_full_preset_is_the_seed_setting() -> None:
    cfg = preset("full")
    assert (cfg.model.conv_channels, cfg.model.pool_size, cfg.model.hidden, cfg.model.embed_dim) == (
        256,
        8,
        256,
        128,
    )
    assert cfg.model.regressor_hidden == [64, 32]
    assert (cfg.loss.contrastive_weight, cfg.loss.tau) == (0.1, 0.1)
    assert (cfg.saliency.enabled, cfg.saliency.fusion) == (True, "channel")
    assert cfg.in_channels == 4
    t = cfg.trainer
    assert (t.optimizer, t.lr, t.batch_size, t.grad_accum, t.clip_grad_norm) == ("adam", 1e-4, 4, 4, 5.0)
    assert t.select_metric == "srcc"  # validation SRCC, not the seed's loss mix


def test_the_ablation_changes_only_lambda_and_the_hash() -> None:
    base = preset("small")
    off = with_contrastive(base, 0.0)
    assert off.loss.contrastive_weight == 0.0
    assert off.model == base.model and off.trainer == base.trainer
    assert config_hash(off) != config_hash(base)


def test_overrides_and_bad_values() -> None:
    cfg = load_config(ScConfig, "tiny", ["saliency.fusion=weight", "loss.contrastive_weight=0.5"])
    assert (cfg.saliency.fusion, cfg.loss.contrastive_weight, cfg.in_channels) == ("weight", 0.5, 3)
    with pytest.raises(ConfigError, match="fusion"):
        load_config(ScConfig, "tiny", ["saliency.fusion=sum"])
    with pytest.raises(ConfigError, match="maps_dir"):
        load_config(ScConfig, "tiny", {"saliency.source": "folder"})
    with pytest.raises(ConfigError, match="tau"):
        load_config(ScConfig, "tiny", {"loss.tau": 0.0})
    with pytest.raises(ConfigError, match="contrastive_weight"):
        load_config(ScConfig, "tiny", {"loss.contrastive_weight": -1})
    with pytest.raises(ConfigError, match="salency"):
        load_config(ScConfig, "tiny", {"salency.fusion": "weight"})
    with pytest.raises(ConfigError, match="huge"):
        preset("huge")
