"""Presets as data: each variant's class loads its own presets, and bad values fail at load time."""

from __future__ import annotations

import pytest

from dagr_vqa.config import DagrConfig, StrConfig, config_class, preset
from vqa_core.config import config_hash, load_config
from vqa_core.errors import ConfigError


@pytest.mark.parametrize("variant", ["str", "dagr"])
@pytest.mark.parametrize("size", ["tiny", "small", "full"])
def test_preset_by_name_is_the_variants_preset(variant: str, size: str) -> None:
    cls = config_class(variant)
    assert load_config(cls, size) == preset(variant, size)
    assert type(preset(variant, size)) is cls and preset(variant, size).variant == variant


def test_variants_have_their_own_presets() -> None:
    assert load_config(StrConfig, "full").model.temporal_dim is None
    assert load_config(StrConfig, "full").model.heads == 4
    assert load_config(DagrConfig, "full").model.temporal_dim == 1024
    assert load_config(DagrConfig, "full").model.heads == 1
    assert config_hash(preset("str", "small")) != config_hash(preset("dagr", "small"))


def test_overrides_and_bad_values() -> None:
    cfg = load_config(DagrConfig, "tiny", ["saliency.alpha=0.75", "saliency.remap=seed"])
    assert (cfg.saliency.alpha, cfg.saliency.remap) == (0.75, "seed")
    with pytest.raises(ConfigError, match="alpha"):
        load_config(DagrConfig, "tiny", ["saliency.alpha=1.5"])
    with pytest.raises(ConfigError, match="remap"):
        load_config(DagrConfig, "tiny", ["saliency.remap=twice"])
    with pytest.raises(ConfigError, match="cache_features"):
        load_config(DagrConfig, "tiny", {"fit.cache_features": True})
    with pytest.raises(ConfigError, match="salency"):
        load_config(DagrConfig, "tiny", {"salency.alpha": 0.2})
