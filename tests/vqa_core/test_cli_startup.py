"""`vqa --help` must be quick: building the parser (every installed command plugin) imports no torch.

Each plugin is loaded in a fresh interpreter and the heavy libraries it pulled in are listed, so a
failure names the command module that imports torch (or PyAV, kornia, ...) at its top level.
"""

import argparse
import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from vqa_core.cli import COMMAND_GROUP

HEAVY = ("torch", "torchvision", "av", "kornia", "open_clip", "scipy", "sklearn", "dagr_vqa", "sc_vqa")

LOAD_EACH_PLUGIN = """
import argparse, json, sys
from importlib.metadata import entry_points
heavy = json.loads(sys.argv[1])
out = {}
for ep in sorted(entry_points(group=sys.argv[2]), key=lambda e: e.name):
    before = set(sys.modules)
    ep.load()(argparse.ArgumentParser().add_subparsers())
    out[f"{ep.name} ({ep.value})"] = sorted(m for m in heavy if m in sys.modules and m not in before)
print(json.dumps(out))
"""

BUILD_PARSER = """
import argparse, json, sys
from vqa_core.cli import build_parser
parser = build_parser()
sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
names = sorted(sub.choices)
print(json.dumps({"commands": names, "heavy": sorted(m for m in json.loads(sys.argv[1]) if m in sys.modules)}))
"""


def _run(code: str, *args: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_no_command_plugin_imports_heavy_libraries_to_build_its_parser():
    if not list(entry_points(group=COMMAND_GROUP)):
        pytest.skip("no vqa command plugins installed")
    loaded = _run(LOAD_EACH_PLUGIN, json.dumps(HEAVY), COMMAND_GROUP)
    offenders = {name: mods for name, mods in loaded.items() if mods}
    assert not offenders, f"command plugins import heavy libraries at parser build time: {offenders}"


def test_vqa_parser_builds_without_torch_and_lists_every_plugin():
    report = _run(BUILD_PARSER, json.dumps(HEAVY))
    assert report["heavy"] == []
    expected = {ep.name for ep in entry_points(group=COMMAND_GROUP)}
    assert set(report["commands"]) == expected


def test_each_command_help_prints(capsys):
    from vqa_core.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name in sub.choices:
        with pytest.raises(SystemExit) as exit_info:
            parser.parse_args([name, "--help"])
        assert exit_info.value.code == 0
        assert f"vqa {name}" in capsys.readouterr().out


@pytest.mark.parametrize("package", ["vqa_core.datasets", "vqa_core.demo"])
def test_lazy_packages_resolve_every_exported_name(package):
    from importlib import import_module

    module = import_module(package)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
