"""load_checkpoint refuses what is not a vqa-zoo checkpoint, and says only that (#16.7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from vqa_core.errors import VqaError
from vqa_core.train import load_checkpoint, save_checkpoint


class _Payload:
    """Unpickling this would run a shell command: weights_only must refuse it."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


def _random_bytes(d: Path) -> Path:
    (d / "random.pt").write_bytes(os.urandom(4096))
    return d / "random.pt"


def _truncated(d: Path) -> Path:
    data = save_checkpoint({"w": torch.ones(100)}, d / "good.pt").read_bytes()
    (d / "cut.pt").write_bytes(data[: len(data) // 2])
    return d / "cut.pt"


def _pickled_code(d: Path) -> Path:
    torch.save({"model": _Payload()}, d / "evil.pt")
    return d / "evil.pt"


def _text(d: Path) -> Path:
    (d / "notes.pt").write_text("not a checkpoint\n")
    return d / "notes.pt"


@pytest.mark.parametrize("case", [_random_bytes, _truncated, _pickled_code, _text], ids=lambda c: c.__name__[1:])
def test_foreign_files_are_named_and_unsafe_advice_is_not_repeated(tmp_path: Path, monkeypatch, case) -> None:
    monkeypatch.chdir(tmp_path)
    path = case(tmp_path)
    with pytest.raises(VqaError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert message.startswith(f"{path} is not a vqa-zoo checkpoint")
    assert "weights_only" not in message and "arbitrary code" not in message
    assert info.value.__cause__ is None and info.value.__suppress_context__  # PyTorch's text is not chained
    assert not (tmp_path / "pwned").exists()


def test_a_non_dict_file_is_not_a_checkpoint(tmp_path: Path) -> None:
    torch.save(torch.ones(2), tmp_path / "tensor.pt")
    with pytest.raises(VqaError, match=r"tensor\.pt is not a vqa-zoo checkpoint \(it holds a Tensor"):
        load_checkpoint(tmp_path / "tensor.pt")
