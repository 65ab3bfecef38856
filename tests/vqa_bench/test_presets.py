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
    "DagrConfig/full": "dc9d68f165daa1fc",
    "DagrConfig/small": "90cfc15cad83ba7d",
    "DagrConfig/tiny": "effd6643f001a2f2",
    "LossConfig/literature": "5ef760dc2b64b774",
    "LossConfig/seed": "ffe9ca6785486e2c",
    "ModelConfig/full": "472f992f35566cc0",
    "ModelConfig/small": "5eb7a3a675936fb6",
    "ModelConfig/tiny": "8f19a4851ff3457f",
    "NssConfig/full": "f1fc469843cbbba3",
    "NssConfig/small": "0f1933190554fc2d",
    "NssConfig/tiny": "4046292b65e0e8af",
    "QasaConfig/full": "8f21292776d2f8c3",
    "QasaConfig/small": "3202d4230d2b87bf",
    "QasaConfig/tiny": "0eddac2c2f12274d",
    "SaliencyConfig/full": "59e0d654173cd3a1",
    "SaliencyConfig/small": "3826eec1ee54b4ca",
    "SaliencyConfig/tiny": "b604518b43ecba34",
    "ScConfig/full": "ca13983684c82340",
    "ScConfig/small": "312083f39b19c61c",
    "ScConfig/tiny": "8478d15a2c1f3db5",
    "SharpnessConfig/full": "9d7a061da2aecb8f",
    "SharpnessConfig/small": "feb09e56799e1eb8",
    "SharpnessConfig/tiny": "bc04e2eaa3ed04d5",
    "SslConfig/full": "910e564fec79bf79",
    "SslConfig/small": "eab2d252de152144",
    "SslConfig/tiny": "b414477359b9ebe4",
    "StVqrlConfig/full": "0870e8f39a00d6d9",
    "StVqrlConfig/small": "54eaf9dfa333221a",
    "StVqrlConfig/tiny": "6cbffe97908c0e44",
    "StrConfig/full": "89bc248346bf3463",
    "StrConfig/small": "c21981463a5f01fe",
    "StrConfig/tiny": "f693ef729eef7e5d",
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
