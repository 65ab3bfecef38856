"""The floors as vqa-zoo methods: registry, fit/score on generated clips, checkpoints, bad files."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch

from vqa_core.config import load_config
from vqa_core.errors import VideoDecodeError, VqaError
from vqa_core.method import Method, get_method, list_methods
from vqa_floors import BitrateMethod, NssMethod, SharpnessMethod

FLOORS = ("sharpness", "bitrate", "nss")
PRISTINE, H264_STRONG, BLUR_STRONG = 0, 6, 9
TRAIN, VAL, TEST = ("astronaut", "coffee"), ("chelsea",), "immunohistochemistry"
# what a floor can see: bit counts do not drop when a blurred copy is stored losslessly (as the
# demo stores its blur versions), so the bitrate floor is only asked about compression
SEES = {"sharpness": (H264_STRONG, BLUR_STRONG), "bitrate": (H264_STRONG,), "nss": (H264_STRONG, BLUR_STRONG)}


@pytest.fixture(scope="module")
def fitted(floor_clips, tmp_path_factory):
    out = {}
    for name in FLOORS:
        method = get_method(name)("tiny", device="cpu")
        work = tmp_path_factory.mktemp(f"fit_{name}")
        history = method.fit(floor_clips.items(TRAIN), floor_clips.items(VAL), work, progress=False)
        out[name] = (method, history)
    return out


def test_floors_are_registered_with_presets():
    assert set(FLOORS) <= set(list_methods())
    assert get_method("sharpness") is SharpnessMethod
    assert get_method("bitrate") is BitrateMethod
    assert get_method("nss") is NssMethod
    for name in FLOORS:
        cls = get_method(name)
        for preset in ("tiny", "small", "full"):
            assert isinstance(load_config(cls.config_class, preset), cls.config_class)
    assert load_config(NssMethod.config_class, "small").short_side == 360


@pytest.mark.parametrize("name", FLOORS)
def test_fit_then_score_ranks_distorted_copies_below_the_pristine(fitted, floor_clips, name):
    method, history = fitted[name]
    assert history["num_train"] == 2 * 5
    scene = floor_clips.scenes[TEST]
    items = [scene[PRISTINE], *(scene[v] for v in SEES[name])]
    report = method.score(items)
    assert report.errors == [None] * len(items)
    assert np.all(np.isfinite(report.scores))
    assert np.all(report.decode_s > 0) and np.all(report.model_s >= 0)
    pristine, *distorted = report.scores
    for version, score in zip(SEES[name], distorted):
        assert score < pristine, f"{name}: version {version} scored {score:.3f} >= pristine {pristine:.3f}"
    # scores are on the training MOS scale (1.5-5 here), not raw statistics
    assert 0.0 < pristine < 7.0


@pytest.mark.parametrize("name", ("sharpness", "bitrate"))
def test_training_free_floors_keep_the_statistics_ranking(fitted, floor_clips, name):
    method, history = fitted[name]
    items = floor_clips.items((TEST,))
    feats, *_ = method._measure(items, progress=False, what="test")
    raw = np.array([f[0] for f in feats])
    scores = method.predict(items)
    assert np.array_equal(np.argsort(raw, kind="stable"), np.argsort(scores, kind="stable"))
    assert history["calibration"]["std"] > 0  # the map to MOS is strictly increasing


def test_nss_selects_on_validation(fitted):
    _, history = fitted["nss"]
    assert history["selected_by"] == "validation SRCC"
    assert len(history["grid"]) == 4  # the tiny grid: 2 C x 2 gamma
    assert history["num_val"] == 5


@pytest.mark.parametrize("name", FLOORS)
def test_same_video_same_score(fitted, floor_clips, name):
    method, _ = fitted[name]
    item = floor_clips.scenes[TEST][PRISTINE]
    first = method.predict([item, item])
    again = method.predict([item.path])
    assert first[0] == first[1] == again[0]


@pytest.mark.parametrize("name", FLOORS)
@pytest.mark.parametrize("suffix", (".pt", ".safetensors"))
def test_checkpoint_round_trip(fitted, floor_clips, tmp_path, name, suffix):
    method, _ = fitted[name]
    path = method.save(tmp_path / f"{name}{suffix}")
    if suffix == ".pt":
        raw = torch.load(path, weights_only=True)  # tensors and plain data only: no pickle
        assert raw["method"] == name
    loaded = Method.load(path, device="cpu")
    assert type(loaded) is type(method)
    items = floor_clips.items((TEST,))
    np.testing.assert_array_equal(loaded.predict(items), method.predict(items))


def test_nss_checkpoint_holds_the_svr_as_arrays(fitted, tmp_path):
    method, _ = fitted["nss"]
    state = torch.load(method.save(tmp_path / "nss.pt"), weights_only=True)["state"]
    reg = state["regressor"]
    assert reg["kind"] == "svr"
    n_sv, n_feat = reg["support"].shape
    assert n_feat == len(NssMethod.feature_names) == 66
    assert reg["coef"].shape == (n_sv,) and reg["center"].shape == reg["scale"].shape == (n_feat,)


@pytest.mark.parametrize("name", FLOORS)
def test_bad_video_is_nan_in_score_and_an_error_in_predict(fitted, floor_clips, tmp_path, name):
    method, _ = fitted[name]
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 10)
    good = floor_clips.scenes[TEST][PRISTINE]
    report = method.score([good, broken])
    assert report.errors[0] is None and np.isfinite(report.scores[0])
    assert np.isnan(report.scores[1]) and np.isnan(report.decode_s[1]) and np.isnan(report.model_s[1])
    assert "broken.mp4" in report.errors[1]
    with pytest.raises(VideoDecodeError, match=r"broken\.mp4"):
        method.predict([good, broken])


def test_fit_leaves_out_undecodable_videos_with_a_warning(floor_clips, tmp_path, caplog):
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    items = floor_clips.items(TRAIN)
    bad = type(items[0])("broken", broken, 3.0)
    method = SharpnessMethod("tiny", device="cpu")
    with caplog.at_level(logging.WARNING, logger="vqa_floors.method"):
        history = method.fit([*items, bad], [], tmp_path / "work", progress=False)
    assert history["num_train"] == len(items)
    assert "broken.mp4" in caplog.text


@pytest.mark.parametrize("name", FLOORS)
def test_unfitted_floor_refuses_to_score(floor_clips, name):
    method = get_method(name)("tiny", device="cpu")
    with pytest.raises(VqaError, match="not fitted"):
        method.score([floor_clips.scenes[TEST][PRISTINE]])
    with pytest.raises(VqaError, match="nothing to save"):
        method.state_dict()
    assert method.cost_parts() == {} and method.caveats() == []
