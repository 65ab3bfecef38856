"""SSL-VQA's and QASA-VQA's cost for the benchmark: both models of one video's scoring pass."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch

from ssl_vqa.config import QasaConfig, SslConfig
from ssl_vqa.data import make_views
from ssl_vqa.method import QasaMethod, SslMethod, clip_input_size
from vqa_bench.cost import count_flops, model_cost


def _method(kind: str, test_clips: int = 1, **changes):
    cfg = copy.deepcopy((SslConfig if kind == "ssl" else QasaConfig).PRESETS["tiny"])
    cfg = replace(cfg, sampling=replace(cfg.sampling, test_clips=test_clips), **changes)
    method = (SslMethod if kind == "ssl" else QasaMethod)(cfg, device="cpu")
    torch.manual_seed(0)
    method.model = method._new_model(pretrained=False).eval()
    if method.model.kind == "niqe" and method.model.auxiliary is not None:
        clips, _ = method.cost_parts()["model"][1]
        method.model.auxiliary.fit_reference(torch.randn(3, *clips.shape[2:]))
    return method


@pytest.mark.parametrize("kind", ["ssl", "qasa"])
def test_example_input_is_what_the_test_views_give(kind):
    method = _method(kind, test_clips=2)
    cfg = method.config
    t = cfg.sampling.test_clips * cfg.sampling.clip_len
    video = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (t, 72, 96, 3), dtype=np.uint8))
    views = make_views(cfg, False, clip_input_size(cfg))(video, seed=0)
    clips, frames = method.cost_parts()["model"][1]
    assert clips.shape == (1, *views["clips"].shape)
    if kind == "qasa":
        assert frames.shape == (1, *views["frames"].shape)
    else:
        assert frames is None and "frames" not in views


def test_ssl_counts_both_trunks_and_the_gaussian_fit():
    method = _method("ssl")
    cost = model_cost(method)
    assert isinstance(cost["flops"], int) and cost["flops"] > 0
    model = method.model
    clips, _ = method.cost_parts()["model"][1]
    flat = clips.flatten(0, 1)
    tokens = model.auxiliary.tokens(flat)
    n, c = tokens.shape[0] * tokens.shape[1], tokens.shape[2]
    # primary + auxiliary trunk on the same clips, plus the covariance of the video's tokens
    expected = count_flops(model.primary, flat) + count_flops(model.auxiliary.backbone, flat) + 2 * n * c * c
    assert cost["flops"] == expected
    assert cost["params"] == sum(p.numel() for p in model.parameters())


def test_ssl_flops_double_with_twice_the_test_clips():
    assert model_cost(_method("ssl", test_clips=2))["flops"] == 2 * model_cost(_method("ssl"))["flops"]


def test_qasa_counts_the_clip_image_tower_on_every_frame():
    one, two = _method("qasa"), _method("qasa", test_clips=2)
    f1, f2 = model_cost(one)["flops"], model_cost(two)["flops"]
    assert isinstance(f1, int) and f1 > 0
    aux = one.model.auxiliary
    clips, frames = one.cost_parts()["model"][1]
    tower = count_flops(aux.clip.visual, frames[0])
    assert tower > 0
    prompts = 2 * aux.text_embeddings.shape[0] * aux.text_embeddings.shape[1]  # embedding x prompt matrix
    assert f1 == count_flops(one.model.primary, clips[0]) + tower + prompts
    # per-clip work doubles (fragments and CLIP frames); the prompt comparison is per video
    assert f2 - prompts == 2 * (f1 - prompts)


def test_supervised_baseline_counts_the_primary_alone():
    cfg = copy.deepcopy(SslConfig.PRESETS["tiny"])
    method = _method(
        "ssl",
        semi=replace(cfg.semi, unlabelled_per_labelled=0),
        combine=replace(cfg.combine, mode="primary"),
    )
    assert method.model.auxiliary is None
    clips, _ = method.cost_parts()["model"][1]
    assert model_cost(method)["flops"] == count_flops(method.model.primary, clips[0]) > 0


def test_unfitted_method_says_why():
    method = SslMethod("tiny", device="cpu")
    cost = model_cost(method)
    assert cost["flops"] is None and "call fit()" in cost["note"]
