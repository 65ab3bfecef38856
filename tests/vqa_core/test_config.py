"""vqa_core.config (YAML dataclass configs) and vqa_core.device (device resolution)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Literal

import pytest
import torch

from vqa_core.config import (
    config_hash,
    config_to_dict,
    dump_config,
    load_config,
    preset_names,
    without_pretrained,
)
from vqa_core.device import available_devices, resolve_device
from vqa_core.errors import ConfigError


@dataclass
class OptimCfg:
    PRESETS: ClassVar[dict[str, OptimCfg]]

    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    kind: Literal["adam", "sgd"] = "adam"


OptimCfg.PRESETS = {"slow": OptimCfg(lr=1e-5, kind="sgd")}


@dataclass
class ModelCfg:
    PRESETS: ClassVar[dict[str, ModelCfg]]

    depth: int = 2
    name: str = "tiny"
    warmup: int | float = 0
    frames: list[int] = field(default_factory=lambda: [8, 16])
    root: Path | None = None
    optim: OptimCfg = field(default_factory=OptimCfg)


ModelCfg.PRESETS = {"tiny": ModelCfg(depth=1), "full": ModelCfg(depth=12, optim=OptimCfg(lr=1e-4))}


@dataclass
class PlainCfg:
    size: int = 3


@dataclass
class WiderCfg(ModelCfg):
    width: int = 4  # a subclass without PRESETS of its own: it has no presets


@dataclass
class WeightsCfg:
    pretrained: bool = True
    tag: str | None = "openai"


@dataclass
class NetCfg:
    trunk: WeightsCfg = field(default_factory=WeightsCfg)
    clip: dict[str, str | None] = field(default_factory=lambda: {"pretrained": "openai"})
    epochs: int = 3


def test_defaults_dict_and_nested_dict() -> None:
    assert load_config(ModelCfg) == ModelCfg()
    cfg = load_config(ModelCfg, {"depth": 4, "optim": {"lr": 0.5, "betas": [0.8, 0.9]}})
    assert cfg.depth == 4
    assert cfg.optim == OptimCfg(lr=0.5, betas=(0.8, 0.9))
    assert isinstance(cfg.optim.betas, tuple)


def test_presets_are_the_class_attribute_only() -> None:
    assert load_config(ModelCfg, "full").depth == 12
    assert load_config(ModelCfg, "full").optim.lr == 1e-4
    assert preset_names(ModelCfg) == ["full", "tiny"]
    assert preset_names(PlainCfg) == [] and preset_names(WiderCfg) == []
    with pytest.raises(ConfigError, match=r"neither a preset of WiderCfg \(presets: none\)"):
        load_config(WiderCfg, "full")  # a subclass does not silently get its parent's presets
    assert load_config(ModelCfg, "tiny") is not ModelCfg.PRESETS["tiny"]  # a copy, safe to change


def test_unknown_preset_suggests_nearest() -> None:
    with pytest.raises(ConfigError, match=r"'tiny'\?"):
        load_config(ModelCfg, "tinyy")


def test_yaml_file_roundtrip(tmp_path: Path) -> None:
    cfg = ModelCfg(depth=7, frames=[1, 2, 3], root=Path("/data/x"), optim=OptimCfg(lr=3e-5, kind="sgd"))
    path = dump_config(cfg, tmp_path / "sub" / "model.yaml")
    assert load_config(ModelCfg, path) == cfg
    assert load_config(ModelCfg, str(path)) == cfg


def test_unknown_key_names_key_file_valid_keys_and_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("depth: 3\noptim:\n  lrr: 0.1\n")
    with pytest.raises(ConfigError) as err:
        load_config(ModelCfg, path)
    message = str(err.value)
    assert "'optim.lrr'" in message
    assert str(path) in message
    assert "did you mean 'lr'" in message
    assert "lr, betas, kind" in message


def test_bad_values_are_rejected_with_the_key() -> None:
    with pytest.raises(ConfigError, match="depth must be an integer"):
        load_config(ModelCfg, {"depth": "three"})
    with pytest.raises(ConfigError, match=r"optim\.kind='adamw' is not one of"):
        load_config(ModelCfg, {"optim": {"kind": "adamw"}})
    with pytest.raises(ConfigError, match="needs 2 values"):
        load_config(ModelCfg, {"optim": {"betas": [0.9]}})
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(ModelCfg, "missing/file.yaml")


def test_yaml_scientific_strings_and_int_float_union(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("warmup: 100\noptim:\n  lr: 1e-4\n")  # PyYAML reads 1e-4 as a string
    cfg = load_config(ModelCfg, path)
    assert cfg.optim.lr == pytest.approx(1e-4)
    assert cfg.warmup == 100 and isinstance(cfg.warmup, int)
    assert isinstance(load_config(ModelCfg, {"warmup": 0.1}).warmup, float)


def test_overrides_dotted_nested_and_strings() -> None:
    cfg = load_config(ModelCfg, "tiny", {"optim.lr": 0.25, "name": "x"})
    assert (cfg.depth, cfg.name, cfg.optim.lr) == (1, "x", 0.25)
    cfg = load_config(ModelCfg, None, ["optim.kind=sgd", "frames=[4, 5]"])
    assert cfg.optim.kind == "sgd" and cfg.frames == [4, 5]
    with pytest.raises(ConfigError, match=r"'optim\.momentum'"):
        load_config(ModelCfg, None, {"optim.momentum": 0.9})


def test_instance_source_is_copied() -> None:
    original = ModelCfg(depth=9)
    copy = load_config(ModelCfg, original, {"depth": 10})
    assert copy.depth == 10 and original.depth == 9


def test_config_hash_is_stable_and_sensitive() -> None:
    cfg = ModelCfg()
    expected_text = json.dumps(
        {
            "class": "ModelCfg",
            "config": {
                "depth": 2,
                "frames": [8, 16],
                "name": "tiny",
                "optim": {"betas": [0.9, 0.999], "kind": "adam", "lr": 0.001},
                "root": None,
                "warmup": 0,
            },
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    assert config_hash(cfg) == hashlib.sha256(expected_text.encode()).hexdigest()[:16]
    assert config_hash(ModelCfg()) == config_hash(load_config(ModelCfg, config_to_dict(cfg)))
    assert config_hash(ModelCfg(depth=3)) != config_hash(cfg)
    assert config_hash(ModelCfg(optim=OptimCfg(lr=2e-3))) != config_hash(cfg)


def test_config_hash_of_a_mapping_with_nested_config() -> None:
    a = config_hash({"config": ModelCfg(), "dataset": "demo"})
    assert a == config_hash({"dataset": "demo", "config": config_to_dict(ModelCfg())})
    assert a != config_hash({"config": ModelCfg(depth=5), "dataset": "demo"})


def test_config_hash_same_in_a_fresh_process() -> None:
    code = (
        "from dataclasses import dataclass\nfrom vqa_core.config import config_hash\n"
        "@dataclass\nclass PlainCfg:\n    size: int = 3\nprint(config_hash(PlainCfg()))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == config_hash(PlainCfg())


def test_resolve_device_cpu_and_auto() -> None:
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    auto = resolve_device("auto")
    assert str(auto) in available_devices() or auto.type == "cuda"
    if not torch.cuda.is_available():
        assert resolve_device(None) == torch.device("cpu") or auto.type == "mps"


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA error path")
def test_resolve_device_missing_cuda_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="CUDA is not available"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match="cuda:1"):
        resolve_device("cuda:1")


def test_resolve_device_bad_name() -> None:
    with pytest.raises(ConfigError, match="not a device name"):
        resolve_device("gpu0")


# --------------------------------------------------------------------------- preset inheritance


def test_yaml_preset_inheritance_overrides_only_what_it_lists(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text("preset: full\nname: mine\noptim:\n  kind: sgd\n")
    cfg = load_config(ModelCfg, path)
    assert (cfg.depth, cfg.name) == (12, "mine")
    assert cfg.optim == OptimCfg(lr=1e-4, kind="sgd")  # merged into the preset's optim, not replacing it
    assert load_config(ModelCfg, {"preset": "tiny"}) == ModelCfg.PRESETS["tiny"]


def test_nested_sections_name_their_own_presets() -> None:
    one_word = load_config(ModelCfg, {"preset": "full", "optim": "slow"})
    assert one_word.depth == 12 and one_word.optim == OptimCfg.PRESETS["slow"]
    # a nested `preset:` replaces the base's section, then its own keys apply
    nested = load_config(ModelCfg, {"preset": "full", "optim": {"preset": "slow", "lr": 0.5}})
    assert nested.optim == OptimCfg(lr=0.5, kind="sgd")
    # overrides may name presets too, and later overrides refine them
    cfg = load_config(ModelCfg, "full", ["optim=slow", "optim.lr=0.25"])
    assert cfg.optim == OptimCfg(lr=0.25, kind="sgd")
    assert load_config(ModelCfg, "full", ["preset=tiny"]) == ModelCfg.PRESETS["tiny"]


def test_unknown_inherited_preset_names_the_file_and_the_presets(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("preset: smal\n")
    with pytest.raises(ConfigError) as err:
        load_config(ModelCfg, path)
    assert str(path) in str(err.value) and "preset='smal' is not a preset of ModelCfg" in str(err.value)
    assert "presets: tiny, full" in str(err.value)
    path.write_text("optim: fast\n")
    with pytest.raises(ConfigError, match=r"optim='fast' is not a preset of OptimCfg"):
        load_config(ModelCfg, path)
    with pytest.raises(ConfigError, match="PlainCfg has no presets"):
        load_config(PlainCfg, {"preset": "small"})


# --------------------------------------------------------------------------- sections


def test_section_of_a_sectioned_file(tmp_path: Path) -> None:
    path = tmp_path / "both.yaml"
    path.write_text("a:\n  preset: tiny\n  name: first\nb:\n  depth: 5\n")
    first = load_config(ModelCfg, path, section="a", sections={"a", "b", "c"})
    assert (first.depth, first.name) == (1, "first")
    assert load_config(ModelCfg, path, ["depth=7"], section="b", sections={"a", "b"}).depth == 7
    with pytest.raises(ConfigError) as err:
        load_config(ModelCfg, path, section="c", sections={"a", "b", "c"})
    assert str(path) in str(err.value) and "none for 'c'" in str(err.value)


def test_a_file_without_sections_serves_every_section(tmp_path: Path) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text("depth: 4\n")
    assert load_config(ModelCfg, path, section="a", sections={"a", "b"}).depth == 4
    # keys that are both section names and fields of the class: a plain config, not sections
    path.write_text("depth: 4\nname: x\n")
    assert load_config(ModelCfg, path, section="depth", sections={"depth", "name"}).depth == 4


def test_unknown_key_inside_a_section_names_file_and_section(tmp_path: Path) -> None:
    path = tmp_path / "sections.yaml"
    path.write_text("a:\n  depht: 3\nb: {}\n")
    with pytest.raises(ConfigError) as err:
        load_config(ModelCfg, path, section="a", sections={"a", "b"})
    message = str(err.value)
    assert str(path) in message and "section 'a'" in message and "'depht'" in message
    assert "did you mean 'depth'" in message


def test_yaml_tag_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "tagged.yaml"
    path.write_text("a: !!python/object/apply:os.system ['true']\n")
    with pytest.raises(ConfigError) as err:
        load_config(ModelCfg, path, section="a", sections={"a"})
    assert str(path) in str(err.value) and "not valid YAML" in str(err.value)


# --------------------------------------------------------------------------- the offline switch


def test_without_pretrained_switches_every_depth_off() -> None:
    cfg = NetCfg()
    offline = without_pretrained(cfg)
    assert offline.trunk.pretrained is False
    assert offline.clip == {"pretrained": None}  # a weight tag becomes None
    assert offline.trunk.tag == "openai" and offline.epochs == 3  # other fields stay
    assert cfg.trunk.pretrained is True  # the input is not changed
    assert without_pretrained(offline) is offline  # nothing asked for weights: the same object


def test_a_presets_method_is_refused_with_the_fix() -> None:
    @dataclass
    class OldStyleCfg:
        size: int = 1

        @classmethod
        def presets(cls) -> dict[str, OldStyleCfg]:
            return {"tiny": cls(size=2)}

    with pytest.raises(ConfigError, match=r"defines a presets\(\) method; declare its presets as data"):
        load_config(OldStyleCfg, "tiny")
