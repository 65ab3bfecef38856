"""How bench turns --config / --set / --no-pretrained into each method's config."""

from __future__ import annotations

import pytest

from vqa_bench.runner import method_overrides, resolve_method_config
from vqa_core.errors import ConfigError
from vqa_core.method import get_method

METHODS = {"dagr", "str", "sc", "stvqrl", "ssl", "qasa"}


def test_scoped_overrides_reach_only_their_method():
    items = ["trainer.epochs=3", "dagr:saliency.enabled=false", "str:model.layers=2"]
    assert method_overrides(items, "dagr", METHODS) == ["trainer.epochs=3", "saliency.enabled=false"]
    assert method_overrides(items, "str", METHODS) == ["trainer.epochs=3", "model.layers=2"]
    assert method_overrides(items, "ssl", METHODS) == ["trainer.epochs=3"]
    # a value may itself hold a colon: only a method name before the first ':' scopes
    assert method_overrides(["init_from=C:/w.pt"], "ssl", METHODS) == ["init_from=C:/w.pt"]


def test_scope_that_is_not_a_method_is_named():
    with pytest.raises(ConfigError, match=r"'dagrr' is not a registered method"):
        method_overrides(["dagrr:saliency.enabled=false"], "dagr", METHODS)


def test_scoped_override_changes_the_loaded_config():
    dagr = get_method("dagr")
    on = resolve_method_config(dagr, "tiny", "dagr", ["str:saliency.enabled=false"])
    off = resolve_method_config(dagr, "tiny", "dagr", ["dagr:saliency.enabled=false"])
    assert on.saliency.enabled is True
    assert off.saliency.enabled is False


@pytest.mark.parametrize(
    ("name", "paths"),
    [
        ("dagr", [("model", "pretrained")]),
        ("str", [("model", "pretrained")]),
        ("qasa", [("clip", "pretrained"), ("stvqrl", "backbone", "pretrained")]),
    ],
)
def test_no_pretrained_switches_every_weight_download_off(name, paths):
    cls = get_method(name)
    # the full presets ask for ImageNet / Kinetics / OpenAI CLIP weights
    full = resolve_method_config(cls, "full", name)
    offline = resolve_method_config(cls, "full", name, no_pretrained=True)
    asked = []
    for path in paths:
        value, off = full, offline
        for key in path:
            value, off = getattr(value, key), getattr(off, key)
        asked.append(value)
        assert off in (False, None), f"{name}: {'.'.join(path)} is still {off!r}"
    assert any(v not in (False, None) for v in asked), f"{name}'s full preset asks for no weights"
    # nothing else moves
    assert offline.trainer == full.trainer


def test_a_sectioned_yaml_configures_each_method_from_its_preset(tmp_path):
    path = tmp_path / "ablations.yaml"
    path.write_text("dagr:\n  preset: tiny\n  saliency: {enabled: false}\nsc:\n  preset: tiny\n")
    dagr = resolve_method_config(get_method("dagr"), str(path), "dagr", ["trainer.epochs=1"])
    assert dagr.saliency.enabled is False and dagr.trainer.epochs == 1
    assert dagr.model == get_method("dagr").config_class.PRESETS["tiny"].model
    with pytest.raises(ConfigError) as err:
        resolve_method_config(get_method("str"), str(path), "str")
    assert str(path) in str(err.value) and "none for 'str'" in str(err.value)


def test_errors_inside_a_method_section_name_the_file(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("dagr:\n  preset: tiny\n  salency: {enabled: false}\nsc: {}\n")
    with pytest.raises(ConfigError) as err:
        resolve_method_config(get_method("dagr"), str(path), "dagr")
    assert str(path) in str(err.value) and "section 'dagr'" in str(err.value) and "'salency'" in str(err.value)
    path.write_text("dagr: !!python/name:os.system\nsc: {}\n")
    with pytest.raises(ConfigError) as err:
        resolve_method_config(get_method("dagr"), str(path), "dagr")
    assert str(path) in str(err.value) and "not valid YAML" in str(err.value)
