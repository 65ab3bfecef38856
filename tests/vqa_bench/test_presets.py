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
    "DagrConfig/full": "a3bdd6dc4949033b",
    "DagrConfig/small": "b3cc9cc0223e27b9",
    "DagrConfig/tiny": "971917ec896f5cc3",
    "LossConfig/literature": "5ef760dc2b64b774",
    "LossConfig/seed": "ffe9ca6785486e2c",
    "ModelConfig/full": "472f992f35566cc0",
    "ModelConfig/small": "5eb7a3a675936fb6",
    "ModelConfig/tiny": "8f19a4851ff3457f",
    "NssConfig/full": "f1fc469843cbbba3",
    "NssConfig/small": "0f1933190554fc2d",
    "NssConfig/tiny": "4046292b65e0e8af",
    "QasaConfig/full": "391a332cba372f95",
    "QasaConfig/small": "ffa3e9d4d69e096d",
    "QasaConfig/tiny": "9972f09118ef2b51",
    "SaliencyConfig/full": "59e0d654173cd3a1",
    "SaliencyConfig/full-dagr": "2ff54e45c5b4f482",
    "SaliencyConfig/full-sc": "b0a1cdc7b256ce72",
    "SaliencyConfig/full-str": "bf5e50b3e0e53b17",
    "SaliencyConfig/small": "3826eec1ee54b4ca",
    "SaliencyConfig/tiny": "b604518b43ecba34",
    "ScConfig/full": "4f2cef461e5dd6f1",
    "ScConfig/small": "45060ae211ce42d6",
    "ScConfig/tiny": "c0aabbd52dc4b028",
    "SharpnessConfig/full": "9d7a061da2aecb8f",
    "SharpnessConfig/small": "feb09e56799e1eb8",
    "SharpnessConfig/tiny": "bc04e2eaa3ed04d5",
    "SslConfig/full": "183352e2626f5fe2",
    "SslConfig/small": "65d9bea209cff8da",
    "SslConfig/tiny": "8c899f89ce002d6f",
    "StVqrlConfig/full": "0870e8f39a00d6d9",
    "StVqrlConfig/small": "54eaf9dfa333221a",
    "StVqrlConfig/tiny": "6cbffe97908c0e44",
    "StrConfig/full": "45ef2dc278f27103",
    "StrConfig/small": "a23cfb384eeaecfa",
    "StrConfig/tiny": "abcd70dec7f6ca50",
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
