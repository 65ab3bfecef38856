"""ssl_vqa's public names load lazily (so `vqa --help` does not import torch) and all resolve."""

import subprocess
import sys

import pytest

import ssl_vqa


@pytest.mark.parametrize("name", ssl_vqa.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(ssl_vqa, name) is not None


def test_import_and_command_parser_load_no_torch():
    code = (
        "import argparse, sys, ssl_vqa\n"
        "from ssl_vqa.command import add as add\n"
        "add(argparse.ArgumentParser().add_subparsers())\n"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
