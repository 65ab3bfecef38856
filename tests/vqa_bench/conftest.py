"""Fixtures of the vqa-bench tests: a toy dataset of real encoded clips and a real toy method.

`ToyRidgeMethod` is a real, tiny, trainable Method: ridge regression on decoded-frame statistics.

It decodes 4 uniformly sampled frames per video with vqa_core's reader, computes sharpness,
contrast, brightness and motion statistics, and fits a ridge regression to MOS with the
penalty chosen on the validation part (validation-based selection, like the real methods).
It implements the whole `Method` contract: `score` through `vqa_core.train.score_dataset`
(decoding and statistics in the dataset, the nn.Linear holding the fitted weights as the
model), `cost_parts()`, and one cacheable pretraining stage, so every path of the runner and of
`vqa score` is exercised without the big methods.

Test hooks are class attributes (the tests reset them): `fit_calls` counts fits,
`interrupt_at_fit` raises KeyboardInterrupt on that (1-based) fit call, `stage_builds`
counts pretraining builds.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn
from torch.utils.data import Dataset

from vqa_core.method import METHODS, Method, PretrainStage, ScoreReport, as_manifest_items, register_method
from vqa_core.train import score_dataset

# x264 CRF of each version and the MOS it stands for: stronger compression, lower quality.
TOY_VERSIONS = {10: 4.5, 40: 3.0, 51: 1.5}
TOY_SCENES = 8


@dataclass
class ToyRidgeConfig:
    PRESETS: ClassVar[dict[str, ToyRidgeConfig]]

    frames: int = 4
    size: tuple[int, int] = (32, 48)
    alphas: list[float] = field(default_factory=lambda: [0.01, 0.1, 1.0, 10.0])
    stage_note: str = "v1"


ToyRidgeConfig.PRESETS = {"tiny": ToyRidgeConfig(frames=3), "small": ToyRidgeConfig(), "full": ToyRidgeConfig(frames=8)}


def frame_statistics(clip: np.ndarray) -> np.ndarray:
    """Sharpness (mean |gradient|), contrast, brightness and motion of a uint8 (T, H, W, 3) clip."""
    grey = clip.astype(np.float64).mean(axis=3) / 255.0
    gx = np.abs(np.diff(grey, axis=2)).mean()
    gy = np.abs(np.diff(grey, axis=1)).mean()
    motion = np.abs(np.diff(grey, axis=0)).mean() if grey.shape[0] > 1 else 0.0
    return np.array([gx + gy, grey.std(), grey.mean(), motion])


class ToyRidgeMethod(Method):
    name = "toy-ridge"
    config_class = ToyRidgeConfig

    fit_calls: ClassVar[int] = 0
    interrupt_at_fit: ClassVar[int | None] = None
    stage_builds: ClassVar[int] = 0

    def __init__(self, config: Any = None, device: str = "auto") -> None:
        super().__init__(config, device)
        self.linear = nn.Linear(4, 1).double()
        self.feature_mean = np.zeros(4)
        self.feature_std = np.ones(4)
        self.stage_folder: Path | None = None

    # -- the runner's optional hooks -----------------------------------------------------
    def cost_parts(self) -> dict[str, tuple[nn.Module, tuple]]:
        return {"model": (self.linear, (torch.zeros(1, 4, dtype=torch.float64),))}

    def pretrain_stages(self) -> list[PretrainStage]:
        return [PretrainStage("stats", _StageConfig(self.config.stage_note), self._build_stage)]

    def _build_stage(self, folder: Path) -> None:
        type(self).stage_builds += 1
        time.sleep(0.02)  # a build that takes measurable time, so its seconds can be checked
        (folder / "stage.json").write_text(json.dumps({"note": self.config.stage_note}))

    def use_pretrained(self, name: str, folder: Path) -> None:
        assert name == "stats" and (folder / "stage.json").is_file()
        self.stage_folder = folder

    # -- Method ----------------------------------------------------------------------------
    def prepare(self, item: Any) -> np.ndarray:
        from vqa_core.sampling import uniform_indices
        from vqa_core.video import probe, read_clip

        path = item.path if hasattr(item, "path") else Path(item)
        idx = uniform_indices(probe(path).num_frames, self.config.frames)
        return frame_statistics(read_clip(path, idx, size=tuple(self.config.size)))

    def _linear(self, features: torch.Tensor) -> torch.Tensor:
        z = (features - torch.from_numpy(self.feature_mean)) / torch.from_numpy(self.feature_std)
        return self.linear(z).squeeze(-1)

    def fit(self, train, val, work_dir, *, resume=True, progress=True) -> dict[str, Any]:
        cls = type(self)
        cls.fit_calls += 1
        if cls.interrupt_at_fit is not None and cls.fit_calls == cls.interrupt_at_fit:
            raise KeyboardInterrupt
        x_train = np.stack([self.prepare(i) for i in train])
        y_train = np.array([i.mos for i in train])
        self.feature_mean = x_train.mean(axis=0)
        self.feature_std = x_train.std(axis=0) + 1e-8
        z_train = (x_train - self.feature_mean) / self.feature_std
        x_val = np.stack([self.prepare(i) for i in val]) if val else None
        best: tuple[float, float, np.ndarray, float] | None = None
        for alpha in self.config.alphas:
            a = np.c_[z_train, np.ones(len(z_train))]
            reg = alpha * np.eye(a.shape[1])
            reg[-1, -1] = 0.0
            w = np.linalg.solve(a.T @ a + reg, a.T @ y_train)
            if x_val is not None and len(val) >= 3:
                zv = (x_val - self.feature_mean) / self.feature_std
                score = stats.spearmanr(zv @ w[:4] + w[4], [i.mos for i in val])[0]
                score = -np.inf if np.isnan(score) else score
            else:
                score = -alpha
            if best is None or score > best[0]:
                best = (score, alpha, w[:4], w[4])
        assert best is not None
        with torch.no_grad():
            self.linear.weight.copy_(torch.from_numpy(best[2][None]))
            self.linear.bias.fill_(best[3])
        (Path(work_dir) / "fit.json").write_text(json.dumps({"alpha": best[1]}))
        return {"best_alpha": best[1], "best_val_srcc": float(best[0])}

    def score(self, items: Sequence[Any], *, progress: bool = False) -> ScoreReport:
        items = as_manifest_items(items)
        if not items:
            return ScoreReport.empty()
        with torch.no_grad():
            res = score_dataset(_Statistics(self, items), self._linear, names=[str(i.path) for i in items])
        scores = np.array([np.nan if o is None else float(o) for o in res.outputs])
        return ScoreReport(scores, res.decode_s, res.model_s, res.errors)

    def state_dict(self) -> dict[str, Any]:
        return {
            "linear": self.linear.state_dict(),
            "feature_mean": torch.from_numpy(self.feature_mean),
            "feature_std": torch.from_numpy(self.feature_std),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.linear.load_state_dict(state["linear"])
        self.feature_mean = state["feature_mean"].numpy()
        self.feature_std = state["feature_std"].numpy()


class _Statistics(Dataset):
    """Item i: the frame statistics of items[i] (decoding happens here, timed by score_dataset)."""

    def __init__(self, method: ToyRidgeMethod, items: Sequence[Any]) -> None:
        self.method, self.items = method, list(items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> torch.Tensor:
        return torch.from_numpy(self.method.prepare(self.items[i]))


@dataclass
class _StageConfig:
    note: str = "v1"


def make_toy_dataset(root: Path, scenes: int = TOY_SCENES) -> Any:
    """`scenes` synthetic scenes x 3 x264 qualities (a few KB each), MOS from the quality level
    plus a small per-scene offset; grouped by scene so versions of a scene never straddle parts."""
    from vqa_core.datasets import Manifest, ManifestItem
    from vqa_core.testing import make_video

    items = []
    for s in range(scenes):
        for crf, mos in TOY_VERSIONS.items():
            path = make_video(
                root / f"scene{s}_crf{crf}.mp4",
                num_frames=8,
                height=48,
                width=64,
                seed=s,
                options={"crf": str(crf)},
            )
            items.append(ManifestItem(f"s{s}_q{crf}", path, mos + 0.1 * (s % 3), "", {"scene": f"s{s}"}))
    return Manifest(name="toy", items=items, group_by="scene")


@pytest.fixture(scope="session")
def toy_manifest(tmp_path_factory: pytest.TempPathFactory) -> Any:
    return make_toy_dataset(tmp_path_factory.mktemp("toy-videos"))


@pytest.fixture
def toy_method(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """ToyRidgeMethod registered as `toy-ridge` (unregistered afterwards), hooks reset, and a
    cache root of its own (the runner's default stage cache lives there)."""
    monkeypatch.setenv("VQA_ZOO_CACHE", str(tmp_path_factory.mktemp("toy-cache")))
    ToyRidgeMethod.fit_calls = 0
    ToyRidgeMethod.interrupt_at_fit = None
    ToyRidgeMethod.stage_builds = 0
    register_method("toy-ridge", ToyRidgeMethod)
    yield ToyRidgeMethod
    METHODS.unregister("toy-ridge")
