"""Issue #14 point 3: each saliency-guided method's `full` preset trains its own paper's UNet3D.

STR-VQA used N=8 register tokens, DAGR-VQA N=4 and SC-VQA none; one shared N=4 stage gave STR and
SC a network their papers did not use. The stage key must differ per method, so no cached stage of
one method is reused by another.
"""

from __future__ import annotations

import pytest

from vqa_core.method import get_method

EXPECTED = {"str": ("attention", 8), "dagr": ("attention", 4), "sc": ("none", None)}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_full_preset_trains_its_papers_saliency_network(name: str, tmp_path) -> None:
    method = get_method(name)(config="full", device="cpu", cache_dir=tmp_path)
    model = method.saliency_stage_config().model
    registers, count = EXPECTED[name]
    assert model.registers == registers
    if count is not None:
        assert model.num_registers == count
    assert (model.channels, model.height, model.width) == ((64, 128, 256, 512, 1024), 224, 398)


def test_full_stage_keys_differ_between_methods(tmp_path) -> None:
    keys = {}
    for name in EXPECTED:
        (stage,) = get_method(name)(config="full", device="cpu", cache_dir=tmp_path).pretrain_stages()
        keys[name] = stage.key
    assert len(set(keys.values())) == 3, keys
