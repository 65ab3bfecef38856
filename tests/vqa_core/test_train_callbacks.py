"""The Trainer's lifecycle as callbacks over one TrainState: the hooks, their order, and the
pieces (RunPlan, Precision) the loop is built from. The behaviour itself (resume, selection,
patience, accumulation) is pinned by test_train.py."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn
from torch.utils.data import TensorDataset

from vqa_core.errors import ConfigError
from vqa_core.train import (
    Precision,
    RunPlan,
    TrainCallback,
    TrainConfig,
    Trainer,
    TrainState,
    TrainTask,
    load_checkpoint,
)


def regression_data(n: int, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    return TensorDataset(x, x @ torch.tensor([1.5, -2.0, 0.5, 3.0]) + 0.05 * torch.randn(n, generator=g))


class RegressionTask(TrainTask):
    def build_model(self) -> nn.Module:
        return nn.Linear(4, 1)

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        loss = nn.functional.mse_loss(model(batch[0]).squeeze(-1), batch[1])
        return loss, {"mse": float(loss.detach())}

    def validation_step(self, model: nn.Module, batch: Any) -> Mapping[str, torch.Tensor]:
        return {"pred": model(batch[0]).squeeze(-1), "target": batch[1]}

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        pred, target = outputs["pred"], outputs["target"]
        return {"srcc": float(stats.spearmanr(pred, target)[0]), "mse": float(np.mean((pred - target) ** 2))}


class ScriptedTask(RegressionTask):
    """Validation metric follows a script, so the best epoch is known in advance."""

    def __init__(self, script: list[float]) -> None:
        self.script = list(script)

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        return {"score": self.script.pop(0)}


def config(**kw: Any) -> TrainConfig:
    base = {"epochs": 3, "batch_size": 8, "lr": 0.05, "optimizer": "sgd", "momentum": 0.0, "device": "cpu",
            "progress": False, "seed": 3}
    return TrainConfig(**{**base, **kw})


class Recorder(TrainCallback):
    """Every hook call, with what the state said at that moment."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.states: list[TrainState] = []

    def on_fit_start(self, state: TrainState, resumed: bool) -> None:
        self.calls.append(("fit_start", resumed, state.run.global_step))
        self.states.append(state)

    def on_step_end(self, state: TrainState, logs: Mapping[str, float]) -> None:
        self.calls.append(("step", state.run.global_step, sorted(logs)))

    def on_validation_end(self, state: TrainState, metrics: Mapping[str, float]) -> None:
        self.calls.append(("validation", state.run.epoch + 1, state.run.best_epoch, sorted(metrics)))

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        saved = load_checkpoint(state.work_dir / "last.pt")["state"]
        lines = (state.work_dir / "history.jsonl").read_text().splitlines()
        self.calls.append(("epoch", record["epoch"], state.run.epoch, saved["epoch"], len(lines), "best_epoch" in record))


def test_hooks_run_in_order_over_one_state(tmp_path: Path) -> None:
    rec = Recorder()
    trainer = Trainer(RegressionTask(), config(epochs=2, batch_size=16), tmp_path, callbacks=[rec])
    result = trainer.fit(regression_data(16), regression_data(6, 1))
    steps = [("step", s, ["loss", "mse"]) for s in (1, 2)]
    assert rec.calls == [
        ("fit_start", False, 0),
        *steps[:1],
        ("validation", 1, 1, ["mse", "srcc"]),  # selection (a built-in callback) ran before
        ("epoch", 1, 1, 1, 1, True),  # the run state already points at epoch 2; last.pt and history written
        *steps[1:],
        ("validation", 2, result.best_epoch, ["mse", "srcc"]),
        ("epoch", 2, 2, 2, 2, True),
    ]
    state = rec.states[0]
    assert trainer.state is state and trainer.model is state.model and trainer.optimizer is state.optimizer
    assert state.run.global_step == result.global_step == 2 and state.done


def test_a_resumed_fit_says_so_and_continues_from_the_saved_step(tmp_path: Path) -> None:
    Trainer(RegressionTask(), config(epochs=1), tmp_path).fit(regression_data(16))
    rec = Recorder()
    Trainer(RegressionTask(), config(epochs=2), tmp_path, callbacks=[rec]).fit(regression_data(16))
    assert rec.calls[0] == ("fit_start", True, 2)
    assert [c[1] for c in rec.calls if c[0] == "step"] == [3, 4]


class StopWhenLossBelow(TrainCallback):
    """A user-written stopping rule: setting the run state's `finished` flag ends the run."""

    def __init__(self, threshold: float) -> None:
        self.threshold = threshold

    def on_epoch_end(self, state: TrainState, record: dict[str, Any]) -> None:
        if record["train_loss"] < self.threshold:
            state.run.finished = True


def test_a_user_callback_can_stop_the_run_and_the_decision_is_saved(tmp_path: Path) -> None:
    first = Trainer(RegressionTask(), config(epochs=20), tmp_path, callbacks=[StopWhenLossBelow(5.0)])
    result = first.fit(regression_data(16))
    stopped_at = len(result.history)
    assert 1 < stopped_at < 20 and result.history[-1]["train_loss"] < 5.0
    # the built-in callbacks ran first: history and last.pt hold every epoch that ran
    assert len((tmp_path / "history.jsonl").read_text().splitlines()) == stopped_at
    assert load_checkpoint(tmp_path / "last.pt")["state"]["epoch"] == stopped_at


def test_early_stopping_is_recorded_in_history_and_last_checkpoint(tmp_path: Path) -> None:
    cfg = config(epochs=6, select_metric="score", patience=1)
    Trainer(ScriptedTask([0.5, 0.4, 0.9, 0.95, 1.0, 1.0]), cfg, tmp_path).fit(regression_data(16), regression_data(6, 1))
    lines = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in lines] == [1, 2] and lines[-1]["early_stop"] is True
    assert load_checkpoint(tmp_path / "last.pt")["state"]["finished"] is True


def test_run_plan_weights_the_short_tail_group() -> None:
    plan = RunPlan.build(TrainConfig(batch_size=3, grad_accum=2, epochs=2), n_train=14, per_rank=14)
    assert plan.micro_sizes == (3, 3, 3, 3, 2) and plan.micro_per_epoch == 5
    assert plan.total_steps == 2 * 3
    assert [plan.group_samples(m, 2) for m in range(5)] == [(6, False), (6, True), (6, False), (6, True), (2, True)]
    assert RunPlan.build(TrainConfig(batch_size=4, epochs=9, max_steps=5), 8, 8).total_steps == 5
    with pytest.raises(ConfigError, match="fewer than batch_size=8 with drop_last"):
        RunPlan.build(TrainConfig(batch_size=8, drop_last=True), 5, 5)


def test_precision_is_decided_in_one_place() -> None:
    cpu = Precision.from_config(TrainConfig(amp=True), torch.device("cpu"))
    assert not cpu.enabled and not cpu.scaled and "training in float32" in cpu.fallback
    assert not cpu.grad_scaler().is_enabled()
    with cpu.autocast():
        assert not torch.is_autocast_enabled("cpu")
    cuda = Precision.from_config(TrainConfig(amp=True), torch.device("cuda", 0))
    assert (cuda.dtype, cuda.scaled, cuda.fallback) == (torch.float16, True, "")
    assert Precision.from_config(TrainConfig(), torch.device("cuda", 0)).enabled is False
