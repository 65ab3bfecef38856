"""Models: shapes, the NIQE-like and CLIP scores against independent computations, released key maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_vqa.clip_quality import ClipQualityScorer, build_clip_model, openai_to_open_clip
from ssl_vqa.config import QasaConfig, SslConfig
from ssl_vqa.model import build_dual_model
from ssl_vqa.released import load_released_dual
from vqa_core.config import load_config
from vqa_core.errors import VqaError, WeightsUnavailableError


@pytest.fixture(scope="module")
def ssl_model():
    torch.manual_seed(0)
    return build_dual_model(load_config(SslConfig, "tiny")).eval()


@pytest.fixture(scope="module")
def qasa_model():
    torch.manual_seed(0)
    return build_dual_model(load_config(QasaConfig, "tiny")).eval()


def _clips(b: int, k: int = 1, t: int = 4, s: int = 56) -> torch.Tensor:
    return torch.randn(b, k, 3, t, s, s, generator=torch.Generator().manual_seed(b))


def test_training_forward_shapes(ssl_model):
    ssl_model.set_reference_cubes(torch.randn(3, 3, 4, 56, 56))
    x = _clips(4)[:, 0]
    out = ssl_model({"l_v": x[:2], "l_w": x[2:], "u_v": x[:2], "u_w": x[2:], "ref_index": torch.tensor([[0, 2]] * 2)})
    assert set(out) == {"l", "u"}
    assert out["l"].primary_v.shape == (2,) and out["u"].aux_w.shape == (2,)
    assert torch.all((out["l"].aux_v > 0) & (out["l"].aux_v <= 1))  # exp(-tau d)


def test_niqe_distance_matches_numpy(ssl_model):
    aux = ssl_model.auxiliary
    with torch.no_grad():
        refs = torch.randn(3, 3, 4, 56, 56, generator=torch.Generator().manual_seed(5))
        aux.fit_reference(refs)
        tokens = aux.tokens(_clips(2)[:, 0])
        dist = aux.distance(tokens).numpy()
        ref_tokens = aux.tokens(refs).reshape(-1, tokens.shape[-1]).double().numpy()
    mu_r, cov_r = ref_tokens.mean(0), np.cov(ref_tokens, rowvar=False)
    for i in range(2):
        v = tokens[i].double().numpy()
        mu_v, cov_v = v.mean(0), np.cov(v, rowvar=False)
        pooled = (cov_r + cov_v) / 2 + aux.eps * np.eye(len(mu_r))
        d = mu_v - mu_r
        assert dist[i] == pytest.approx(np.sqrt(d @ np.linalg.solve(pooled, d)), rel=1e-4)


def test_inference_scores_are_deterministic(ssl_model):
    clips = _clips(2, k=2)
    with torch.no_grad():
        p1, a1 = ssl_model.score(clips)
        p2, a2 = ssl_model.score(clips)
    assert p1.shape == a1.shape == (2,)
    assert torch.equal(p1, p2) and torch.equal(a1, a2)
    assert torch.all(a1 <= 0)  # -tau d


def test_clip_score_matches_open_clip(qasa_model):
    scorer = qasa_model.auxiliary
    frames = torch.rand(2, 3, 3, scorer.image_size, scorer.image_size, generator=torch.Generator().manual_seed(1))
    import open_clip

    clip = scorer.clip
    mean = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1)
    std = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1)
    with torch.no_grad():
        img = clip.encode_image(((frames - mean) / std).reshape(6, 3, *frames.shape[-2:])).reshape(2, 3, -1).mean(1)
        img = img / img.norm(dim=-1, keepdim=True)
        txt = clip.encode_text(open_clip.tokenize(["a good photo.", "a bad photo.", "a high quality photo.",
                                                   "a low quality photo."]))
        txt = txt / txt.norm(dim=-1, keepdim=True)
        cos = img @ txt.t()
        expected = torch.sigmoid((cos[:, 0] - cos[:, 1]) / 0.1) + torch.sigmoid((cos[:, 2] - cos[:, 3]) / 0.1)
        got = scorer(frames)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)
    assert torch.all((got >= 0) & (got <= 2))


def test_text_tower_frozen_image_tower_trains(qasa_model):
    clip = qasa_model.auxiliary.clip
    trainable = {n.split(".")[0] for n, p in clip.named_parameters() if p.requires_grad}
    assert trainable == {"visual"}


# ---------------------------------------------------------------- released checkpoints


def _release_like(model, clip_layout: bool, _to_fastvqa) -> dict:
    """A `{primary, auxillary}` dict with the released names (DataParallel prefixes included)."""
    g = torch.Generator().manual_seed(3)
    rand = lambda t: torch.randn(t.shape, generator=g) if t.is_floating_point() else t.clone()  # noqa: E731
    primary = {f"module.backbone.{_to_fastvqa(k)}": rand(v) for k, v in model.primary.backbone.state_dict().items()}
    head = model.primary.head.state_dict()
    primary.update({"module.vqa_head.fc_hid.weight": rand(head["net.1.weight"]),
                    "module.vqa_head.fc_hid.bias": rand(head["net.1.bias"]),
                    "module.vqa_head.fc_last.weight": rand(head["net.4.weight"]),
                    "module.vqa_head.fc_last.bias": rand(head["net.4.bias"])})
    if clip_layout:
        aux = {k: rand(v).half() for k, v in model.auxiliary.clip.state_dict().items()}
        aux.update(input_resolution=torch.tensor(32), context_length=torch.tensor(77), vocab_size=torch.tensor(49408))
    else:
        aux = {_to_fastvqa(k): rand(v) for k, v in model.auxiliary.backbone.state_dict().items()}
    return {"primary": primary, "auxillary": aux, "epoch": 30}


@pytest.mark.parametrize("kind", ["ssl", "qasa"])
def test_released_checkpoint_loads(kind, tmp_path, to_fastvqa):
    cfg = load_config(SslConfig if kind == "ssl" else QasaConfig, "tiny")
    model = build_dual_model(cfg)
    release = _release_like(model, kind == "qasa", to_fastvqa)
    torch.save(release, tmp_path / "release.pth")
    load_released_dual(tmp_path / "release.pth", model)
    head = model.primary.head.state_dict()
    torch.testing.assert_close(head["net.4.weight"], release["primary"]["module.vqa_head.fc_last.weight"])
    name = "features.0.0.attn.qkv.weight"
    torch.testing.assert_close(model.primary.backbone.state_dict()[name],
                               release["primary"][f"module.backbone.{to_fastvqa(name)}"])
    if kind == "qasa":
        got = model.auxiliary.clip.state_dict()["visual.conv1.weight"]
        torch.testing.assert_close(got, release["auxillary"]["visual.conv1.weight"].float())
        assert got.dtype == torch.float32
    else:
        torch.testing.assert_close(model.auxiliary.backbone.state_dict()["norm.weight"], release["auxillary"]["norm.weight"])


def test_released_checkpoint_partial_is_an_error(to_fastvqa):
    model = build_dual_model(load_config(SslConfig, "tiny"))
    release = _release_like(model, False, to_fastvqa)
    del release["primary"]["module.vqa_head.fc_last.bias"]
    with pytest.raises(VqaError, match="head"):
        load_released_dual(release, model)
    with pytest.raises(VqaError, match="primary, auxillary"):
        load_released_dual({"model": {}}, model)


def test_openai_names_map_onto_open_clip():
    state = {"module.visual.proj": torch.zeros(2, dtype=torch.float16), "input_resolution": torch.tensor(224),
             "token_embedding.weight": torch.ones(1)}
    assert set(openai_to_open_clip(state)) == {"visual.proj", "token_embedding.weight"}
    assert openai_to_open_clip(state)["visual.proj"].dtype == torch.float32


def test_offline_clip_weights_error(monkeypatch, tmp_path):
    import open_clip

    def offline(*args, **kwargs):
        if kwargs.get("pretrained"):
            raise RuntimeError("Failed to download weights for tag 'openai': no internet")
        raise AssertionError("the model must not be built before the weights are available")

    monkeypatch.setattr(open_clip, "create_model", offline)
    with pytest.raises(WeightsUnavailableError, match=r"ViT-B-32.*clip\.weights_path"):
        build_clip_model("ViT-B-32", "openai")
    missing = tmp_path / "ViT-B-32.pt"
    with pytest.raises(WeightsUnavailableError, match=str(missing)):
        build_clip_model("ViT-B-32", None, weights_path=str(missing))


def test_scorer_needs_prompt_pairs(qasa_model):
    scorer = ClipQualityScorer(qasa_model.auxiliary.clip, [["sharp", "blurry"]], "a {} video.", 0.1)
    assert scorer.prompts == ["a sharp video.", "a blurry video."]
    assert scorer.text_embeddings.shape[0] == 2
