"""Shared fixtures of the ssl_vqa tests."""

from __future__ import annotations

import re

import pytest


def _to_fastvqa(name: str) -> str:
    """torchvision Swin3D name -> FAST-VQA SwinTransformer3D name (written here, independently)."""
    m = re.match(r"features\.(\d+)\.(\d+)\.(.*)", name)
    if m and int(m[1]) % 2 == 0:
        rest = m[3].replace("mlp.0.", "mlp.fc1.").replace("mlp.3.", "mlp.fc2.")
        return f"layers.{int(m[1]) // 2}.blocks.{m[2]}.{rest}"
    m = re.match(r"features\.(\d+)\.(.*)", name)
    if m:
        return f"layers.{(int(m[1]) - 1) // 2}.downsample.{m[2]}"
    return name


@pytest.fixture
def to_fastvqa():
    """torchvision Swin3D name -> the released FAST-VQA name (the layout of the authors' checkpoints)."""
    return _to_fastvqa
