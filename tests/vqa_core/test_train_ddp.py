"""vqa_core.train under `torchrun --nproc_per_node 2` on CPU (gloo), run as a subprocess.

Slow: each rank imports torch from scratch; under load that alone takes tens of seconds.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from vqa_core.train import TrainConfig, Trainer, TrainTask, load_checkpoint

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path

    import numpy as np
    import torch
    from torch import nn
    from torch.utils.data import TensorDataset

    from vqa_core.train import TrainConfig, Trainer, TrainTask, cleanup_distributed, dist_info, predict_dataset


    def data(n, seed):
        g = torch.Generator().manual_seed(seed)
        x = torch.randn(n, 4, generator=g)
        return TensorDataset(x, x @ torch.tensor([1.5, -2.0, 0.5, 3.0]))


    class Task(TrainTask):
        def __init__(self):
            self.seen = []

        def build_model(self):
            return nn.Linear(4, 1)

        def training_step(self, model, batch):
            x, y = batch
            loss = nn.functional.mse_loss(model(x).squeeze(-1), y)
            return loss, {}

        def validation_step(self, model, batch):
            x, y = batch
            return {"pred": model(x).squeeze(-1), "target": y}

        def validation_metrics(self, outputs):
            self.seen.append(outputs["index"].tolist())
            return {"mse": float(np.mean((outputs["pred"] - outputs["target"]) ** 2))}


    work = Path(sys.argv[1])
    cfg = TrainConfig(**json.loads(sys.argv[2]))
    task = Task()
    trainer = Trainer(task, cfg, work / "run")
    result = trainer.fit(data(24, 0), data(7, 1))
    info = dist_info()
    pred = predict_dataset(trainer.model, data(7, 1), lambda m, b: {"pred": m(b[0]).squeeze(-1)}, batch_size=2)
    report = {
        "rank": info.rank,
        "world_size": info.world_size,
        "val_indices": task.seen,
        "pred_index": pred["index"].tolist(),
        "weight": trainer.model.weight.detach().flatten().tolist(),
        "bias": trainer.model.bias.detach().flatten().tolist(),
        "best_epoch": result.best_epoch,
    }
    (work / f"rank{info.rank}.json").write_text(json.dumps(report))


    # exact resume under DDP: dropout draws from each rank's own RNG, restored per rank
    class DropoutTask(Task):
        def build_model(self):
            return nn.Sequential(nn.Dropout(0.3), nn.Linear(4, 1))


    class StopAt:
        def on_step_end(self, trainer, step, logs):
            if step == 3:  # mid-epoch 2 (2 optimizer steps per epoch)
                raise KeyboardInterrupt("simulated interrupt")


    resume_cfg = TrainConfig(**{**json.loads(sys.argv[2]), "checkpoint_every": 1, "optimizer": "adamw"})
    Trainer(DropoutTask(), resume_cfg, work / "full").fit(data(24, 0), data(7, 1))
    try:
        Trainer(DropoutTask(), resume_cfg, work / "cut", callbacks=[StopAt()]).fit(data(24, 0), data(7, 1))
    except KeyboardInterrupt:
        (work / f"interrupted{info.rank}").write_text(str(dist_info().rank))
    Trainer(DropoutTask(), resume_cfg, work / "cut").fit(data(24, 0), data(7, 1))
    cleanup_distributed()
    """
)

CONFIG = {"epochs": 3, "batch_size": 3, "grad_accum": 2, "lr": 0.05, "optimizer": "sgd", "momentum": 0.0,
          "device": "cpu", "progress": False, "seed": 5, "select_metric": "mse", "mode": "min"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_torchrun_two_ranks_gather_validate_resume_and_match_single_process(tmp_path: Path) -> None:
    script = tmp_path / "ddp_train.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
        "--master_port", str(free_port()), str(script), str(tmp_path), json.dumps(CONFIG),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]

    reports = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    for report in reports:
        assert report["world_size"] == 2
        # every validation covers each of the 7 items once (DistributedSampler padded one rank)
        assert report["val_indices"] == [list(range(7))] * 3
        assert report["pred_index"] == list(range(7))
    assert reports[0]["weight"] == reports[1]["weight"] and reports[0]["bias"] == reports[1]["bias"]

    run = tmp_path / "run"
    assert (run / "last.pt").is_file() and (run / "best.pt").is_file()
    assert not list(run.glob("*.tmp"))
    last = load_checkpoint(run / "last.pt")
    assert last["world_size"] == 2 and len(last["rng"]) == 2
    assert len((run / "history.jsonl").read_text().splitlines()) == 3

    assert (tmp_path / "interrupted0").is_file() and (tmp_path / "interrupted1").is_file()
    full, resumed = load_checkpoint(tmp_path / "full" / "last.pt"), load_checkpoint(tmp_path / "cut" / "last.pt")
    assert resumed["state"]["global_step"] == full["state"]["global_step"] == 6
    for key, value in full["model"].items():
        assert torch.equal(value, resumed["model"][key]), key
    for a, b in zip(full["rng"], resumed["rng"]):
        assert torch.equal(a["torch"], b["torch"])
    assert not torch.equal(full["rng"][0]["torch"], full["rng"][1]["torch"])  # ranks draw differently

    # 2 ranks x batch 3 x accum 2 sees the same 12 samples per step as one process with batch 12
    # (DistributedSampler deals one permutation out round-robin), so the weights must agree.
    single = Trainer(_SingleTask(), TrainConfig(**{**CONFIG, "batch_size": 12, "grad_accum": 1}), tmp_path / "one")
    g = torch.Generator().manual_seed(0)
    x = torch.randn(24, 4, generator=g)
    single.fit(torch.utils.data.TensorDataset(x, x @ torch.tensor([1.5, -2.0, 0.5, 3.0])))
    last_one = load_checkpoint(tmp_path / "one" / "last.pt")["model"]
    np.testing.assert_allclose(last["model"]["weight"].numpy(), last_one["weight"].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(last["model"]["bias"].numpy(), last_one["bias"].numpy(), rtol=1e-5, atol=1e-6)


class _SingleTask(TrainTask):
    """Same model and loss as the script's task, no validation."""

    def build_model(self) -> torch.nn.Module:
        return torch.nn.Linear(4, 1)

    def training_step(self, model, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(model(x).squeeze(-1), y), {}
