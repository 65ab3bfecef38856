"""Checks of the native-size data settings that several method configs share.

A method may read each video at its own frame size (`data.height = data.width = None`) and
then make its training views by cropping windows at native scale (`data.train_crop`) or by
resizing the native frame once (`data.view_size`). Those settings only make sense together
in a few ways, and a wrong mix fails late and obscurely (a batch of clips of different sizes,
a crop of already resized frames), so each config checks them in `__post_init__`. The rules
and their messages live here once, so STR / DAGR-VQA and SC-VQA state them alike.

Torch-free on purpose: configs are built where torch is not wanted (the `vqa` command's
start-up, config validation in tools), and this module imports only the error family.
"""

from __future__ import annotations

from collections.abc import Sequence

from vqa_core.errors import ConfigError

__all__ = ["check_native_batch", "check_native_size"]


def check_native_size(
    height: int | None,
    width: int | None,
    train_crop: Sequence[int] | None = None,
    view_size: Sequence[int] | None = None,
) -> None:
    """Check `data.height` / `data.width` / `data.train_crop` / `data.view_size` of one config.

    Height and width are given together (a decoded size) or both None (native size);
    `train_crop` and `view_size` act on native-size frames only, are `[height, width]` with
    positive entries, and are two alternative ways to make views, so at most one is set.
    Raises `ConfigError` naming the offending `data.*` field and what to set instead.
    """
    if (height is None) != (width is None):
        raise ConfigError(f"data.height={height}, data.width={width}: give both, or neither for native size")
    if train_crop is not None:
        if height is not None:
            raise ConfigError(
                "data.train_crop takes native-scale crops; set data.height and data.width to null "
                "(native size) or drop train_crop"
            )
        _check_size_pair("train_crop", train_crop)
        if view_size is not None:
            raise ConfigError("data.train_crop and data.view_size are two ways to make views; set one")
    if view_size is not None:
        if height is not None:
            raise ConfigError(
                "data.view_size resizes frames decoded at native size; set data.height and data.width "
                "to null or drop view_size"
            )
        _check_size_pair("view_size", view_size)


def check_native_batch(height: int | None, batch_size: int, *, same_size_views: bool, remedy: str) -> None:
    """Refuse training batches of more than one clip when clips keep their own frame sizes.

    `same_size_views` says whether the method's training views all have one size (a native
    crop or a resize makes them so); `remedy` completes the message with the method's own
    ways out, after "unless" (e.g. "data.train_crop crops them; set data.train_crop or
    trainer.batch_size=1").
    """
    if height is None and not same_size_views and batch_size > 1:
        raise ConfigError(
            "data.height/width=null reads videos at their own sizes, which cannot share a training batch "
            f"unless {remedy}"
        )


def _check_size_pair(name: str, value: Sequence[int]) -> None:
    if len(value) != 2 or min(value) < 1:
        raise ConfigError(f"data.{name}={value} must be [height, width]")
