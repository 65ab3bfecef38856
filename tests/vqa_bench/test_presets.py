"""Every config class keeps its presets in one flat `PRESETS`, and their values are pinned.

The golden hashes below are `config_hash` of each preset (class name + every value). They were
taken before presets moved into `Cls.PRESETS` (commit ab402e6), so they prove that move changed
no value. A change that moves one on purpose updates its hash here and says why in the commit:
the hash keys cached pretraining stages, so a changed preset also retrains its stage.
"""

from __future__ import annotations

import pytest

from saliency_core.config import LossConfig, ModelConfig, SaliencyConfig
from vqa_core.config import config_hash, load_config, preset_names
from vqa_core.method import get_method, list_methods

GOLDEN = {
    "BitrateConfig/full": "be655c32ce5ef9e8",
    "BitrateConfig/small": "be655c32ce5ef9e8",
    "BitrateConfig/tiny": "be655c32ce5ef9e8",
    "DagrConfig/full": "3acb529cbe917caf",
    "DagrConfig/small": "fa0bf21d8fe61a78",
    "DagrConfig/tiny": "a309d18ecc21f3d7",
    "LossConfig/literature": "5ef760dc2b64b774",
    "LossConfig/seed": "ffe9ca6785486e2c",
    "ModelConfig/full": "472f992f35566cc0",
    "ModelConfig/small": "5eb7a3a675936fb6",
    "ModelConfig/tiny": "8f19a4851ff3457f",
    "NssConfig/full": "f1fc469843cbbba3",
    "NssConfig/small": "0f1933190554fc2d",
    "NssConfig/tiny": "4046292b65e0e8af",
    "QasaConfig/full": "22b610217e07b0dd",
    "QasaConfig/small": "a86cf1e154a4f264",
    "QasaConfig/tiny": "890fc5c916295006",
    "SaliencyConfig/full": "1c8961551b271a26",
    "SaliencyConfig/full-dagr": "25238beb84281fc3",
    "SaliencyConfig/full-sc": "5df582d2959b77ee",
    "SaliencyConfig/full-str": "97f02fd98099c3e8",
    "SaliencyConfig/small": "08ddc0e9a657ae6b",
    "SaliencyConfig/tiny": "47442c0b9d0881eb",
    "ScConfig/full": "c74e42c6b80ff12e",
    "ScConfig/small": "589d585510dbf0b0",
    "ScConfig/tiny": "441d00f7dbab3bec",
    "SharpnessConfig/full": "9d7a061da2aecb8f",
    "SharpnessConfig/small": "feb09e56799e1eb8",
    "SharpnessConfig/tiny": "bc04e2eaa3ed04d5",
    "SslConfig/full": "7f724e7f5c881fb2",
    "SslConfig/small": "b642adcbf0669703",
    "SslConfig/tiny": "357ee2661e42d281",
    "StVqrlConfig/full": "7135df6987c8a1e4",
    "StVqrlConfig/small": "30f80a65540b7cf2",
    "StVqrlConfig/tiny": "9a5c99de9707667b",
    "StrConfig/full": "c826d50c1b21fe09",
    "StrConfig/small": "ced3da46a921c878",
    "StrConfig/tiny": "84ea94d532604b04",
}
METHODS = list_methods()


def _config_classes() -> list[type]:
    """Every registered method's config class, and the saliency stage's classes."""
    return sorted(
        {get_method(name).config_class for name in METHODS} | {SaliencyConfig, ModelConfig, LossConfig},
        key=lambda cls: cls.__name__,
    )


@pytest.mark.parametrize("name", METHODS)
def test_every_method_config_has_flat_size_presets_of_its_own_class(name: str) -> None:
    cls = get_method(name).config_class
    assert set(preset_names(cls)) == {"tiny", "small", "full"}, name
    for size, preset in cls.PRESETS.items():
        assert type(preset) is cls, f"{cls.__name__}.PRESETS[{size!r}] is a {type(preset).__name__}"
        assert load_config(cls, size) == preset


def test_preset_values_are_the_pinned_ones() -> None:
    found = {
        f"{cls.__name__}/{size}": config_hash(preset)
        for cls in _config_classes()
        for size, preset in cls.PRESETS.items()
    }
    assert set(found) == set(GOLDEN), "a preset was added or removed: update GOLDEN"
    moved = {key: (GOLDEN[key], value) for key, value in found.items() if value != GOLDEN[key]}
    assert not moved, f"preset values changed (golden, now): {moved}"
