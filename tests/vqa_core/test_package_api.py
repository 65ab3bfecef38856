"""The top-level vqa_core API: every advertised name resolves, and importing stays light."""

import subprocess
import sys

import pytest

import vqa_core


@pytest.mark.parametrize("name", vqa_core.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(vqa_core, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        vqa_core.no_such_thing  # noqa: B018


def test_import_does_not_load_torch():
    code = "import sys, vqa_core; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
