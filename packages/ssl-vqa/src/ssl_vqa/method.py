"""SSL-VQA and QASA-VQA as vqa-core Methods: fit / predict / save / load.

`fit(train, val, work_dir)`:
1. the training split is partitioned into labelled and unlabelled videos (`semi.labelled`,
   seeded); only the labelled part's MOS is used (targets, calibration);
2. both trunks start from ST-VQRL: the `stvqrl` pretraining stage (st-vqrl's own stage
   definition, so `stvqrl` and `ssl` with the same ST-VQRL settings share one artifact; built by
   the bench runner or here through `vqa_core.stages`, then reused), or the authors' released ST-VQRL file
   (`stvqrl.init_from`); `init_from` then loads a released SSL-VQA / QASA-VQA model on top;
3. SSL-VQA only: pristine reference cubes are cut from `niqe.reference_dir` or from the
   pristine (version 0) training videos;
4. vqa-core's Trainer trains the dual model on `PairedDataset` (labelled + unlabelled per item)
   with `dual_model_loss`, selecting on the validation SRCC of the primary model;
5. the reference Gaussian is fitted (SSL-VQA), the two models' score statistics on the labelled
   videos fix the combination (`combine`), and a linear fit (increasing) maps the combined score to MOS.

`semi.labelled` is a count or a fraction of the training split (with `bench`: `--set ssl:semi.labelled=0.25`).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from ssl_vqa.config import QasaConfig, SslConfig
from ssl_vqa.data import PairedDataset, TestDataset, collate_test
from ssl_vqa.model import DualModel, ScoringPass
from ssl_vqa.partition import Partition, budget_split, draw_validation, partition_items, restrict_to_subset
from ssl_vqa.released import load_released_dual
from ssl_vqa.task import DualTask, clip_input_size, initial_dual_model, new_dual_model
from st_vqrl.stage import STVQRL_STAGE, stvqrl_stage
from vqa_core.config import config_hash
from vqa_core.datasets import ManifestItem, read_manifest_csv
from vqa_core.errors import DatasetError, VideoDecodeError, VqaError
from vqa_core.method import Method, PretrainStage, ScoreCalibration, ScoreReport, as_manifest_items
from vqa_core.train import DatasetScores, Precision, Trainer, barrier, init_distributed, score_dataset

__all__ = ["QasaMethod", "SslMethod", "calibrate", "clip_input_size"]

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".yuv", ".m4v", ".mpg", ".ts", ".flv")


class SslMethod(Method):
    """SSL-VQA: Swin3D + VQAHead primary, NIQE-like Swin3D auxiliary, dual-model SSL."""

    name: ClassVar[str] = "ssl"
    config_class: ClassVar[type] = SslConfig

    def __init__(self, config: Any = None, device: str | torch.device = "auto") -> None:
        super().__init__(config, device)
        self.model: DualModel | None = None
        self.stvqrl_artifact: Path | None = None
        self.combine_stats: dict[str, float] = {"mean_p": 0.0, "std_p": 1.0, "mean_a": 0.0, "std_a": 1.0}
        self.partition: Partition | None = None
        self._reference_cubes: torch.Tensor | None = None

    # -- building blocks --------------------------------------------------------------------
    @property
    def _supervised_only(self) -> bool:
        return self.config.semi.unlabelled_per_labelled == 0 and self.config.combine.mode == "primary"

    def _new_model(self, pretrained: bool | None = None) -> DualModel:
        return new_dual_model(self.config, self._supervised_only, pretrained)

    def _initial_model(self) -> DualModel:
        """Fresh dual model with the ST-VQRL (and released) initialisation, references attached."""
        return initial_dual_model(
            self.config, self._supervised_only, self.stvqrl_artifact, self._reference_cubes, self.name
        )

    # -- the ST-VQRL stage (defined by st-vqrl, shared with the `stvqrl` method) ------------
    def pretrain_stages(self) -> list[PretrainStage]:
        cfg = self.config
        if cfg.init != "stvqrl" or cfg.stvqrl.init_from:
            return []
        return [stvqrl_stage(cfg.stvqrl, device=self.device)]

    def use_pretrained(self, name: str, folder: Path) -> None:
        if name != STVQRL_STAGE:
            super().use_pretrained(name, folder)
        from st_vqrl.pretrain import ARTIFACT

        path = Path(folder) / ARTIFACT
        if not path.is_file():
            raise VqaError(f"{self.name}: the ST-VQRL stage folder {folder} has no {ARTIFACT}")
        self.stvqrl_artifact = path

    # -- bench hooks ----------------------------------------------------------------------------
    def caveats(self) -> list[str]:
        """Trunks that never saw ST-VQRL (or a release), and a CLIP without its weights, are not the papers'."""
        cfg = self.config
        out = []
        if cfg.init == "random" and not cfg.init_from:
            out.append("no ST-VQRL init")
        clip = getattr(cfg, "clip", None)
        no_clip_weights = clip is not None and clip.pretrained is None and not clip.weights_path
        if no_clip_weights and not cfg.init_from and not self._supervised_only:  # labelled-only: no CLIP built
            out.append("CLIP random")
        if cfg.combine.mode == "primary" and not self._supervised_only:
            out.append("primary score")  # both models train; the papers' final score combines them
        return out

    # -- references (SSL-VQA) ---------------------------------------------------------------
    def reference_items(self, train: Sequence[ManifestItem]) -> list[ManifestItem]:
        """Pristine videos: `niqe.reference_dir` (a folder of videos, or a manifest CSV whose
        `raw_width`/`raw_height`/`raw_pix_fmt`/`raw_fps` columns give headerless .yuv files their
        geometry, as the seeds' LIVE-VQA / CSIQ / EPFL references are), else the version-0 videos
        among `train`."""
        folder = self.config.niqe.reference_dir
        if folder:
            root = Path(folder).expanduser()
            if root.is_file() and root.suffix.lower() == ".csv":
                items = read_manifest_csv(root)
                if not items:
                    raise DatasetError(f"niqe.reference_dir manifest {root} lists no videos")
                return items
            if not root.is_dir():
                raise DatasetError(
                    f"niqe.reference_dir {root} is neither a folder of pristine videos nor a manifest CSV"
                )
            files = sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES)
            if not files:
                raise DatasetError(f"niqe.reference_dir {root} holds no video files ({', '.join(VIDEO_SUFFIXES)})")
            raw = [p for p in files if p.suffix.lower() == ".yuv"]
            if raw:
                raise DatasetError(
                    f"niqe.reference_dir {root} holds headerless .yuv files ({raw[0].name}, ...) whose size and "
                    "pixel format a folder cannot say; give a manifest CSV instead (columns video_id, path, mos "
                    "(empty), raw_width, raw_height, raw_pix_fmt, raw_fps)"
                )
            return as_manifest_items(files)
        pristine = [it for it in train if str(it.extra.get("version", "")).strip() in ("0", "0.0")]
        if not pristine:
            raise DatasetError(
                f"{self.name}: no pristine reference videos: the training items have no version-0 (pristine) "
                "videos; set niqe.reference_dir to a folder of pristine videos (the seeds used LIVE-VQA, "
                "LIVE Mobile, CSIQ, EPFL-PoliMi, ECVQ and EVVQ references)"
            )
        return sorted(pristine, key=lambda it: it.video_id)

    def reference_cubes(self, items: Sequence[ManifestItem]) -> torch.Tensor:
        """(R x clips_per_reference, 3, T, H, W) centred test-mode fragment clips of `items`."""
        ds = TestDataset(items, self.config, None, num_clips=self.config.niqe.clips_per_reference, geometry="train")
        cubes = []
        for i in range(len(ds)):
            sample = collate_test([ds[i]])
            cubes.append(sample["clips"][0])
        return torch.cat(cubes)

    # -- the protocol -------------------------------------------------------------------------
    def fit(
        self,
        train: Sequence[ManifestItem],
        val: Sequence[ManifestItem],
        work_dir: str | Path,
        *,
        resume: bool = True,
        progress: bool = True,
    ) -> dict[str, Any]:
        cfg = self.config
        work_dir = Path(work_dir)
        init_distributed(self.device)
        semi = cfg.semi
        if semi.subset is not None:
            train = restrict_to_subset(train, semi.subset)
        train_labels, val_count = budget_split(semi.labelled, semi.val_labelled, len(train), len(val))
        if val_count is not None:  # validation labels count inside the budget
            val = draw_validation(val, val_count, semi.partition_seed)
        part = partition_items(train, train_labels, semi.partition_seed, semi.pick)
        self.partition = part
        log.info("%s: %s; %d validation labels", self.name, part.summary(), len(val))
        labelled_mos = [it.mos for it in part.labelled]
        if not all(math.isfinite(m) for m in labelled_mos):
            bad = [it.video_id for it in part.labelled if not math.isfinite(it.mos)][:5]
            raise DatasetError(f"{self.name}: labelled training videos without a MOS: {', '.join(bad)}")
        target_cal = ScoreCalibration.from_mos(labelled_mos)
        targets = [float(target_cal.normalize(m)) for m in labelled_mos]

        if cfg.init == "stvqrl" and self.stvqrl_artifact is None:
            self.ensure_pretrained()
        kind_niqe = not isinstance(cfg, QasaConfig)
        num_refs = total_refs = 0
        if kind_niqe and not self._supervised_only:
            self._reference_cubes = self.reference_cubes(self.reference_items(train))
            total_refs = len(self._reference_cubes)
            num_refs = min(cfg.niqe.references_per_epoch, total_refs)
        unlabelled = part.unlabelled if cfg.semi.unlabelled_per_labelled else []
        clip_size = clip_input_size(cfg)
        train_ds = PairedDataset(
            part.labelled, unlabelled, targets, cfg, clip_size, seed=cfg.trainer.seed,
            per_labelled=cfg.semi.unlabelled_per_labelled, num_references=num_refs, reference_total=total_refs,
        )
        val_ds = TestDataset(val, cfg, None) if val else None
        trainer_cfg = cfg.trainer.for_run(self.device, progress)
        build = partial(
            initial_dual_model, cfg, self._supervised_only, self.stvqrl_artifact, self._reference_cubes, self.name
        )
        trainer = Trainer(DualTask(build, cfg.optim, cfg.semi), trainer_cfg, work_dir / "train", resume=resume)
        result = trainer.fit(train_ds, val_ds)
        model = trainer.model
        assert isinstance(model, DualModel)
        self.model = model.eval()
        if model.kind == "niqe" and model.auxiliary is not None:
            model.auxiliary.fit_reference(self._reference_cubes.to(self.device))  # type: ignore[union-attr]
            model.set_reference_cubes(torch.zeros(0))
        self._calibrate(part.labelled, progress)
        barrier()
        return {
            **result.summary(),
            "labelled": len(part.labelled),
            "unlabelled": len(part.unlabelled),
            "validation_labelled": len(val),
            "config_hash": config_hash(cfg),
        }

    def _scored(self, items: Sequence[ManifestItem], progress: bool = False) -> DatasetScores:
        """Per item (primary, auxiliary) raw scores with timings; a video that cannot be decoded
        gets None and its reason."""
        if self.model is None:
            raise VqaError(f"{self.name}: the method is not trained; call fit() or load a checkpoint first")
        model = self.model.to(self.device).eval()
        return score_dataset(
            TestDataset(items, self.config, clip_input_size(self.config)),
            lambda batch: model.score(batch["clips"], batch.get("frames")),
            batch_size=self.config.trainer.val_batch_size or self.config.trainer.batch_size,
            num_workers=self.config.trainer.num_workers,
            collate_fn=collate_test,
            device=self.device,
            names=[str(it.path) for it in items],
            progress=progress,
            description=f"{self.name}: scoring",
            precision=Precision.for_scoring(self.config.trainer, self.device),  # trainer.precision=bf16: bf16
        )

    def _raw_scores(self, items: Sequence[ManifestItem], progress: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(primary, auxiliary) raw scores of `items` (auxiliary NaN when there is none)."""
        result = self._scored(items, progress)
        failed = [e for e in result.errors if e is not None]
        if failed:
            raise VideoDecodeError(f"{self.name}: cannot score {failed[0]}")
        return _columns(result.outputs)

    # -- cost -------------------------------------------------------------------------------
    def cost_parts(self) -> dict[str, tuple[nn.Module, tuple[Any, ...]]]:
        """One video's scoring pass: primary and auxiliary (`ScoringPass`; the primary alone for
        the supervised baseline) on the `sampling.test_clips` fragment clips (1, K, 3, test clip_len,
        S, S) and, for QASA-VQA, the K x test clip_len decoded frames (1, K x clip_len, 3, C, C) at
        CLIP's input size (None for SSL-VQA). The NIQE distance's Cholesky solve on the C x C
        pooled covariance is not a counted operation (torch counts matrix products and
        convolutions), a few hundred MFLOPs at C = 768 against the trunks' tens of GFLOPs."""
        if self.model is None:
            raise VqaError(f"{self.name}: no model to count; call fit() or load a checkpoint first")
        cfg = self.config
        s, size = cfg.sampling, cfg.stvqrl.clip.size
        device = next(self.model.parameters()).device
        clips = torch.randn(1, s.test_clips, 3, s.eval_clip_len, size, size, device=device)
        clip_size = clip_input_size(cfg)
        frames = None
        if clip_size is not None:
            frames = torch.rand(1, s.test_clips * s.eval_clip_len, 3, clip_size, clip_size, device=device)
        return {"model": (ScoringPass(self.model), (clips, frames))}

    def combine(self, primary: np.ndarray, aux: np.ndarray) -> np.ndarray:
        """The configured combination of raw scores (see `CombineConfig`)."""
        mode = self.config.combine.mode
        s = self.combine_stats
        if mode == "primary" or (self.model is not None and self.model.auxiliary is None):
            return primary
        if mode == "auxiliary":
            return aux
        if mode == "product":
            return 1.0 / (1.0 + np.exp(-self.config.combine.primary_scale * primary)) * aux
        zp = (primary - s["mean_p"]) / s["std_p"]
        za = (aux - s["mean_a"]) / s["std_a"]
        return (zp + za) / 2

    def _calibrate(self, labelled: Sequence[ManifestItem], progress: bool) -> None:
        primary, aux = self._raw_scores(labelled, progress)
        mos = np.array([it.mos for it in labelled], dtype=np.float64)

        def stats(x: np.ndarray) -> tuple[float, float]:
            sd = float(np.std(x)) if np.all(np.isfinite(x)) else 1.0
            return (float(np.mean(x)) if np.all(np.isfinite(x)) else 0.0), (sd if sd > 1e-12 else 1.0)

        (mp, sp), (ma, sa) = stats(primary), stats(aux)
        self.combine_stats = {"mean_p": mp, "std_p": sp, "mean_a": ma, "std_a": sa}
        self.calibration = calibrate(self.combine(primary, aux), mos)

    def score(self, items: Sequence[ManifestItem] | Sequence[str | Path], *, progress: bool = False) -> ScoreReport:
        """MOS-scale scores (the labelled training videos' scale) with per-item timings."""
        items = as_manifest_items(items)
        if self.model is None:
            raise VqaError(f"{self.name}: the method is not trained; call fit() or load a checkpoint first")
        if not items:
            return ScoreReport.empty()
        result = self._scored(items, progress)
        ok = [i for i, e in enumerate(result.errors) if e is None]
        scores = np.full(len(items), np.nan)
        if ok:
            primary, aux = _columns([result.outputs[i] for i in ok])
            scores[ok] = self.calibration.to_mos(self.combine(primary, aux))
        return ScoreReport(scores, result.decode_s, result.model_s, result.errors)

    def predict_parts(self, items: Sequence[ManifestItem] | Sequence[str | Path]) -> dict[str, np.ndarray]:
        """Raw primary and auxiliary scores and the combined raw score (for analysis)."""
        primary, aux = self._raw_scores(as_manifest_items(items))
        return {"primary": primary, "auxiliary": aux, "combined": self.combine(primary, aux)}

    def fit_references(self, items: Sequence[ManifestItem] | Sequence[str | Path]) -> None:
        """Fit the SSL-VQA reference Gaussian from pristine videos (e.g. after loading a release)."""
        if self.model is None or self.model.kind != "niqe" or self.model.auxiliary is None:
            raise VqaError(f"{self.name}: only an SSL-VQA model with its NIQE auxiliary has references")
        cubes = self.reference_cubes(as_manifest_items(items)).to(self.device)
        self.model.to(self.device).eval().auxiliary.fit_reference(cubes)

    @classmethod
    def from_release(cls, path: str | Path, config: Any = "full", device: str | torch.device = "auto") -> SslMethod:
        """A method holding the authors' released weights (no training; identity calibration).

        Set `stvqrl.backbone.frag_gate: fastvqa` in `config` to compute what the authors computed.
        SSL-VQA also needs `fit_references(pristine_videos)` before `predict`.
        """
        method = cls(config, device)
        method.config = replace(method.config, init="random", init_from=None)
        model = method._new_model(pretrained=False)
        method.model = load_released_dual(path, model).to(method.device).eval()
        return method

    def init_for_scoring(self, seed: int = 0) -> None:
        """Random-init primary and auxiliary (no ST-VQRL stage, no release, CLIP random), default
        combination statistics and identity calibration: the scoring work, meaningless scores.
        SSL-VQA's NIQE auxiliary gets a unit Gaussian (zero mean, identity covariance) as a
        stand-in pristine reference; its distance costs the same as against fitted references."""
        torch.manual_seed(seed)
        model = self._new_model(pretrained=False)
        aux = model.auxiliary
        if model.kind == "niqe" and aux is not None:
            aux.reference_mean.zero_()
            aux.reference_cov.copy_(torch.eye(len(aux.reference_cov), dtype=aux.reference_cov.dtype))
            aux.reference_count.fill_(1)
        self.model = model.to(self.device).eval()
        self.calibration = ScoreCalibration()

    def state_dict(self) -> dict[str, Any]:
        if self.model is None:
            raise VqaError(f"{self.name}: nothing to save; call fit() first")
        return {
            "model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
            "combine_stats": dict(self.combine_stats),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        model = self._new_model(pretrained=False)
        model.load_state_dict(state["model"], strict=True)
        self.model = model.to(self.device).eval()
        self.combine_stats = {k: float(v) for k, v in state.get("combine_stats", {}).items()} or self.combine_stats


class QasaMethod(SslMethod):
    """QASA-VQA: Swin3D + VQAHead primary, CLIP image-tower auxiliary, dual-model SSL."""

    name: ClassVar[str] = "qasa"
    config_class: ClassVar[type] = QasaConfig


def _columns(outputs: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """(primary, auxiliary) float64 arrays from per-item `(primary, auxiliary)` rows."""
    primary = np.array([float(p) for p, _ in outputs], dtype=np.float64)
    aux = np.array([float(a) for _, a in outputs], dtype=np.float64)
    return primary, aux


def calibrate(raw: np.ndarray, mos: np.ndarray) -> ScoreCalibration:
    """Linear least-squares map raw -> MOS on the labelled videos (increasing, so ranks are kept).

    Not a logistic: a 4-parameter logistic fitted on the few labelled videos saturates outside
    their raw range and maps every test video beyond it to the same MOS (measured on the demo:
    13 test videos, one predicted value), which destroys the ranking. The metrics apply their
    own logistic fit before PLCC/RMSE.
    """
    cal = ScoreCalibration.fit_increasing(raw, mos)
    if cal.kind == "identity":
        log.warning(
            "score calibration: the combined score does not increase with MOS on the labelled videos; "
            "predictions are raw scores"
        )
    return cal
