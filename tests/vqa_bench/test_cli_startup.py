"""`bench --help` is quick: building its parser and importing vqa_bench load no torch."""


import pytest

import vqa_bench
from vqa_core.testing import modules_imported_by


def test_bench_parser_builds_without_torch():
    code = "from vqa_bench.cli import build_parser\nbuild_parser()"
    assert modules_imported_by(code, ("torch", "torchvision", "av", "kornia", "open_clip")) == []


@pytest.mark.parametrize("name", vqa_bench.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(vqa_bench, name) is not None
