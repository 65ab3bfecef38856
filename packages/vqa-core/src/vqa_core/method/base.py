"""The `Method` base class: the whole contract between a VQA method and the tools that run it.

The bench runner, `vqa score` and the contract test only ever call what is declared here, so a
method (a paper's, a floor baseline, a third party's) is complete when it implements the four
abstract methods, and a tool never has to guess an attribute by duck typing.
"""

from __future__ import annotations

import dataclasses
import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import torch

from vqa_core.config import config_to_dict, load_config
from vqa_core.device import resolve_device
from vqa_core.errors import ConfigError, VideoDecodeError, VqaError
from vqa_core.method.calibration import ScoreCalibration
from vqa_core.method.checkpoint import read_method_checkpoint, write_method_checkpoint
from vqa_core.method.weight_init import skipped_weight_init

if TYPE_CHECKING:
    from torch import nn

    from vqa_core.datasets import ManifestItem
    from vqa_core.stages import PretrainStage, StageResult

__all__ = ["Method", "ScoreReport", "as_manifest_items"]

M = TypeVar("M", bound="Method")


@dataclass
class ScoreReport:
    """Per-item scores and timings of one scoring call.

    - `scores`: float64 on the MOS scale of the training data, NaN where an item was not scored;
    - `decode_s`: per item seconds of decoding and preprocessing (NaN where not scored);
    - `model_s`: per item seconds in the networks, saliency model included (NaN where not scored);
    - `errors`: None where the item was scored, else the reason, naming the file;
    - `parts`: optional finer per-item timings (e.g. `"saliency_s"`, part of `model_s`).

    With prefetching DataLoader workers decoding overlaps the model, so `decode_s + model_s`
    of an item can exceed its share of the wall time.
    """

    scores: np.ndarray
    decode_s: np.ndarray
    model_s: np.ndarray
    errors: list[str | None]
    parts: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.scores = np.asarray(self.scores, dtype=np.float64).reshape(-1)
        self.decode_s = np.asarray(self.decode_s, dtype=np.float64).reshape(-1)
        self.model_s = np.asarray(self.model_s, dtype=np.float64).reshape(-1)
        self.errors = list(self.errors)
        self.parts = {k: np.asarray(v, dtype=np.float64).reshape(-1) for k, v in self.parts.items()}
        n = len(self.errors)
        lengths = {
            "scores": len(self.scores),
            "decode_s": len(self.decode_s),
            "model_s": len(self.model_s),
            **{f"parts[{k!r}]": len(v) for k, v in self.parts.items()},
        }
        bad = {k: v for k, v in lengths.items() if v != n}
        if bad:
            raise ValueError(f"ScoreReport: {n} errors entries but lengths {bad}; every field has one entry per item")

    @property
    def ok(self) -> np.ndarray:
        """Boolean mask of the items that were scored."""
        return np.array([e is None for e in self.errors], dtype=bool)

    def __len__(self) -> int:
        return len(self.errors)

    @classmethod
    def empty(cls) -> ScoreReport:
        """The report of scoring no item."""
        nothing = np.zeros((0,), dtype=np.float64)
        return cls(nothing, nothing, nothing, [])


