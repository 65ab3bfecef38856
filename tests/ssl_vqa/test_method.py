"""SslMethod / QasaMethod on tiny generated videos: partition, predict_parts, baseline, stage, errors.

What every method must do (same video same score, load round trip, unreadable files, timings,
cost, goldens, DDP) is checked once for all in tests/test_method_contract.py.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ssl_vqa.data import PairedDataset
from ssl_vqa.method import QasaMethod, SslMethod
from vqa_core.config import load_config
from vqa_core.datasets import ManifestItem
from vqa_core.errors import DatasetError, VqaError
from vqa_core.method import Method, get_method, register_method
from vqa_core.testing import make_video


def _items(root: Path, n: int, pristine: int = 2) -> list[ManifestItem]:
    """n scenes; the first `pristine` are version 0 (references), the rest increasingly compressed."""
    items = []
    for i in range(n):
        crf = 4 + 7 * i
        path = make_video(root / f"clip{i}.mp4", num_frames=12, height=48, width=64, seed=i,
                          options={"crf": str(crf)})
        items.append(ManifestItem(f"clip{i}", path, float(100 - crf), "train", {"version": 0 if i < pristine else 1}))
    return items


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> list[ManifestItem]:
    return _items(tmp_path_factory.mktemp("sslvids"), 8)


@pytest.fixture(scope="module", params=["ssl", "qasa"])
def fitted(request, videos, tmp_path_factory):
    cls = {"ssl": SslMethod, "qasa": QasaMethod}[request.param]
    register_method(cls.name, cls)
    torch.manual_seed(0)
    method = cls(load_config(cls.config_class, "tiny", ["semi.labelled=4"]), device="cpu")
    history = method.fit(videos[:6], videos[6:], tmp_path_factory.mktemp(f"run_{cls.name}"), progress=False)
    return method, history


def test_fit_uses_the_partition(fitted):
    method, history = fitted
    assert (history["labelled"], history["unlabelled"]) == (4, 2)
    assert len(method.partition.labelled) == 4
    assert np.isfinite(history["history"][-1]["train_loss"])


def test_save_load_roundtrip(fitted, videos, tmp_path):
    method, _ = fitted
    path = method.save(tmp_path / f"{method.name}.pt")
    loaded = Method.load(path, device="cpu")
    assert type(loaded) is type(method) and get_method(method.name) is type(method)
    parts = loaded.predict_parts(videos[:2])
    np.testing.assert_allclose(loaded.calibration.to_mos(parts["combined"]), method.predict(videos[:2]), rtol=1e-6)
    assert set(parts) == {"primary", "auxiliary", "combined"} and np.all(np.isfinite(parts["auxiliary"]))


def test_supervised_baseline_has_no_auxiliary(videos, tmp_path):
    cfg = load_config(SslMethod.config_class, "tiny",
                      ["semi.labelled=4", "semi.unlabelled_per_labelled=0", "combine.mode=primary"])
    method = SslMethod(cfg, device="cpu")
    method.fit(videos[:6], [], tmp_path, progress=False)
    assert method.model.auxiliary is None
    parts = method.predict_parts(videos[:2])
    assert np.all(np.isnan(parts["auxiliary"])) and np.array_equal(parts["combined"], parts["primary"])


def test_primary_scoring_keeps_the_semi_supervised_auxiliary(videos, tmp_path):
    """The `small` presets' combination: both models train together, the score is the primary's."""
    cfg = load_config(SslMethod.config_class, "tiny", ["semi.labelled=4", "combine.mode=primary"])
    torch.manual_seed(0)
    method = SslMethod(cfg, device="cpu")
    history = method.fit(videos[:6], [], tmp_path, progress=False)
    assert history["unlabelled"] == 2 and method.model.auxiliary is not None
    assert any("cons_aux" in key for key in history["history"][-1])  # the auxiliary's unlabelled terms ran
    parts = method.predict_parts(videos[:4])
    assert np.all(np.isfinite(parts["auxiliary"])) and np.array_equal(parts["combined"], parts["primary"])
    np.testing.assert_allclose(method.predict(videos[:4]), method.calibration.to_mos(parts["primary"]), rtol=1e-6)


def test_missing_references_are_explained(videos, tmp_path):
    no_pristine = [ManifestItem(it.video_id, it.path, it.mos, "train", {"version": 3}) for it in videos[:6]]
    method = SslMethod("tiny", device="cpu")
    with pytest.raises(DatasetError, match=r"niqe\.reference_dir"):
        method.fit(no_pristine, [], tmp_path, progress=False)


def test_paired_dataset_cycles_unlabelled_deterministically(videos):
    cfg = load_config(SslMethod.config_class, "tiny")
    ds = PairedDataset(videos[:3], videos[3:8], [0.0, 1.0, 2.0], cfg, None, seed=4)
    seen = []
    for epoch in range(5):
        ds.set_epoch(epoch)
        seen += [ds.unlabelled_indices(i)[0] for i in range(3)]
    assert sorted(seen[:5]) == [0, 1, 2, 3, 4] and sorted(seen[5:10]) == [0, 1, 2, 3, 4]  # each once per cycle
    again = PairedDataset(videos[:3], videos[3:8], [0.0, 1.0, 2.0], cfg, None, seed=4)
    again.set_epoch(2)
    assert again.unlabelled_indices(1) == [seen[7]]
    item = ds[0]
    assert item["l_v"].shape == item["l_w"].shape == item["u_v"].shape[1:]
    assert not torch.equal(item["l_v"], item["l_w"])  # first- and second-half fragment offsets


def test_caveats_name_what_the_papers_did_not_use():
    # `tiny` (a CI anchor) scores with the primary model alone, as `small` does
    assert SslMethod("tiny", device="cpu").caveats() == ["no ST-VQRL init", "primary score"]
    assert QasaMethod("tiny", device="cpu").caveats() == ["no ST-VQRL init", "CLIP random", "primary score"]
    cfg = load_config(QasaMethod.config_class, "tiny", ["init=stvqrl", "combine.mode=product"])
    assert QasaMethod(cfg, device="cpu").caveats() == ["CLIP random"]
    full = load_config(QasaMethod.config_class, "full", ["init=stvqrl"])
    assert QasaMethod(full, device="cpu").caveats() == []  # OpenAI's CLIP weights, ST-VQRL trunks
    # `small` scores with the primary model alone; a labelled-only run has nothing else to score with
    assert SslMethod("small", device="cpu").caveats() == ["primary score"]
    assert QasaMethod("small", device="cpu").caveats() == ["CLIP random", "primary score"]
    alone = load_config(SslMethod.config_class, "small", ["semi.unlabelled_per_labelled=0"])
    assert SslMethod(alone, device="cpu").caveats() == []
    alone = load_config(QasaMethod.config_class, "small", ["semi.unlabelled_per_labelled=0"])
    assert QasaMethod(alone, device="cpu").caveats() == []  # the primary alone: no CLIP is built


def test_untrained_method_refuses_to_predict(videos):
    with pytest.raises(VqaError, match="not trained"):
        SslMethod("tiny", device="cpu").predict(videos[:1])


def _vqa_parser():
    import argparse

    from ssl_vqa.command import add

    parser = argparse.ArgumentParser(prog="vqa")
    add(parser.add_subparsers(dest="command"))
    return parser


@pytest.mark.parametrize("argv", [["ssl"], ["ssl", "fit", "--labelled", "0.5", "--config", "tiny"], ["ssl", "score", "x.mp4"]])
def test_retired_ssl_command_points_to_bench_and_vqa_score(argv):
    args = _vqa_parser().parse_args(argv)
    with pytest.raises(VqaError) as info:
        args.func(args)
    message = str(info.value)
    assert "retired" in message and "bench --method ssl" in message and "vqa score" in message
    assert "semi.labelled" in message  # where the labelled budget went


def test_vqa_score_scores_a_saved_model(fitted, videos, tmp_path):
    """What `vqa ssl score` did, through the general `vqa score` that replaced it."""
    import csv

    from vqa_core.cli import main

    method, _ = fitted
    ckpt = method.save(tmp_path / "model.pt")
    out = tmp_path / "scores.csv"
    argv = ["score", str(videos[0].path), "--checkpoint", str(ckpt), "--out", str(out), "--device", "cpu"]
    assert main([*argv, "--no-progress"]) == 0
    (row,) = list(csv.DictReader(out.open()))
    expected = float(method.predict([videos[0].path])[0])
    assert float(row["score"]) == pytest.approx(expected, rel=1e-6, abs=1e-6)  # the CSV keeps 6 decimals


def test_stvqrl_and_ssl_with_the_same_st_vqrl_settings_share_one_stage():
    """One artifact, one key: `bench --method stvqrl,ssl` builds the ST-VQRL stage once."""
    from st_vqrl import StVqrlConfig, StVqrlMethod

    ssl = SslMethod(load_config(SslMethod.config_class, "tiny", ["init=stvqrl"]), device="cpu").pretrain_stages()
    qasa = QasaMethod(load_config(QasaMethod.config_class, "tiny", ["init=stvqrl"]), device="cpu").pretrain_stages()
    # the stvqrl method's own evaluation settings do not enter the key
    # (ssl/qasa tiny read MSCN fragments: the same input for the stvqrl method here)
    evaluated = load_config(
        StVqrlConfig, "tiny", {"eval.score": "zero_shot", "eval.num_clips": 3, "clip.input_norm": "mscn"}
    )
    stvqrl = StVqrlMethod(evaluated, device="cpu").pretrain_stages()
    assert stvqrl[0].name == ssl[0].name == qasa[0].name == "stvqrl"
    assert stvqrl[0].key == ssl[0].key == qasa[0].key
    other = load_config(SslMethod.config_class, "tiny", ["init=stvqrl", "stvqrl.pretrain.k=2"])
    assert SslMethod(other, device="cpu").pretrain_stages()[0].key != ssl[0].key


def test_stvqrl_stage_initialises_both_trunks(tmp_path):
    from ssl_vqa.model import build_trunk
    from st_vqrl.pretrain import ARTIFACT
    from st_vqrl.stage import stage_config

    cfg = load_config(SslMethod.config_class, "tiny", ["init=stvqrl"])
    method = SslMethod(cfg, device="cpu")
    (stage,) = method.pretrain_stages()
    assert stage.name == "stvqrl" and stage.config == stage_config(cfg.stvqrl)
    torch.manual_seed(11)
    trunk = build_trunk(cfg)
    torch.save({"backbone": trunk.state_dict()}, tmp_path / ARTIFACT)
    method.use_pretrained("stvqrl", tmp_path)
    model = method._initial_model()
    for got in (model.primary.backbone, model.auxiliary.backbone):
        for name, value in trunk.state_dict().items():
            torch.testing.assert_close(got.state_dict()[name], value)
    # a released ST-VQRL checkpoint reads RGB fragments
    released = load_config(
        SslMethod.config_class,
        "tiny",
        ["init=stvqrl", "stvqrl.init_from=/nowhere/st.pth", "stvqrl.clip.input_norm=fastvqa"],
    )
    assert SslMethod(released, device="cpu").pretrain_stages() == []


def test_calibration_keeps_ranks_beyond_the_labelled_range():
    from ssl_vqa.method import calibrate

    raw = np.array([0.10, 0.12, 0.15, 0.20])
    mos = np.array([1.0, 2.0, 2.5, 4.0])
    cal = calibrate(raw, mos)
    slope, intercept = np.polyfit(raw, mos, 1)  # ordinary least squares, computed independently
    test = np.array([-1.0, 0.0, 0.5, 3.0])  # far outside the labelled range
    np.testing.assert_allclose(cal.to_mos(test), slope * test + intercept)
    assert np.all(np.diff(cal.to_mos(test)) > 0)
    assert calibrate(raw, mos[::-1]).kind == "identity"  # anti-correlated: raw scores, with a warning


def test_released_ssl_model_scores_after_references(videos, tmp_path, to_fastvqa):
    from ssl_vqa.model import build_dual_model

    cfg = load_config(SslMethod.config_class, "tiny")
    model = build_dual_model(cfg)
    release = {"primary": {f"module.{k}": v for k, v in model.primary.state_dict().items()},
               "auxillary": model.auxiliary.backbone.state_dict()}
    # this package's primary names -> the released FAST-VQA names (the key map itself is tested in test_model.py)
    _to_fastvqa = to_fastvqa
    release["primary"] = {
        ("module.vqa_head.fc_hid." + k.split("net.1.")[1]) if "head.net.1." in k
        else ("module.vqa_head.fc_last." + k.split("net.4.")[1]) if "head.net.4." in k
        else "module.backbone." + _to_fastvqa(k[len("module.backbone."):]): v
        for k, v in release["primary"].items()
    }
    release["auxillary"] = {_to_fastvqa(k): v for k, v in release["auxillary"].items()}
    torch.save(release, tmp_path / "sslvqa_30.pth")
    method = SslMethod.from_release(tmp_path / "sslvqa_30.pth", "tiny", device="cpu")
    with pytest.raises(VqaError, match="fit_references"):
        method.predict(videos[:2])
    method.fit_references([it.path for it in videos[:2]])
    scores = method.predict(videos[2:4])
    assert scores.shape == (2,) and np.all(np.isfinite(scores))
