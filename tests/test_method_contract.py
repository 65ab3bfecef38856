"""The Method contract, checked the same way for every registered method (timm's test_models.py style).

Every method found through `vqa_core.method.list_methods()` (the five papers', the floor
baselines, a third party's) gets its `tiny` preset fitted on small generated clips and must:
give the same score to the same video twice and different scores to different videos; survive a
`Method.load` round trip with identical scores; name an unreadable file in `predict`'s error and
give NaN plus the reason in `score`; fill `decode_s` / `model_s`; run `cost_parts()` through the
FLOP counter when it has networks; and reproduce its golden score. Unfitted, `init_for_scoring`
must make `score` run (random weights: what benchmarks/score_speed.py times).

Offline data for the stages: the tiny presets' pretraining stages read the embedded demo sets,
which take minutes to build. Here the config fields that name a stage's data (wherever a method
has them, see `OFFLINE_FIELDS`) point at generated clips instead and ST-VQRL pretrains one epoch;
nothing else of the preset changes.

Goldens (`method_goldens.json`): each fitted tiny model's score of one fixed generated clip,
taken right after `fit` (before any other scoring fills a cache in another batch layout). The
clips are encoded deterministically and fitting runs on one torch thread, so a machine of the
kind the goldens were written on (same CPU model and flags, same torch and PyAV; the JSON's
`machine`) reproduces them bit for bit, and they are checked exactly there. Another machine's
kernels sum in another order; the regeneration measures what such a change does by fitting
again with 2 torch threads (`fp_spread`, relative), and elsewhere a golden must hold within
3 x that spread (at least 1e-6 relative). Regenerate after a change that is meant to move them,
and say why in the commit:

    VQA_ZOO_UPDATE_GOLDENS=1 uv run pytest tests/test_method_contract.py -k golden
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from vqa_core.config import config_to_dict, load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import VideoDecodeError, VqaError
from vqa_core.method import Method, ScoreReport, get_method, list_methods
from vqa_core.testing import make_video
from vqa_core.train import seed_everything

GOLDENS = Path(__file__).with_name("method_goldens.json")
GOLDEN_CLIP = "sc3_v01"
SAME_MACHINE_RTOL = 1e-9  # bit-reproducible there; this only absorbs the JSON round trip
OTHER_MACHINE_SPREADS = 3.0  # elsewhere: 3 x the spread measured with another summation order

# Quantiser of each version (FFmpeg's native MPEG-4 Part 2 encoder): coarser, lower quality. Not
# x264: libx264 as PyAV ships it writes a different file now and then for the same frames and
# settings (even with one thread; measured: 5 distinct files in 8 runs under load), which moves
# every fitted score; the native encoder wrote the same bytes in every run.
QUANTISERS = (2, 8, 16, 31)
# config field (dotted) -> what it becomes for the offline contract run
OFFLINE_FIELDS = {
    "saliency.stage_data_root": "saliency_root",
    "pretrain.dataset": "pretrain_folder",
    "pretrain.trainer.epochs": 1,
    "stvqrl.pretrain.dataset": "pretrain_folder",
    "stvqrl.pretrain.trainer.epochs": 1,
}


@dataclass
class ContractData:
    train: list[ManifestItem]
    val: list[ManifestItem]
    test: list[ManifestItem]
    saliency_root: Path
    pretrain_folder: Path
    root: Path

    def item(self, video_id: str) -> ManifestItem:
        return next(it for it in self.train + self.val + self.test if it.video_id == video_id)


def make_contract_data(root: Path) -> ContractData:
    """4 scenes x 4 versions (MPEG-4 at rising quantiser, a few KB each); scenes 0-1 train (and
    pretrain ST-VQRL), 2 val, 3 test; plus a small demo-saliency set for the saliency stage."""
    from vqa_core.demo import SaliencyDemoConfig, ensure_demo_saliency

    parts: dict[str, list[ManifestItem]] = {"train": [], "val": [], "test": []}
    for s in range(4):
        split = "train" if s < 2 else "val" if s == 2 else "test"
        for v, q in enumerate(QUANTISERS):
            path = make_video(
                root / "videos" / split / f"sc{s}_v{v:02d}.mp4", num_frames=16, height=64, width=64, seed=s,
                codec="mpeg4", options={"qmin": str(q), "qmax": str(q)},
            )  # fmt: skip
            mos = 5.0 - q / 8 + 0.05 * s
            parts[split].append(ManifestItem(f"sc{s}_v{v:02d}", path, mos, split, {"scene": f"sc{s}", "version": v}))
    saliency = SaliencyDemoConfig(num_clips=6, height=72, width=128, num_frames=8)
    ensure_demo_saliency(root / "saliency", saliency, progress=False)
    return ContractData(**parts, saliency_root=root / "saliency", pretrain_folder=root / "videos" / "train", root=root)


def offline_overrides(config_class: type, data: ContractData) -> dict[str, Any]:
    """The `OFFLINE_FIELDS` this method's tiny config has, pointed at the generated data."""
    tiny = config_to_dict(load_config(config_class, "tiny"))
    out = {}
    for dotted, value in OFFLINE_FIELDS.items():
        node: Any = tiny
        for part in dotted.split("."):
            node = node.get(part, KeyError) if isinstance(node, dict) else KeyError
        if node is not KeyError:
            out[dotted] = str(getattr(data, value)) if isinstance(value, str) else value
    return out


