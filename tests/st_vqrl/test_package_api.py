"""st_vqrl's public names load lazily (so `vqa --help` does not import torch) and all resolve."""

import subprocess
import sys

import pytest

import st_vqrl


@pytest.mark.parametrize("name", st_vqrl.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(st_vqrl, name) is not None


def test_import_and_command_parser_load_no_torch():
    code = (
        "import argparse, sys, st_vqrl\n"
        "from st_vqrl.command import add_command as add\n"
        "add(argparse.ArgumentParser().add_subparsers())\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
