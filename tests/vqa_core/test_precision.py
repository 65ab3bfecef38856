"""`TrainConfig.precision` and `Precision`: one option decides the numeric precision of training
(autocast, loss scaling) and of a method's scoring forward (`score_dataset` / `predict_dataset`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

from vqa_core.config import load_config
from vqa_core.errors import ConfigError
from vqa_core.train import Precision, TrainConfig, predict_dataset, score_dataset, with_precision

CPU, CUDA = torch.device("cpu"), torch.device("cuda", 0)  # from_config only reads the device type


def test_fp32_is_the_default_and_enters_no_autocast() -> None:
    cfg = TrainConfig()
    assert (cfg.precision, cfg.amp) == ("fp32", False)
    for device in (CPU, CUDA):
        p = Precision.from_config(cfg, device)
        assert (p.enabled, p.scaled, p.fallback, p.name) == (False, False, "", "fp32")
    with Precision.from_config(cfg, CPU).autocast():
        assert not torch.is_autocast_enabled("cpu")


def test_bf16_on_cpu_is_bfloat16_autocast_without_a_scaler() -> None:
    p = Precision.from_config(TrainConfig(precision="bf16"), CPU)
    assert (p.dtype, p.scaled, p.fallback, p.name) == (torch.bfloat16, False, "", "bf16")
    assert not p.grad_scaler().is_enabled()
    with p.autocast():
        assert torch.is_autocast_enabled("cpu")
        assert torch.get_autocast_dtype("cpu") == torch.bfloat16
        assert nn.Linear(3, 2)(torch.randn(4, 3)).dtype == torch.bfloat16
    assert not torch.is_autocast_enabled("cpu")


def test_bf16_on_cuda_needs_no_scaler_and_fp16_keeps_its_scaler() -> None:
    bf16 = Precision.from_config(TrainConfig(precision="bf16"), CUDA)
    assert (bf16.device_type, bf16.dtype, bf16.scaled) == ("cuda", torch.bfloat16, False)
    fp16 = Precision.from_config(TrainConfig(precision="fp16"), CUDA)
    assert (fp16.dtype, fp16.scaled, fp16.name) == (torch.float16, True, "fp16")


def test_fp16_stays_cuda_only_with_the_fallback_message() -> None:
    p = Precision.from_config(TrainConfig(precision="fp16"), CPU)
    assert not p.enabled and not p.scaled and "training in float32" in p.fallback


def test_amp_is_the_old_spelling_of_fp16() -> None:
    assert TrainConfig(amp=True).precision == "fp16"
    assert load_config(TrainConfig, {"amp": True}).precision == "fp16"  # old YAML still loads
    assert TrainConfig(amp=True, precision="fp16").precision == "fp16"
    p = Precision.from_config(TrainConfig(amp=True), CUDA)
    assert (p.dtype, p.scaled) == (torch.float16, True)


def test_amp_with_bf16_is_an_error_naming_both_keys() -> None:
    with pytest.raises(ConfigError, match=r"amp=true.*precision=bf16"):
        TrainConfig(amp=True, precision="bf16")
    with pytest.raises(ConfigError, match="precision"):
        load_config(TrainConfig, {"precision": "fp8"})


def test_scoring_is_bf16_only_when_the_config_says_bf16() -> None:
    assert Precision.for_scoring(TrainConfig(precision="bf16"), "cpu").dtype == torch.bfloat16
    assert not Precision.for_scoring(TrainConfig(), "cpu").enabled
    # fp16 / amp was a training speed option; those runs always scored in float32
    assert not Precision.for_scoring(TrainConfig(amp=True), "cuda").enabled


@dataclass
class _Stage:
    trainer: TrainConfig = field(default_factory=TrainConfig)


@dataclass
class _MethodConfig:
    size: str = "tiny"
    trainer: TrainConfig = field(default_factory=lambda: TrainConfig(amp=True))
    pretrain: _Stage = field(default_factory=_Stage)


def test_with_precision_sets_every_nested_train_config() -> None:
    cfg = _MethodConfig()
    bf16 = with_precision(cfg, "bf16")
    assert (bf16.trainer.precision, bf16.trainer.amp, bf16.pretrain.trainer.precision) == (
        "bf16",
        False,
        "bf16",
    )
    assert (cfg.trainer.precision, cfg.pretrain.trainer.precision) == ("fp16", "fp32")  # a copy
    assert bf16.size == "tiny"
    with pytest.raises(ConfigError, match="fp8"):
        with_precision(cfg, "fp8")


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 1)).eval()


def _data() -> TensorDataset:
    return TensorDataset(torch.randn(10, 16, generator=torch.Generator().manual_seed(1)))


def test_score_dataset_runs_the_forward_under_the_precision() -> None:
    net, data = _net(), _data()

    def forward(batch: list[torch.Tensor]) -> torch.Tensor:
        return net(batch[0]).squeeze(-1)

    plain = score_dataset(data, forward, batch_size=4)
    fp32 = score_dataset(data, forward, batch_size=4, precision=Precision.from_config(TrainConfig(), CPU))
    bf16 = score_dataset(
        data, forward, batch_size=4, precision=Precision.from_config(TrainConfig(precision="bf16"), CPU)
    )
    a, b, c = (np.array(r.outputs) for r in (plain, fp32, bf16))
    assert np.array_equal(a, b)  # fp32 is the code path it always was: bit-identical
    assert c.dtype == np.float32  # bf16 outputs come back as float32
    assert not np.array_equal(a, c)  # the forward did run in bfloat16
    # bf16 keeps 8 mantissa bits (each rounding <= 2^-9 relative); measured: 0.4 % of the largest
    # output through these two layers, so 1 % (2.5x that) catches a forward that lost its casts
    np.testing.assert_allclose(c, a, rtol=0, atol=0.01 * np.abs(a).max())


def test_predict_dataset_runs_the_step_under_the_precision() -> None:
    net, data = _net(), _data()

    def step(model: nn.Module, batch: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        out = model(batch[0]).squeeze(-1)
        return {"pred": out, "bf16": torch.full_like(out, float(out.dtype == torch.bfloat16))}

    fp32 = predict_dataset(net, data, step, batch_size=4)
    bf16 = predict_dataset(
        net, data, step, batch_size=4, precision=Precision.from_config(TrainConfig(precision="bf16"), CPU)
    )
    assert fp32["bf16"].sum() == 0 and bf16["bf16"].min() == 1
    assert bf16["pred"].dtype == np.float32
