"""saliency-core's command plugins build their parsers without torch, and the package imports lazily."""

import argparse

import pytest

import saliency_core
from saliency_core.command import TRAIN_PRESETS, add_train_command
from saliency_core.config import SaliencyConfig
from vqa_core.testing import modules_imported_by


def test_help_lists_exactly_the_config_presets():
    assert list(TRAIN_PRESETS) == list(SaliencyConfig.PRESETS)


def test_train_parser_runs_the_training_entry():
    from saliency_core.command import run_train

    parser = argparse.ArgumentParser()
    add_train_command(parser.add_subparsers())
    args = parser.parse_args(["saliency-train", "--out", "runs/x", "--registers", "concat", "--set", "a=1"])
    assert args.func is run_train
    assert (args.config, args.registers, args.overrides) == ("small", "concat", ["a=1"])


def test_the_old_import_path_of_the_train_command_still_works():
    from saliency_core.train import add_train_command as old

    assert old is add_train_command


def test_package_and_command_parsers_import_no_torch():
    code = (
        "import argparse, saliency_core\n"
        "from saliency_core.command import add_saliency_command, add_train_command\n"
        "sub = argparse.ArgumentParser().add_subparsers()\n"
        "add_saliency_command(sub); add_train_command(sub)"
    )
    assert modules_imported_by(code, ("torch", "numpy", "av", "kornia")) == []


@pytest.mark.parametrize("name", saliency_core.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(saliency_core, name) is not None


def test_submodules_stay_reachable_as_attributes():
    assert saliency_core.stage.SALIENCY_STAGE == "saliency"
    with pytest.raises(AttributeError, match="no_such_thing"):
        saliency_core.no_such_thing  # noqa: B018