class Method(ABC):
    """Base class of every VQA method registered under the entry-point group `vqa_zoo.methods`.

    ```python
    class DagrMethod(Method):
        name = "dagr"                 # the entry-point name
        config_class = DagrConfig     # dataclass with presets {"tiny", "small", "full"}

        def fit(self, train, val, work_dir, *, resume=True, progress=True) -> dict: ...
        def score(self, items, *, progress=False) -> ScoreReport: ...
        def state_dict(self) -> dict: ...                    # tensors / plain containers only
        def load_state_dict(self, state) -> None: ...
    ```

    - `__init__(config=None, device="auto")`: `config` is a preset name, YAML path, dict or
      instance of `config_class` (resolved with `vqa_core.config.load_config`); `device` goes
      through `vqa_core.device.resolve_device`.
    - `fit` selects on `val` only (never on test) and sets `self.calibration`, the map from the
      model's raw output to the training data's MOS scale (train-part statistics only). Stages
      it needs and was not handed (`use_pretrained`) it builds with `ensure_pretrained`.
    - `score` never raises for a video it cannot decode: that item gets NaN and its reason.
      `predict` is `score` for callers that want an exception instead.
    - `cost_parts`, `caveats`, `pretrain_stages` / `use_pretrained` are the optional hooks the
      bench runner and `vqa score` call; their defaults describe a method without networks,
      caveats or stages. `init_for_scoring(seed)` readies an untrained method for `score` with
      random weights (for timing; every registered method implements it).
    - `save(path)` / `Method.load(path)`: a self-describing checkpoint (`.pt` or `.safetensors`).
    """

    name: ClassVar[str] = ""
    config_class: ClassVar[type]

    def __init__(self, config: Any = None, device: str | torch.device = "auto") -> None:
        cls = type(self)
        if not hasattr(cls, "config_class"):
            raise TypeError(f"{cls.__name__} must set the class attribute `config_class`")
        self.config = load_config(cls.config_class, config)
        self.device = resolve_device(device)
        self.calibration: ScoreCalibration = ScoreCalibration()

    # -- to implement ---------------------------------------------------------------------
    @abstractmethod
    def fit(
        self,
        train: Sequence[ManifestItem],
        val: Sequence[ManifestItem],
        work_dir: str | Path,
        *,
        resume: bool = True,
        progress: bool = True,
    ) -> dict[str, Any]:
        """Train on `train`, select on `val`, set `self.calibration`; return the history."""

    @abstractmethod
    def score(self, items: Sequence[ManifestItem] | Sequence[str | Path], *, progress: bool = False) -> ScoreReport:
        """Scores and per-item decode/model seconds, in input order; an undecodable video gives
        NaN and its reason (naming the file), never an exception. Untrained: raise VqaError."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything `load_state_dict` needs: tensors and plain containers/primitives only."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned (the config is already set by `__init__`)."""

    # -- derived --------------------------------------------------------------------------
    def predict(self, items: Sequence[ManifestItem] | Sequence[str | Path], *, progress: bool = False) -> np.ndarray:
        """Scores on the training data's MOS scale, one per item, in input order.

        Raises `VideoDecodeError` naming the first file that could not be scored.
        """
        report = self.score(items, progress=progress)
        failed = [e for e in report.errors if e is not None]
        if failed:
            more = f" ({len(failed)} of {len(report)} videos failed)" if len(failed) > 1 else ""
            raise VideoDecodeError(f"{self.name}: cannot score {failed[0]}{more}")
        return report.scores

    # -- optional hooks ---------------------------------------------------------------------
    def cost_parts(self) -> dict[str, tuple[nn.Module, tuple[Any, ...]]]:
        """Every network that runs to score one new video, with the positional inputs of that
        run: e.g. `{"model": (net, (frames, maps)), "saliency model": (unet, (windows,))}`.

        The bench counts their parameters and FLOPs (one video, batch 1); "model" is the part
        `fit` trains. Default `{}`: no network, the cost is reported as n/a.
        """
        return {}

    def caveats(self) -> list[str]:
        """Short labels for ingredients that are not what the paper used and would make a
        number pretend (e.g. `["CLIP random"]`); the bench shows them next to the method name."""
        return []

    def pretrain_stages(self) -> list[PretrainStage]:
        """Cacheable pretraining artifacts this method needs before `fit` (default: none)."""
        return []

    def use_pretrained(self, name: str, folder: Path) -> None:
        """Receive the folder of a built pretraining stage (the runner calls it before `fit`)."""
        raise VqaError(f"method {self.name!r} has no pretraining stage named {name!r}")

    def ensure_pretrained(
        self, root: str | Path | None = None, *, log: Callable[[str], Any] | None = None
    ) -> list[StageResult]:
        """Build (or reuse) every stage of `pretrain_stages()` through `vqa_core.stages.ensure_stage`
        and hand each to `use_pretrained`: what a plain `fit` does without a runner, so a stage
        built by the runner (same root) is reused here and the other way round."""
        from vqa_core.stages import ensure_stage

        results = []
        for stage in self.pretrain_stages():
            result = ensure_stage(stage, root, log=log)
            self.use_pretrained(stage.name, result.folder)
            results.append(result)
        return results

    def init_for_scoring(self, seed: int = 0) -> None:
        """Make `score` runnable without training: every network with random weights (seed
        `seed`, nothing downloaded), an untrained stand-in for any fitted regressor, the
        identity calibration. The scores mean nothing; what it is for is timing and smoke-testing
        the scoring path (the speed benchmark, `vqa score` checks) at a preset's real sizes.
        A method that cannot do it raises `VqaError` (the default)."""
        raise VqaError(f"method {self.name!r} cannot be set up for scoring without training; fit it or load one")

    # -- checkpoints ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a self-describing checkpoint (`.pt` weights_only-safe, or `.safetensors`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "method": self.name,
            "config": config_to_dict(self.config),
            "calibration": self.calibration.to_dict(),
        }
        return write_method_checkpoint(path, meta, self.state_dict())

    @classmethod
    def load(cls: type[M], path: str | Path, device: str | torch.device = "auto") -> M:
        """Rebuild a method from a checkpoint; `Method.load` finds the class by its stored name."""
        return cls.from_checkpoint(read_method_checkpoint(path), device=device, source=path)

    @classmethod
    def from_checkpoint(
        cls: type[M], ckpt: Mapping[str, Any], *, device: str | torch.device = "auto", source: str | Path = "checkpoint"
    ) -> M:
        """`load` from what `read_method_checkpoint(source)` returned, for callers that have
        read it already (`vqa score` checks the stored method name first): a checkpoint is
        read once, not twice (0.1 s for a small Swin3D pair)."""
        from vqa_core.method.registry import get_method

        path = source
        target = get_method(ckpt["method"]) if cls is Method or getattr(cls, "name", "") == "" else cls
        if cls is not Method and not issubclass(target, cls):
            raise VqaError(f"{path} holds a {ckpt['method']!r} checkpoint, not {cls.__name__}")
        if target.name != ckpt["method"]:
            raise VqaError(
                f"{path} was saved by method {ckpt['method']!r} but is being loaded as {target.name!r}; "
                f"use vqa_core.method.Method.load or get_method({ckpt['method']!r}).load"
            )
        try:
            config = load_config(target.config_class, ckpt["config"])
        except ConfigError as err:
            raise ConfigError(f"{path}: stored config no longer matches {target.__name__}: {err}") from err
        with skipped_weight_init():  # every weight comes from the checkpoint: drawing them first is waste
            method = target(config=config, device=device)
            method.calibration = ScoreCalibration.from_dict(ckpt.get("calibration") or {})
            method.load_state_dict(ckpt["state"])
        return method

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, device={str(self.device)!r})"


def as_manifest_items(items: Sequence[Any]) -> list[ManifestItem]:
    """Accept manifest items or bare video paths (for scoring a folder of files)."""
    from vqa_core.datasets import ManifestItem

    out: list[ManifestItem] = []
    for item in items:
        if isinstance(item, (str, os.PathLike)):
            p = Path(item)
            out.append(ManifestItem(video_id=p.stem, path=p, mos=float("nan"), split="predict", extra={}))
        elif dataclasses.is_dataclass(item) and hasattr(item, "path"):
            out.append(item)
        else:
            raise VqaError(f"cannot score {item!r}: pass ManifestItems or video paths")
    return out
