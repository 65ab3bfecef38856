"""`skipped_weight_init`: build networks without drawing their random initial weights.

`Method.load` builds a method's networks and then overwrites every weight from the checkpoint
(the methods load their state strictly), so the initialisation is wasted work, and not a small
one: for a Swin3D-T trunk with fragment bias, the truncated-normal draws and per-layer resets
were about 1 s of the 2.6 s a `vqa score` call spent building SSL-VQA's `small` model before
scoring a video (issue #18; the scoring itself took 2 s). Inside the context the
`torch.nn.init` functions are no-ops that return their tensor, so parameters keep whatever
`torch.empty` gave them: only use it where every parameter is then loaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from torch.nn import init

__all__ = ["skipped_weight_init"]

_INIT_FUNCTIONS = (
    "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_", "eye_", "dirac_",
    "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
)  # fmt: skip


def _keep(tensor, *args, **kwargs):
    return tensor


@contextlib.contextmanager
def skipped_weight_init() -> Iterator[None]:
    """Within the block, `torch.nn.init.*_` leave tensors as they are (restored on exit)."""
    saved = {name: getattr(init, name) for name in _INIT_FUNCTIONS if hasattr(init, name)}
    try:
        for name in saved:
            setattr(init, name, _keep)
        yield
    finally:
        for name, fn in saved.items():
            setattr(init, name, fn)