# The generated data has 8 training videos: SSL-VQA's 25 % would be 3 labelled ones (its minimum),
# fewer than one batch of 4 (drop_last): label 4 of them.
SMALL_DATA_OVERRIDES: dict[str, dict[str, Any]] = {name: {"semi.labelled": 4} for name in ("ssl", "qasa")}


def tiny_method(name: str, data: ContractData) -> Method:
    cls = get_method(name)
    overrides = {**offline_overrides(cls.config_class, data), **SMALL_DATA_OVERRIDES.get(name, {})}
    return cls(load_config(cls.config_class, "tiny", overrides), device="cpu")


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def one_thread():
    """One torch thread: the goldens were measured so, and the machine's cores are shared."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> ContractData:
    return make_contract_data(tmp_path_factory.mktemp("contract"))


def fit_and_golden(name: str, data: ContractData, work: Path) -> tuple[Method, dict[str, Any], float]:
    """Fit `name`'s tiny preset from seed 0; its golden score is the first thing it scores."""
    seed_everything(0)
    method = tiny_method(name, data)
    history = method.fit(data.train, data.val, work, progress=False)
    return method, history, float(method.predict([data.item(GOLDEN_CLIP)])[0])


def machine() -> dict[str, str]:
    """What decides the floating-point path of a fit: CPU model and features, torch, PyAV."""
    import hashlib
    import platform

    import av

    from vqa_bench.settings import cpu_model

    cpu, flags = cpu_model()
    return {
        "arch": platform.machine(),
        "cpu": cpu,
        "cpu_flags": hashlib.sha256(flags.encode()).hexdigest()[:12],
        "torch": torch.__version__,
        "av": av.__version__,
    }


@pytest.fixture(scope="module", params=list_methods())
def fitted_with_golden(request, data: ContractData, one_thread, tmp_path_factory) -> tuple[Method, dict, float]:
    return fit_and_golden(request.param, data, tmp_path_factory.mktemp(f"work-{request.param}"))


@pytest.fixture(scope="module")
def fitted(fitted_with_golden) -> tuple[Method, dict[str, Any]]:
    return fitted_with_golden[:2]


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.mp4"
    path.write_bytes(b"not a video at all")
    return path


# --------------------------------------------------------------------------- the contract


def test_the_registry_names_the_class_and_its_presets(fitted) -> None:
    method, history = fitted
    assert get_method(method.name) is type(method)
    assert isinstance(history, dict)
    assert all(isinstance(c, str) and 0 < len(c) <= 40 for c in method.caveats())


def test_same_video_twice_gives_the_same_score(fitted, data) -> None:
    method, _ = fitted
    video = data.test[1]
    pair = method.predict([video, video])
    again = method.predict([video.path])  # a bare path works too
    assert pair.shape == (2,) and pair.dtype == np.float64 and np.isfinite(pair).all()
    assert pair[0] == pytest.approx(pair[1], rel=1e-9, abs=1e-9)  # one call: the same computation
    # Another call scores it in a batch of 1 instead of 2: float32 kernels may sum in another
    # order (about 1e-7), which a steep tiny-data calibration (SSL-VQA's, fitted on 2 labelled
    # videos) can stretch to 1e-5 of the score.
    assert pair[0] == pytest.approx(again[0], rel=1e-4, abs=1e-6)


