"""ssl_vqa's public names load lazily (so `vqa --help` does not import torch) and all resolve."""


import pytest

import ssl_vqa
from vqa_core.testing import modules_imported_by


@pytest.mark.parametrize("name", ssl_vqa.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(ssl_vqa, name) is not None


def test_import_and_command_parser_load_no_torch():
    code = (
        "import argparse, ssl_vqa\n"
        "from ssl_vqa.command import add as add\n"
        "add(argparse.ArgumentParser().add_subparsers())"
    )
    assert modules_imported_by(code, ("torch",)) == []
