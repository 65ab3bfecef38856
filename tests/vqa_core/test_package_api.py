"""The top-level vqa_core API: every advertised name resolves, and importing stays light."""


import pytest

import vqa_core
from vqa_core.testing import modules_imported_by


@pytest.mark.parametrize("name", vqa_core.__all__)
def test_every_exported_name_resolves(name):
    assert getattr(vqa_core, name) is not None


def test_unknown_attribute_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no_such_thing"):
        vqa_core.no_such_thing  # noqa: B018


def test_import_does_not_load_torch():
    assert modules_imported_by("import vqa_core", ("torch",)) == []


def test_import_probe_sees_what_a_snippet_imports():
    """The start-up tests' probe must report an import, or their `== []` would prove nothing."""
    assert modules_imported_by("import json, csv", ("csv", "torch", "json")) == ["csv", "json"]
