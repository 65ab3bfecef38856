"""The Method protocol every NR-VQA method implements, its score calibration, and the registry.

Shape of a method (one per published paper; the bench and `vqa score` only see this):

```python
class DagrMethod(Method):
    name = "dagr"                 # the entry-point name
    config_class = DagrConfig     # dataclass with PRESETS {"tiny", "small", "full"}

    def fit(self, train, val, work_dir, *, resume=True, progress=True) -> dict: ...
    def predict(self, items) -> np.ndarray: ...          # MOS scale of the training data
    def state_dict(self) -> dict: ...                    # tensors / plain containers only
    def load_state_dict(self, state) -> None: ...
```

- `__init__(config=None, device="auto")`: `config` is a preset name, YAML path, dict or
  instance of `config_class` (resolved with `vqa_core.config.load_config`); `device` goes
  through `vqa_core.device.resolve_device`.
- `fit` selects on `val` only (never on test) and fills `self.calibration`, the mapping from
  the model's raw output to the training data's MOS scale (statistics of the train part only).
- `save(path)` writes a checkpoint that records the method name, its config (as a plain dict),
  the calibration and library versions (as strings), so `Method.load(path)` needs nothing else:
  it looks the class up in the registry from the stored name. `.pt` checkpoints load with
  `torch.load(weights_only=True)`; a `.safetensors` path writes safetensors with the metadata
  stored as JSON strings.
- `pretrain_stages()` lists cacheable pretraining artifacts (saliency UNet3D, ST-VQRL): each has a
  name, a config whose `config_hash` keys the artifact, and a `build(folder)` callable. The bench
  runner builds each stage once per hash and hands the folder back via `use_pretrained(name, folder)`.

Methods are found through the entry-point group `vqa_zoo.methods` (a third-party package can add
one without touching this repo) plus `register_method` for tests and notebooks.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, entry_points, version
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np
import torch

from vqa_core.config import config_hash, config_to_dict, load_config
from vqa_core.device import resolve_device
from vqa_core.errors import ConfigError, UnknownMethodError, VqaError
from vqa_core.train.checkpoint import save_checkpoint

if TYPE_CHECKING:
    from vqa_core.datasets import ManifestItem

__all__ = [
    "CHECKPOINT_FORMAT",
    "METHOD_GROUP",
    "Method",
    "PretrainStage",
    "ScoreCalibration",
    "get_method",
    "list_methods",
    "read_method_checkpoint",
    "register_method",
]

METHOD_GROUP = "vqa_zoo.methods"
CHECKPOINT_FORMAT = "vqa-zoo/method-checkpoint"
CHECKPOINT_VERSION = 1

M = TypeVar("M", bound="Method")


# --------------------------------------------------------------------------- calibration


@dataclass(frozen=True)
class ScoreCalibration:
    """Maps a model's raw output to the MOS scale of the data it was trained on.

    Users asked what the seeds' scores mean (negative numbers, hard-coded rescale constants).
    A checkpoint carries its own calibration, so `predict` returns MOS-scale scores:

    - `kind="zscore"` / `"minmax"`: the model was trained on `(mos - mean) / std` of the train
      part (for minmax, `mean` holds the minimum and `std` the range), so
      `to_mos(raw) = raw * std + mean`. `from_scaler` takes these from a
      `vqa_core.datasets.MosScaler` fitted on the train part.
    - `kind="logistic"`: a 4-parameter logistic (`vqa_core.metrics.logistic4`) fitted from raw
      outputs to MOS on the train part, `params = (b1, b2, b3, b4)`.
    - `kind="identity"`: the model already outputs MOS.
    """

    kind: str = "identity"
    mean: float = 0.0
    std: float = 1.0
    params: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in ("identity", "zscore", "minmax", "logistic"):
            raise ConfigError(f"calibration kind {self.kind!r} must be identity, zscore, minmax or logistic")
        if self.kind in ("zscore", "minmax") and not (self.std > 0 and math.isfinite(self.std)):
            raise ConfigError(f"{self.kind} calibration needs a scale > 0, got {self.std}")
        if self.kind == "logistic" and len(self.params) != 4:
            raise ConfigError(f"logistic calibration needs 4 parameters, got {self.params!r}")

    @classmethod
    def from_mos(cls, mos: Sequence[float] | np.ndarray, mode: str = "zscore") -> ScoreCalibration:
        """Calibration from the train part's MOS (never include val or test); mode zscore | minmax."""
        from vqa_core.datasets import MosScaler

        return cls.from_scaler(MosScaler.fit([float(v) for v in np.asarray(mos, dtype=np.float64)], mode=mode))

    @classmethod
    def from_scaler(cls, scaler: Any) -> ScoreCalibration:
        """The calibration that undoes a `vqa_core.datasets.MosScaler` (train-part statistics)."""
        if scaler.mode == "none":
            return cls()
        if scaler.mode == "minmax":
            return cls(kind="minmax", mean=float(scaler.min), std=float(scaler.max - scaler.min))
        return cls(kind="zscore", mean=float(scaler.mean), std=float(scaler.std))

    @classmethod
    def fit_logistic(cls, raw: Sequence[float] | np.ndarray, mos: Sequence[float] | np.ndarray) -> ScoreCalibration:
        """Fit the 4-parameter logistic raw -> MOS with the metrics' own fit (VQEG form)."""
        from vqa_core.metrics import fit_logistic4

        x = np.asarray(raw, dtype=np.float64)
        y = np.asarray(mos, dtype=np.float64)
        if x.shape != y.shape or x.size < 4:
            raise ConfigError(f"logistic calibration needs >= 4 paired values, got {x.size} and {y.size}")
        if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
            raise ConfigError("logistic calibration needs finite outputs and MOS values")
        params = fit_logistic4(x, y)
        if params is None:
            raise VqaError(f"the logistic calibration did not converge on {x.size} items")
        return cls(kind="logistic", params=tuple(float(p) for p in params))

    @classmethod
    def fit_increasing(
        cls,
        raw: Sequence[float] | np.ndarray,
        mos: Sequence[float] | np.ndarray,
        fallback: str = "identity",
    ) -> ScoreCalibration:
        """A strictly increasing linear map raw -> MOS scale (least squares on the finite pairs).

        For scores whose ranking must stay the model's own: a 4-parameter logistic fitted on a
        few videos saturates outside their raw range (every test video gets one value) or
        decreases (the labels flip the ranking). When the least-squares slope is not positive,
        `fallback` decides: "identity" keeps the raw scores, "moments" matches the MOS mean and
        spread with a positive slope. Degenerate input (< 2 pairs, constant raw) gives identity.
        """
        if fallback not in ("identity", "moments"):
            raise ConfigError(f"fallback {fallback!r} must be 'identity' or 'moments'")
        x = np.asarray(raw, dtype=np.float64)
        y = np.asarray(mos, dtype=np.float64)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if x.size < 2 or np.ptp(x) == 0:
            return cls()
        slope, intercept = np.polyfit(x, y, 1)
        if not slope > 0:
            if fallback == "identity":
                return cls()
            slope = max(float(y.std()), 1e-6) / float(x.std())
            intercept = float(y.mean()) - slope * float(x.mean())
        # to_mos(raw) = raw * std + mean for kind zscore
        return cls(kind="zscore", mean=float(intercept), std=float(slope))

    def normalize(self, mos: np.ndarray | torch.Tensor | float) -> Any:
        """MOS -> training target (the inverse of `to_mos` for zscore/identity)."""
        if self.kind in ("zscore", "minmax"):
            return (mos - self.mean) / self.std
        if self.kind == "identity":
            return mos
        raise ConfigError("a logistic calibration maps outputs to MOS only; train on zscore targets instead")

    def to_mos(self, raw: np.ndarray | Sequence[float] | float) -> np.ndarray:
        """Raw model output -> score on the training data's MOS scale."""
        x = np.asarray(raw, dtype=np.float64)
        if self.kind in ("zscore", "minmax"):
            return x * self.std + self.mean
        if self.kind == "logistic":
            from vqa_core.metrics import logistic4

            return logistic4(x, *self.params)
        return x

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "mean": float(self.mean), "std": float(self.std), "params": list(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScoreCalibration:
        return cls(
            kind=str(data.get("kind", "identity")),
            mean=float(data.get("mean", 0.0)),
            std=float(data.get("std", 1.0)),
            params=tuple(float(p) for p in data.get("params", ())),
        )


# --------------------------------------------------------------------------- pretraining stages


@dataclass(frozen=True)
class PretrainStage:
    """A cacheable pretraining artifact of a method (e.g. the saliency UNet3D, ST-VQRL).

    `build(folder)` writes the artifact into an empty `folder` (progress and resume are its own
    business). The runner keys the folder by `key` = `name` + `config_hash(config)`, so a second
    benchmark run with the same stage config reuses it, and hands it back to the method through
    `Method.use_pretrained(name, folder)`.
    """

    name: str
    config: Any
    build: Callable[[Path], None] = field(compare=False, repr=False)

    @property
    def config_hash(self) -> str:
        return config_hash(self.config)

    @property
    def key(self) -> str:
        return f"{self.name}-{self.config_hash}"


# --------------------------------------------------------------------------- the protocol


class Method(ABC):
    """Base class of every VQA method; see the module docstring for the contract."""

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
    def predict(self, items: Sequence[ManifestItem] | Sequence[str | Path]) -> np.ndarray:
        """Scores on the training data's MOS scale, one per item, in input order."""

    @abstractmethod
    def state_dict(self) -> dict[str, Any]:
        """Everything `load_state_dict` needs: tensors and plain containers/primitives only."""

    @abstractmethod
    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore what `state_dict` returned (the config is already set by `__init__`)."""

    # -- optional -------------------------------------------------------------------------
    def pretrain_stages(self) -> list[PretrainStage]:
        """Cacheable pretraining artifacts this method needs before `fit` (default: none)."""
        return []

    def use_pretrained(self, name: str, folder: Path) -> None:
        """Receive a built pretraining artifact (called by the runner before `fit`)."""
        raise VqaError(f"method {self.name!r} has no pretraining stage named {name!r}")

    # -- checkpoints ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a self-describing checkpoint (`.pt` weights_only-safe, or `.safetensors`)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": CHECKPOINT_FORMAT,
            "format_version": CHECKPOINT_VERSION,
            "method": self.name,
            "config": config_to_dict(self.config),
            "calibration": self.calibration.to_dict(),
            "versions": _versions(),
        }
        state = self.state_dict()
        if path.suffix == ".safetensors":
            _save_safetensors(path, meta, state)
        else:
            save_checkpoint({**meta, "state": state}, path)
        return path

    @classmethod
    def load(cls: type[M], path: str | Path, device: str | torch.device = "auto") -> M:
        """Rebuild a method from a checkpoint; `Method.load` finds the class by its stored name."""
        path = Path(path)
        ckpt = read_method_checkpoint(path)
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
        method = target(config=config, device=device)
        method.calibration = ScoreCalibration.from_dict(ckpt.get("calibration") or {})
        method.load_state_dict(ckpt["state"])
        return method

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, device={str(self.device)!r})"


def read_method_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a method checkpoint (format check included) without building the method."""
    path = Path(path)
    if not path.is_file():
        raise VqaError(f"checkpoint {path} does not exist")
    if path.suffix == ".safetensors":
        ckpt = _load_safetensors(path)
    else:
        try:
            ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise VqaError(f"cannot read checkpoint {path}: {err}") from err
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise VqaError(f"{path} is not a vqa-zoo method checkpoint (no '{CHECKPOINT_FORMAT}' header)")
    if int(ckpt.get("format_version", 0)) > CHECKPOINT_VERSION:
        raise VqaError(
            f"{path} uses checkpoint format {ckpt['format_version']}, newer than this vqa-core "
            f"({CHECKPOINT_VERSION}); upgrade vqa-core"
        )
    return ckpt


def _versions() -> dict[str, str]:
    out = {"torch": str(torch.__version__)}
    for dist in ("vqa-core",):
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _flatten(state: Mapping[str, Any], prefix: str = "") -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    tensors: dict[str, torch.Tensor] = {}
    plain: dict[str, Any] = {}
    for key, value in state.items():
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            tensors[name] = value.detach().cpu().contiguous()
        elif isinstance(value, Mapping):
            sub_t, sub_p = _flatten(value, name + "/")
            tensors.update(sub_t)
            plain.update(sub_p)
        else:
            plain[name] = value
    return tensors, plain


def _unflatten(tensors: Mapping[str, torch.Tensor], plain: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in [*tensors.items(), *plain.items()]:
        parts = name.split("/")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


def _save_safetensors(path: Path, meta: dict[str, Any], state: Mapping[str, Any]) -> None:
    from safetensors.torch import save_file

    tensors, plain = _flatten(state)
    try:
        metadata = {k: json.dumps(v) for k, v in meta.items()}
        metadata["state_plain"] = json.dumps(plain)
    except TypeError as err:
        raise VqaError(f"cannot write {path}: non-JSON value in the method state: {err}") from err
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_safetensors(path: Path) -> dict[str, Any]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open has no iterator)
    except Exception as err:
        raise VqaError(f"cannot read checkpoint {path}: {err}") from err
    meta = {k: json.loads(v) for k, v in metadata.items() if k != "state_plain"}
    meta["state"] = _unflatten(tensors, json.loads(metadata.get("state_plain", "{}")))
    return meta


# --------------------------------------------------------------------------- registry


class MethodRegistry:
    """Name -> Method class: entry points of `vqa_zoo.methods` plus programmatic registrations.

    Entry points are read on every lookup (cheap) so packages installed after import are seen;
    a name registered programmatically wins over an entry point of the same name.
    """

    def __init__(self, group: str = METHOD_GROUP) -> None:
        self.group = group
        self._registered: dict[str, type[Method]] = {}

    def register(self, name: str, cls: type[Method]) -> type[Method]:
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise TypeError(f"register_method({name!r}, ...) needs a Method subclass, got {cls!r}")
        if getattr(cls, "name", "") in ("", None):
            cls.name = name
        elif cls.name != name:
            raise ConfigError(f"{cls.__name__}.name is {cls.name!r} but it is being registered as {name!r}")
        self._registered[name] = cls
        return cls

    def unregister(self, name: str) -> None:
        self._registered.pop(name, None)

    def names(self) -> list[str]:
        return sorted({*self._registered, *(ep.name for ep in entry_points(group=self.group))})

    def get(self, name: str) -> type[Method]:
        if name in self._registered:
            return self._registered[name]
        matches = [ep for ep in entry_points(group=self.group) if ep.name == name]
        if not matches:
            known = self.names()
            close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownMethodError(
                f"unknown method {name!r}{hint} Known methods: {', '.join(known) or 'none installed'} "
                f"(methods register through the entry-point group {self.group!r})"
            )
        try:
            cls = matches[0].load()
        except Exception as err:
            raise UnknownMethodError(
                f"method {name!r} is registered ({matches[0].value}) but failed to import: {err}"
            ) from err
        if not (isinstance(cls, type) and issubclass(cls, Method)):
            raise UnknownMethodError(f"entry point {name!r} = {matches[0].value} is not a vqa_core Method subclass")
        if not cls.name:
            cls.name = name
        return cls


METHODS = MethodRegistry()


def register_method(name: str, cls: type[Method] | None = None) -> Any:
    """Register a Method class under `name` (also usable as `@register_method("name")`)."""
    if cls is None:
        return lambda c: METHODS.register(name, c)
    return METHODS.register(name, cls)


def get_method(name: str) -> type[Method]:
    """The Method class registered as `name`; UnknownMethodError with did-you-mean otherwise."""
    return METHODS.get(name)


def list_methods() -> list[str]:
    """Names of every registered method (entry points and programmatic)."""
    return METHODS.names()


def as_manifest_items(items: Sequence[Any]) -> list[ManifestItem]:
    """Accept manifest items or bare video paths (for `predict` on a folder of files)."""
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
