"""Which pictures each embedded set films, and the check that the labelled `demo` shares none of them.

The `demo` is the only set with quality labels and the one benchmarks test on. `demo-pretrain`
(ST-VQRL's self-supervised stage) and `demo-saliency` (the saliency UNet3D's training data)
train the trunks that methods later fine-tune on the demo; if they showed a demo scene's
content, a benchmark split's test scenes would have been seen in pretraining. So no photo and
no clip frame is used by the demo and by either of the other two sets. Those two may share
content with each other: neither carries quality labels.

A `ContentUse` is a photo (any use of it, as a scene, a background or a sprite, counts as the
whole photo) or a window of frames [first, stop) of a clip (windows shift back at a clip's end,
`vqa_core.demo.sources.clip_window`). Two uses overlap when they name the same photo, or the
same clip with intersecting windows. The check is static (no pixels are read): the builders
run it when they validate their configs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vqa_core.errors import ConfigError

__all__ = ["ContentUse", "check_demo_sets_disjoint", "content_overlaps", "scene_content"]


@dataclass(frozen=True, order=True)
class ContentUse:
    """A photo (`frames` None) or frames [first, stop) of a clip."""

    source: str
    frames: tuple[int, int] | None = None

    def overlaps(self, other: ContentUse) -> bool:
        if self.source != other.source:
            return False
        if self.frames is None or other.frames is None:
            return True
        return self.frames[0] < other.frames[1] and other.frames[0] < self.frames[1]

    def __str__(self) -> str:
        return self.source if self.frames is None else f"{self.source}[{self.frames[0]}:{self.frames[1]}]"


def scene_content(kind: str, source: str, start: int, num_frames: int) -> ContentUse:
    """The content a scene (or a saliency background) of `kind` "clip" or "still" films."""
    if kind == "clip":
        from vqa_core.demo.sources import clip_window

        return ContentUse(source, clip_window(source, start, num_frames))
    return ContentUse(source)


def content_overlaps(a: Iterable[ContentUse], b: Iterable[ContentUse]) -> list[tuple[ContentUse, ContentUse]]:
    """Every pair (x from a, y from b) that films the same photo or the same clip frames, sorted."""
    b = sorted(set(b))
    return sorted({(x, y) for x in set(a) for y in b if x.overlaps(y)})


def check_demo_sets_disjoint(demo: Any = None, pretrain: Any = None, saliency: Any = None) -> None:
    """Raise `ConfigError` if the demo shares content with demo-pretrain or demo-saliency.

    Each argument is that set's config; None stands for its default (for the demo: every scene
    of the catalogue, so a smaller `--scenes` build is covered too).
    """
    from vqa_core.demo.build import DemoConfig
    from vqa_core.demo.pretrain_set import DemoPretrainConfig
    from vqa_core.demo.saliency import SaliencyDemoConfig

    demo_uses = (demo or DemoConfig()).content()
    for name, cfg in (
        ("demo-pretrain", pretrain or DemoPretrainConfig()),
        ("demo-saliency", saliency or SaliencyDemoConfig()),
    ):
        shared = content_overlaps(demo_uses, cfg.content())
        if shared:
            pairs = ", ".join(f"{x} / {y}" for x, y in shared)
            raise ConfigError(
                f"the demo and {name} would film the same content ({pairs}): a benchmark's test scenes would "
                f"have been seen in pretraining. Give {name} other photos or clip frames "
                "(vqa_core.demo.content explains the rule)"
            )
