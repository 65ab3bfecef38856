"""vqa_core.train: the training loop on a tiny linear regression (single process, CPU)."""

from __future__ import annotations

import math
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
    TrainConfig,
    Trainer,
    TrainTask,
    load_checkpoint,
    lr_factor,
    predict_dataset,
)

TRUE_W = torch.tensor([1.5, -2.0, 0.5, 3.0])


def regression_data(n: int, seed: int = 0) -> TensorDataset:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=g)
    y = x @ TRUE_W + 0.05 * torch.randn(n, generator=g)
    return TensorDataset(x, y)


class RegressionTask(TrainTask):
    """Linear (optionally with dropout, to consume RNG) regression; MSE loss; SRCC/MSE on val."""

    def __init__(self, dropout: float = 0.0) -> None:
        self.dropout = dropout
        self.val_indices: list[np.ndarray] = []

    def build_model(self) -> nn.Module:
        if self.dropout:
            return nn.Sequential(nn.Dropout(self.dropout), nn.Linear(4, 1))
        return nn.Linear(4, 1)

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        x, y = batch
        loss = nn.functional.mse_loss(model(x).squeeze(-1), y)
        return loss, {"mse": float(loss.detach())}

    def validation_step(self, model: nn.Module, batch: Any) -> Mapping[str, torch.Tensor]:
        x, y = batch
        return {"pred": model(x).squeeze(-1), "target": y}

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        self.val_indices.append(outputs["index"].copy())
        pred, target = outputs["pred"], outputs["target"]
        return {"srcc": float(stats.spearmanr(pred, target)[0]), "mse": float(np.mean((pred - target) ** 2))}


def config(**kw: Any) -> TrainConfig:
    base = {"epochs": 3, "batch_size": 8, "lr": 0.05, "optimizer": "sgd", "momentum": 0.0, "device": "cpu",
            "progress": False, "seed": 3}
    base.update(kw)
    return TrainConfig(**base)


