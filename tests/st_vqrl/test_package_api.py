"""st_vqrl's public names load lazily (so `vqa --help` does not import torch) and all resolve."""


import pytest

import st_vqrl
from vqa_core.testing import modules_imported_by


@pytest.mark.parametrize("name", st_vqrl.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(st_vqrl, name) is not None


def test_import_and_command_parser_load_no_torch():
    code = (
        "import argparse, st_vqrl\n"
        "from st_vqrl.command import add_command as add\n"
        "add(argparse.ArgumentParser().add_subparsers())"
    )
    assert modules_imported_by(code, ("torch",)) == []
