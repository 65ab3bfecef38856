"""vqa_core.method: registry, calibration, self-describing checkpoints."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import torch
from torch import nn

from vqa_core.config import config_hash
from vqa_core.datasets import ManifestItem, MosScaler
from vqa_core.errors import UnknownMethodError, VqaError
from vqa_core.method import (
    METHODS,
    Method,
    PretrainStage,
    ScoreCalibration,
    ScoreReport,
    as_manifest_items,
    get_method,
    list_methods,
    read_method_checkpoint,
    register_method,
)


@dataclass
class LinearCfg:
    PRESETS: ClassVar[dict[str, LinearCfg]]

    features: int = 3
    note: str = "plain"


LinearCfg.PRESETS = {"tiny": LinearCfg(features=2), "full": LinearCfg(features=5)}


class LinearMethod(Method):
    """Scores a video path by a linear map of a per-path feature vector (enough to test the plumbing)."""

    name = "test-linear"
    config_class = LinearCfg

    def __init__(self, config: Any = None, device: str = "auto") -> None:
        super().__init__(config, device)
        torch.manual_seed(0)
        self.model = nn.Linear(self.config.features, 1)
        self.step_count = 0

    def _features(self, items: Sequence[Any]) -> torch.Tensor:
        rows = [[(len(str(it.path)) * (k + 1)) % 7 / 7.0 for k in range(self.config.features)] for it in items]
        return torch.tensor(rows, dtype=torch.float32)

    def fit(self, train, val, work_dir, *, resume=True, progress=True) -> dict:
        self.calibration = ScoreCalibration.from_mos([it.mos for it in train])
        self.step_count += 1
        return {"best_epoch": 1}

    def score(self, items, *, progress=False) -> ScoreReport:
        items = as_manifest_items(items)
        with torch.no_grad():
            raw = self.model(self._features(items)).squeeze(-1).numpy()
        n = len(items)
        return ScoreReport(self.calibration.to_mos(raw), np.zeros(n), np.zeros(n), [None] * n)

    def state_dict(self) -> dict[str, Any]:
        return {"model": self.model.state_dict(), "step_count": self.step_count, "tags": ["a", "b"]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.step_count = int(state["step_count"])


@pytest.fixture
def registered() -> Iterator[type[LinearMethod]]:
    register_method("test-linear", LinearMethod)
    yield LinearMethod
    METHODS.unregister("test-linear")


def _items(n: int = 6) -> list[ManifestItem]:
    return [ManifestItem(f"v{i}", Path(f"/videos/clip_{'x' * i}.mp4"), float(10 + 7 * i), "train") for i in range(n)]


def test_register_get_list(registered: type[LinearMethod]) -> None:
    assert get_method("test-linear") is LinearMethod
    assert "test-linear" in list_methods()


def test_register_as_decorator_sets_name() -> None:
    @register_method("test-decorated")
    class Decorated(LinearMethod):
        name = ""

    try:
        assert Decorated.name == "test-decorated"
        assert get_method("test-decorated") is Decorated
    finally:
        METHODS.unregister("test-decorated")


def test_unknown_method_suggests_and_lists(registered: type[LinearMethod]) -> None:
    with pytest.raises(UnknownMethodError) as err:
        get_method("test-linaer")
    message = str(err.value)
    assert "did you mean 'test-linear'" in message
    assert "Known methods:" in message and "test-linear" in message


def test_config_resolution_in_init() -> None:
    assert LinearMethod("tiny", device="cpu").config.features == 2
    assert LinearMethod({"features": 4}, device="cpu").config.features == 4
    assert LinearMethod(LinearCfg(note="x"), device="cpu").config.note == "x"
    assert LinearMethod(device="cpu").device == torch.device("cpu")


def test_zscore_calibration_matches_train_statistics() -> None:
    mos = np.array([1.0, 2.0, 4.0, 9.0])
    cal = ScoreCalibration.from_mos(mos)
    # population statistics of the train part, computed by hand: mean 4, var (9+4+0+25)/4 = 9.5
    assert cal.kind == "zscore"
    assert cal.mean == pytest.approx(4.0)
    assert cal.std == pytest.approx(np.sqrt(9.5))
    assert cal.to_mos(cal.normalize(mos)) == pytest.approx(mos)
    assert float(cal.to_mos(1.0)) == pytest.approx(4.0 + np.sqrt(9.5))


def test_calibration_from_minmax_scaler_undoes_the_scaler() -> None:
    scaler = MosScaler.fit([1.0, 3.0, 5.0], mode="minmax")
    cal = ScoreCalibration.from_scaler(scaler)
    assert cal.to_mos(scaler.transform(np.array([2.0, 5.0]))) == pytest.approx([2.0, 5.0])
    assert ScoreCalibration.from_dict(cal.to_dict()) == cal


def test_logistic_calibration_recovers_known_curve() -> None:
    x = np.linspace(-3, 3, 40)
    b = (80.0, 20.0, 0.5, 0.7)
    y = b[1] + (b[0] - b[1]) / (1 + np.exp(-(x - b[2]) / b[3]))  # hand-written logistic, not the library's
    cal = ScoreCalibration.fit_logistic(x, y)
    assert cal.params == pytest.approx(b, rel=1e-4, abs=1e-4)
    assert cal.to_mos(x) == pytest.approx(y, abs=1e-3)


def test_save_load_roundtrip_weights_only(tmp_path: Path, registered: type[LinearMethod]) -> None:
    method = LinearMethod("tiny", device="cpu")
    method.fit(_items(), _items(2), tmp_path)
    with torch.no_grad():
        method.model.weight.add_(0.5)
    path = method.save(tmp_path / "m.pt")

    raw = torch.load(path, weights_only=True)  # no pickled code needed to read it
    assert raw["method"] == "test-linear"
    assert raw["config"] == {"features": 2, "note": "plain"}
    assert isinstance(raw["versions"]["torch"], str)

    loaded = Method.load(path, device="cpu")
    assert type(loaded) is LinearMethod
    assert loaded.config == method.config
    assert loaded.calibration == method.calibration
    assert loaded.step_count == 1
    assert np.array_equal(loaded.predict(_items()), method.predict(_items()))
    # MOS scale of the training data, not the model's raw scale
    assert abs(float(np.mean(method.predict(_items()))) - method.calibration.mean) < 3 * method.calibration.std


def test_save_load_safetensors(tmp_path: Path, registered: type[LinearMethod]) -> None:
    method = LinearMethod("full", device="cpu")
    method.fit(_items(), _items(2), tmp_path)
    path = method.save(tmp_path / "m.safetensors")
    loaded = LinearMethod.load(path, device="cpu")
    assert loaded.config.features == 5
    assert torch.equal(loaded.model.weight, method.model.weight)
    assert read_method_checkpoint(path)["calibration"] == method.calibration.to_dict()


def test_load_rejects_foreign_files_and_wrong_class(tmp_path: Path, registered: type[LinearMethod]) -> None:
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(VqaError, match="not a vqa-zoo method checkpoint"):
        Method.load(tmp_path / "other.pt")
    with pytest.raises(VqaError, match="does not exist"):
        Method.load(tmp_path / "missing.pt")

    class OtherMethod(LinearMethod):
        name = "test-other"

    path = LinearMethod(device="cpu").save(tmp_path / "lin.pt")
    with pytest.raises(VqaError, match="test-linear"):
        OtherMethod.load(path)


def test_pretrain_stage_key_follows_config_hash_and_version(tmp_path: Path) -> None:
    built: list[Path] = []
    stage = PretrainStage("saliency", LinearCfg(features=9), build=built.append)
    assert stage.config_hash == config_hash(LinearCfg(features=9))
    assert stage.version == 1
    assert stage.key == f"saliency-{config_hash({'config': config_hash(LinearCfg(features=9)), 'version': 1})}"
    assert PretrainStage("saliency", LinearCfg(features=8), build=built.append).key != stage.key
    assert PretrainStage("saliency", LinearCfg(features=9), build=built.append, version=2).key != stage.key
    stage.build(tmp_path)
    assert built == [tmp_path]


def test_predict_raises_naming_the_file_score_reports_it(registered: type[LinearMethod]) -> None:
    class HalfBroken(LinearMethod):
        def score(self, items, *, progress=False) -> ScoreReport:
            report = super().score(items)
            report.scores[1] = np.nan
            report.errors[1] = f"{as_manifest_items(items)[1].path}: not a video"
            return report

    method = HalfBroken("tiny", device="cpu")
    report = method.score(_items(3))
    assert report.ok.tolist() == [True, False, True] and np.isnan(report.scores[1])
    with pytest.raises(VqaError, match=r"clip_x\.mp4: not a video"):
        method.predict(_items(3))
    assert len(LinearMethod("tiny", device="cpu").predict(_items(2))) == 2


def test_score_report_checks_its_lengths() -> None:
    report = ScoreReport([1.0, 2.0], [0.1, 0.2], [0.3, 0.4], [None, "b.mp4: broken"], {"saliency_s": [0.0, 0.0]})
    assert report.ok.tolist() == [True, False] and len(report) == 2
    assert report.scores.dtype == np.float64
    with pytest.raises(ValueError, match="one entry per item"):
        ScoreReport([1.0], [0.1, 0.2], [0.3], [None])
    assert len(ScoreReport.empty()) == 0


def test_default_hooks_describe_a_method_without_networks_caveats_or_stages(tmp_path: Path) -> None:
    method = LinearMethod("tiny", device="cpu")
    assert method.cost_parts() == {} and method.caveats() == [] and method.pretrain_stages() == []
    assert method.ensure_pretrained(tmp_path) == []
    with pytest.raises(VqaError, match="no pretraining stage named 'x'"):
        method.use_pretrained("x", tmp_path)


def test_as_manifest_items_accepts_paths() -> None:
    items = as_manifest_items(["/a/b/clip.mp4", Path("c.mkv")])
    assert [it.video_id for it in items] == ["clip", "c"]
    assert all(np.isnan(it.mos) for it in items)
    with pytest.raises(VqaError, match="cannot score"):
        as_manifest_items([3])