def weights(model: nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


class StepRecorder:
    def __init__(self) -> None:
        self.lrs: list[float] = []

    def on_step_end(self, trainer: Trainer, step: int, logs: Mapping[str, float]) -> None:
        self.lrs.append(trainer.optimizer.param_groups[0]["lr"])


class StopAt:
    """Simulates a crash after `step` optimizer steps."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, trainer: Trainer, step: int, logs: Mapping[str, float]) -> None:
        if step == self.step:
            raise KeyboardInterrupt(f"simulated interrupt at step {step}")


def test_loss_decreases_and_files_are_written(tmp_path: Path) -> None:
    result = Trainer(RegressionTask(), config(epochs=4), tmp_path).fit(regression_data(64), regression_data(16, 1))
    losses = [r["train_loss"] for r in result.history]
    assert losses[-1] < 0.2 * losses[0]
    assert result.metrics["srcc"] > 0.9
    assert (tmp_path / "last.pt").is_file() and (tmp_path / "best.pt").is_file()
    lines = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(lines) == 4
    assert (tmp_path / "train_config.yaml").is_file()
    # both checkpoints load without unpickling code
    assert torch.load(tmp_path / "last.pt", weights_only=True)["state"]["global_step"] == result.global_step
    assert torch.load(tmp_path / "best.pt", weights_only=True)["epoch"] == result.best_epoch


def test_validation_covers_every_item_once(tmp_path: Path) -> None:
    task = RegressionTask()
    Trainer(task, config(epochs=2, batch_size=4), tmp_path).fit(regression_data(20), regression_data(11, 1))
    assert len(task.val_indices) == 2
    for seen in task.val_indices:
        assert np.array_equal(seen, np.arange(11))


@pytest.mark.parametrize("n", [32, 30])  # 30: the last group of micro-batches is short
def test_grad_accumulation_matches_the_large_batch(tmp_path: Path, n: int) -> None:
    data = regression_data(n)
    small = Trainer(RegressionTask(), config(batch_size=3, grad_accum=2, epochs=2), tmp_path / "a")
    large = Trainer(RegressionTask(), config(batch_size=6, grad_accum=1, epochs=2), tmp_path / "b")
    res_small, res_large = small.fit(data), large.fit(data)
    assert res_small.global_step == res_large.global_step == 2 * math.ceil(n / 6)
    for key, value in weights(small.model).items():
        torch.testing.assert_close(value, weights(large.model)[key], rtol=1e-5, atol=1e-6)


def test_schedule_shape() -> None:
    total, warm = 100, 10
    factors = [lr_factor(s, total, warm, min_ratio=0.1) for s in range(total)]
    assert factors[:warm] == pytest.approx([(s + 1) / warm for s in range(warm)])
    assert factors[warm] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(factors[warm:], factors[warm + 1 :]))  # no restart / bounce
    assert lr_factor(warm + 45, total, warm, 0.1) == pytest.approx(0.1 + 0.9 * 0.5)  # cosine midpoint
    assert lr_factor(total, total, warm, 0.1) == pytest.approx(0.1)
    assert factors[-1] > 0.1  # the last step still learns
    assert lr_factor(50, total, 0, kind="constant") == 1.0


def test_trainer_steps_schedule_per_optimizer_step_over_the_whole_run(tmp_path: Path) -> None:
    rec = StepRecorder()
    cfg = config(epochs=4, batch_size=4, grad_accum=2, warmup=0.25, lr=0.01)
    Trainer(RegressionTask(), cfg, tmp_path, callbacks=[rec]).fit(regression_data(32))
    total = 4 * math.ceil(32 / 8)
    assert len(rec.lrs) == total
    # the lr after step s is the schedule's value for step s+1
    expected = [0.01 * lr_factor(s + 1, total, 4) for s in range(total)]
    assert rec.lrs == pytest.approx(expected)


def test_exact_resume_after_interrupt(tmp_path: Path) -> None:
    data, val = regression_data(40), regression_data(10, 1)
    cfg = config(epochs=3, batch_size=4, grad_accum=2, checkpoint_every=2, optimizer="adamw", warmup=3)
    full = Trainer(RegressionTask(dropout=0.3), cfg, tmp_path / "full")
    full_result = full.fit(data, val)

    interrupted = Trainer(RegressionTask(dropout=0.3), cfg, tmp_path / "cut", callbacks=[StopAt(7)])
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(data, val)
    saved = load_checkpoint(tmp_path / "cut" / "last.pt")
    assert (saved["state"]["epoch"], saved["state"]["step_in_epoch"]) == (1, 1)  # mid-epoch (5 steps/epoch)

    resumed = Trainer(RegressionTask(dropout=0.3), cfg, tmp_path / "cut")
    resumed_result = resumed.fit(data, val)
    a, b = load_checkpoint(tmp_path / "full" / "last.pt"), load_checkpoint(tmp_path / "cut" / "last.pt")
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for sa, sb in zip(a["optimizer"]["state"].values(), b["optimizer"]["state"].values()):
        assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert resumed_result.best_epoch == full_result.best_epoch
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in full_result.history]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed_result.history] == strip
    assert len((tmp_path / "cut" / "history.jsonl").read_text().splitlines()) == 3


def test_finished_run_is_not_trained_again(tmp_path: Path) -> None:
    rec = StepRecorder()
    Trainer(RegressionTask(), config(epochs=2), tmp_path).fit(regression_data(16))
    again = Trainer(RegressionTask(), config(epochs=2), tmp_path, callbacks=[rec]).fit(regression_data(16))
    assert rec.lrs == [] and again.global_step == 4


def test_resume_refuses_changed_batch_size(tmp_path: Path) -> None:
    Trainer(RegressionTask(), config(epochs=1), tmp_path).fit(regression_data(16))
    with pytest.raises(ConfigError, match="batch_size"):
        Trainer(RegressionTask(), config(epochs=2, batch_size=4), tmp_path).fit(regression_data(16))
    fresh = Trainer(RegressionTask(), config(epochs=1, batch_size=4), tmp_path, resume=False).fit(regression_data(16))
    assert fresh.global_step == 4


class ScriptedTask(RegressionTask):
    """Validation metric follows a script, so the best epoch is known in advance."""

    def __init__(self, script: list[float]) -> None:
        super().__init__()
        self.script = script
        self.calls = 0

    def validation_metrics(self, outputs: Mapping[str, np.ndarray]) -> dict[str, float]:
        value = self.script[self.calls]
        self.calls += 1
        return {"score": value}


class EpochWeights:
    def __init__(self) -> None:
        self.by_epoch: dict[int, dict[str, torch.Tensor]] = {}

    def on_epoch_end(self, trainer: Trainer, record: Mapping[str, Any]) -> None:
        self.by_epoch[record["epoch"]] = weights(trainer.model)


@pytest.mark.parametrize(("mode", "best"), [("max", 2), ("min", 4)])
def test_selection_picks_the_best_validation_epoch(tmp_path: Path, mode: str, best: int) -> None:
    rec = EpochWeights()
    task = ScriptedTask([0.3, 0.9, 0.5, 0.1])
    trainer = Trainer(task, config(epochs=4, select_metric="score", mode=mode), tmp_path, callbacks=[rec])
    result = trainer.fit(regression_data(16), regression_data(8, 1))
    assert result.best_epoch == best
    assert result.best_metric == [0.3, 0.9, 0.5, 0.1][best - 1]
    best_ckpt = load_checkpoint(result.best_checkpoint)
    for key, value in rec.by_epoch[best].items():
        assert torch.equal(best_ckpt["model"][key], value)
        assert torch.equal(weights(trainer.model)[key], value)  # trainer.model ends on the best weights
    if best < 4:  # the last checkpoint keeps the final weights, not the selected ones
        last = load_checkpoint(result.last_checkpoint)["model"]["weight"]
        assert not torch.equal(last, rec.by_epoch[best]["weight"])


def test_unknown_select_metric_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"select_metric 'plcc'.*srcc, mse"):
        Trainer(RegressionTask(), config(epochs=1, select_metric="plcc"), tmp_path).fit(
            regression_data(8), regression_data(4, 1)
        )


def test_val_every_and_max_steps(tmp_path: Path) -> None:
    task = RegressionTask()
    result = Trainer(task, config(epochs=5, val_every=2, max_steps=9), tmp_path).fit(
        regression_data(16), regression_data(6, 1)
    )
    assert result.global_step == 9
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4, 5]
    assert [("val_srcc" in r) for r in result.history] == [False, True, False, True, True]


def test_predict_dataset_returns_items_in_order() -> None:
    model = nn.Linear(4, 1)
    data = regression_data(13)
    out = predict_dataset(model, data, lambda m, b: {"pred": m(b[0]).squeeze(-1)}, batch_size=5)
    assert np.array_equal(out["index"], np.arange(13))
    with torch.no_grad():
        expected = model(data.tensors[0]).squeeze(-1).numpy()
    np.testing.assert_allclose(out["pred"], expected, rtol=1e-6)


def test_train_config_validation() -> None:
    with pytest.raises(ConfigError, match="grad_accum"):
        TrainConfig(grad_accum=0)
    with pytest.raises(ConfigError, match="warmup"):
        TrainConfig(warmup=1.5)
    assert TrainConfig(warmup=0.1).warmup_steps(200) == 20
    assert TrainConfig(warmup=7).warmup_steps(200) == 7


class TrainOnlyTask(TrainTask):
    def build_model(self) -> nn.Module:
        return nn.Linear(4, 1)

    def training_step(self, model: nn.Module, batch: Any) -> tuple[torch.Tensor, Mapping[str, float]]:
        x, y = batch
        return nn.functional.mse_loss(model(x).squeeze(-1), y), {}


def test_validation_set_without_validation_step_fails_before_training(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no validation_step"):
        Trainer(TrainOnlyTask(), config(epochs=1), tmp_path).fit(regression_data(8), regression_data(4, 1))
    assert not (tmp_path / "last.pt").exists()
    result = Trainer(TrainOnlyTask(), config(epochs=1), tmp_path).fit(regression_data(8))
    assert result.best_checkpoint is None and result.global_step == 1


def test_progress_bars_and_epoch_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Trainer(RegressionTask(), config(epochs=2, progress=True), tmp_path).fit(regression_data(16), regression_data(6, 1))
    out = capsys.readouterr()
    text = out.out + out.err
    assert "epoch 1/2" in text and "epoch 2/2" in text
    assert "val srcc" in text


def test_patience_stops_early_and_a_rerun_does_not_continue(tmp_path: Path) -> None:
    task = ScriptedTask([0.5, 0.7, 0.6, 0.65, 0.9, 0.95])
    cfg = config(epochs=6, select_metric="score", patience=2)
    result = Trainer(task, cfg, tmp_path).fit(regression_data(16), regression_data(6, 1))
    assert [r["epoch"] for r in result.history] == [1, 2, 3, 4]  # epochs 3 and 4 did not beat epoch 2
    assert result.best_epoch == 2 and result.history[-1]["early_stop"] is True
    rec = StepRecorder()
    again = Trainer(ScriptedTask([0.0] * 6), cfg, tmp_path, callbacks=[rec]).fit(
        regression_data(16), regression_data(6, 1)
    )
    assert rec.lrs == [] and again.best_epoch == 2


@pytest.mark.parametrize("clip", [None, 0.01])
def test_clip_grad_norm_bounds_the_update(tmp_path: Path, clip: float | None) -> None:
    torch.manual_seed(3)  # the trainer seeds with cfg.seed before build_model
    start = weights(nn.Linear(4, 1))
    trainer = Trainer(TrainOnlyTask(), config(lr=1.0, max_steps=1, clip_grad_norm=clip), tmp_path)
    trainer.fit(regression_data(16))
    end = weights(trainer.model)
    step = torch.sqrt(sum(((end[k] - start[k]) ** 2).sum() for k in start))
    if clip is None:
        assert step > 0.1  # the raw gradient of this regression is large
    else:
        assert step <= clip * (1 + 1e-5)  # SGD, lr 1: the update is the clipped gradient
