"""`bench --help` is quick: building its parser and importing vqa_bench load no torch."""

import subprocess
import sys

import pytest

import vqa_bench


def test_bench_parser_builds_without_torch():
    code = (
        "import sys\n"
        "from vqa_bench.cli import build_parser\n"
        "build_parser()\n"
        "print(sorted(m for m in ('torch', 'torchvision', 'av', 'kornia', 'open_clip') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", vqa_bench.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(vqa_bench, name) is not None