def test_different_videos_give_different_scores(fitted, data) -> None:
    method, _ = fitted
    scores = method.predict(data.test)
    assert scores.shape == (len(data.test),) and np.isfinite(scores).all()
    assert len(np.unique(np.round(scores, 9))) == len(data.test), scores


def test_load_round_trip_gives_identical_scores(fitted, data, tmp_path, monkeypatch) -> None:
    method, _ = fitted
    before = method.predict(data.test[:2])
    path = method.save(tmp_path / f"{method.name}.pt")
    monkeypatch.setenv("VQA_ZOO_CACHE", str(tmp_path / "fresh-cache"))  # nothing cached: all recomputed
    loaded = Method.load(path, device="cpu")
    assert type(loaded) is type(method)
    # identical up to float32 batch-layout effects: the loaded method recomputes its cached
    # maps / tokens in batches of 2, the fitted one read some computed in other batches
    np.testing.assert_allclose(loaded.predict(data.test[:2]), before, rtol=1e-6, atol=1e-9)


def test_an_unreadable_file_is_named_and_scored_nan(fitted, data, broken, tmp_path) -> None:
    method, _ = fitted
    missing = tmp_path / "missing.mp4"
    report = method.score([data.test[0], broken, missing])
    assert report.ok.tolist() == [True, False, False]
    assert np.isfinite(report.scores[0]) and np.isnan(report.scores[1:]).all()
    assert "broken.mp4" in report.errors[1] and "missing.mp4" in report.errors[2]
    assert np.isnan(report.decode_s[1:]).all() and np.isnan(report.model_s[1:]).all()
    assert report.scores[0] == pytest.approx(method.predict([data.test[0]])[0], rel=1e-4, abs=1e-6)
    with pytest.raises(VideoDecodeError, match=r"broken\.mp4"):
        method.predict([data.test[0], broken])


def test_score_fills_decode_and_model_seconds(fitted, data) -> None:
    method, _ = fitted
    report = method.score(data.test)
    assert isinstance(report, ScoreReport) and report.ok.all()
    assert np.all(report.decode_s > 0) and np.all(report.model_s >= 0)
    assert all(np.isfinite(v).all() and len(v) == len(data.test) for v in report.parts.values())
    np.testing.assert_array_equal(report.scores, method.predict(data.test))
    assert len(method.score([])) == 0


def test_cost_parts_run_through_the_flop_counter(fitted) -> None:
    from vqa_bench.cost import count_flops, model_cost

    method, _ = fitted
    parts = method.cost_parts()
    cost = model_cost(method)
    if not parts:  # a method without networks (e.g. a floor baseline)
        assert cost["flops"] is None and "no network" in cost["note"]
        return
    assert cost["flops"] == sum(count_flops(m, x) for m, x in parts.values()) > 0
    assert cost["params"] == sum(sum(p.numel() for p in m.parameters()) for m, _ in parts.values()) > 0


@pytest.mark.parametrize("name", list_methods())
def test_init_for_scoring_scores_without_training(name, data, one_thread, tmp_path, monkeypatch) -> None:
    """`init_for_scoring` (random weights, untrained stand-ins; what the speed benchmark times)
    makes `score` run the whole scoring path with no fit and no pretraining stage built."""
    monkeypatch.setenv("VQA_ZOO_CACHE", str(tmp_path / "cache"))
    method = tiny_method(name, data)
    with pytest.raises(VqaError):
        method.score(data.test[:1])  # untrained: refuses
    method.init_for_scoring(seed=0)
    report = method.score([data.test[0], data.test[3], data.test[0]])
    assert report.ok.all(), report.errors
    assert np.isfinite(report.scores).all() and report.scores[0] == pytest.approx(report.scores[2], rel=1e-6)
    assert np.all(report.decode_s > 0) and np.all(report.model_s >= 0)
    if method.cost_parts():  # a network ran: it took time and, with saliency, the UNet3D did too
        assert np.all(report.model_s > 0)
        if "saliency model" in method.cost_parts():
            assert report.parts["saliency_s"][0] > 0
    assert not list((tmp_path / "cache").glob("stages/*")), "init_for_scoring must not build a pretraining stage"


def test_golden_score(fitted_with_golden, data, tmp_path, monkeypatch) -> None:
    method, _, score = fitted_with_golden
    goldens = json.loads(GOLDENS.read_text()) if GOLDENS.is_file() else {}
    if os.environ.get("VQA_ZOO_UPDATE_GOLDENS"):
        # the same fit with another summation order (2 threads, fresh caches and stages)
        monkeypatch.setenv("VQA_ZOO_CACHE", str(tmp_path / "cache"))
        torch.set_num_threads(2)
        try:
            other = fit_and_golden(method.name, data, tmp_path / "work")[2]
        finally:
            torch.set_num_threads(1)
        goldens.update(machine=machine(), clip=GOLDEN_CLIP)
        spread = abs(other - score) / max(1.0, abs(score))
        goldens.setdefault("methods", {})[method.name] = {"score": score, "fp_spread": spread}
        GOLDENS.write_text(json.dumps(goldens, indent=1, sort_keys=True) + "\n")
        return
    entry = goldens.get("methods", {}).get(method.name)
    assert entry is not None, (
        f"no golden score for {method.name!r}; write it with "
        "`VQA_ZOO_UPDATE_GOLDENS=1 uv run pytest tests/test_method_contract.py -k golden`"
    )
    same = goldens.get("machine") == machine()
    rtol = SAME_MACHINE_RTOL if same else max(1e-6, OTHER_MACHINE_SPREADS * entry["fp_spread"])
    golden = entry["score"]
    assert math.isclose(score, golden, rel_tol=0, abs_tol=rtol * max(1.0, abs(golden))), (
        f"{method.name}: tiny golden score moved from {golden!r} to {score!r} (tolerance {rtol:g} relative, "
        f"{'the machine the goldens were written on' if same else 'another machine'}); if the change is meant, "
        "regenerate the goldens (see the module docstring) and say why"
    )


# --------------------------------------------------------------------------- one DDP script for all

# Under torchrun each rank gets half of the labelled videos: SSL-VQA's must give each rank a full
# batch (drop_last) of at least 3, the smallest PLCC batch with a gradient: 6 labelled / 2 ranks, batch 3,
# one epoch: one step.
DDP_OVERRIDES: dict[str, dict[str, Any]] = {
    name: {"semi.labelled": 6, "trainer.batch_size": 3, "trainer.epochs": 1} for name in ("ssl", "qasa")
}


@pytest.mark.slow
@pytest.mark.parametrize("name", list_methods())
def test_ddp_fit_keeps_ranks_in_sync_and_scores_every_video(name, data, tmp_path) -> None:
    """Two CPU ranks under torchrun (gloo): one model (same state on both ranks), validation
    gathered over both ranks, every video scored."""
    cls = get_method(name)
    overrides = {**offline_overrides(cls.config_class, data), **DDP_OVERRIDES.get(name, {})}
    spec = {
        "method": name,
        "overrides": overrides,
        "train": [_item_json(it) for it in data.train],
        "val": [_item_json(it) for it in data.val],
        "test": [_item_json(it) for it in data.test],
    }
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    script = Path(__file__).with_name("ddp_fit_script.py")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(script), str(tmp_path / "spec.json"), str(tmp_path / "out")]  # fmt: skip
    proc = subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    ranks = [json.loads((tmp_path / "out" / f"rank{r}.json").read_text()) for r in (0, 1)]
    n = len(data.train) + len(data.val) + len(data.test)
    for result in ranks:
        assert result["pred_n"] == n and result["finite"]
        if result.get("val_n") is not None:
            assert result["val_n"] == len(data.val)  # gathered: every validation item counted once
    assert ranks[0]["state_sum"] == ranks[1]["state_sum"]  # DDP kept the replicas in sync
    assert ranks[0]["scores"] == ranks[1]["scores"]
    if name in DDP_OVERRIDES:
        assert ranks[0]["steps"] == 1  # 6 labelled / 2 ranks / batch 3, 1 epoch


def _item_json(item: ManifestItem) -> dict[str, Any]:
    return {"video_id": item.video_id, "path": str(item.path), "mos": item.mos, "split": item.split, "extra": item.extra}
