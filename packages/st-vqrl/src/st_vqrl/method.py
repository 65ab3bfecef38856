"""ST-VQRL as a vqa-core Method (`stvqrl`): how good is the frozen representation?

`fit(train, val)`:
1. the backbone: the authors' release (`init_from`), else the ST-VQRL pretraining stage
   (`st_vqrl.stage.stvqrl_stage`, shared with SSL-VQA; built once per key through
   `vqa_core.stages`, by the bench runner or here), else a random / Kinetics-400 init
   (`pretrain.enabled: false`);
2. token features of every video, cached on disk (`features.TokenCache`);
3. (a) a ridge probe on mean-pooled backbone tokens, standardised with train statistics, its
   strength chosen by SRCC on `val` (RidgeCV's leave-one-out on train when there is no val);
   (b) the zero-shot NIQE-like score exp(-tau * d), d the Gaussian-fit distance between a
   video's tokens and those of pristine references (`eval.zero_shot_space`: the projection
   space the objective shaped, or the raw backbone tokens SSL-VQA uses) (the version-0 videos among the
   *training* items, or `eval.reference_dir`), mapped to MOS by a logistic fitted on train
   (monotone, so it keeps the zero-shot ranking).
`score` / `predict` return the score named by `eval.score`; `score_both` returns both.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from st_vqrl.config import StVqrlConfig
from st_vqrl.data import video_files
from st_vqrl.features import TokenScores, token_scores
from st_vqrl.model import FragmentSwin3d, ProjectionHead
from st_vqrl.pretrain import ARTIFACT, build_net, load_pretrained
from st_vqrl.stage import STVQRL_STAGE, stage_config, stvqrl_stage
from vqa_core.cache import cache_dir as named_cache_dir
from vqa_core.config import config_hash
from vqa_core.datasets import ManifestItem
from vqa_core.errors import ConfigError, DatasetError, VideoDecodeError, VqaError
from vqa_core.losses import fit_gaussian, gaussian_distance
from vqa_core.method import Method, PretrainStage, ScoreCalibration, ScoreReport, as_manifest_items
from vqa_core.train import Precision, init_distributed

__all__ = ["PRETRAIN_STAGE", "StVqrlMethod"]

log = logging.getLogger(__name__)

PRETRAIN_STAGE = STVQRL_STAGE
# token set used by the zero-shot distance in each space
_TOKEN_KEY = {"projection": "projected", "backbone": "tokens"}


def _srcc(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if len(a) < 3 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")
    return float(spearmanr(a, b).statistic)


class StVqrlMethod(Method):
    """ST-VQRL (Mitra & Soundararajan, AAAI'24): self-supervised Swin3D quality features,
    evaluated by a ridge probe and by a zero-shot distance to pristine references."""

    name: ClassVar[str] = "stvqrl"
    config_class: ClassVar[type] = StVqrlConfig

    def __init__(
        self, config: Any = None, device: str | torch.device = "auto", cache_dir: str | Path | None = None
    ) -> None:
        super().__init__(config, device)
        self.cache_dir: Path | None = Path(cache_dir) if cache_dir else (
            named_cache_dir("st-vqrl") if self.config.eval.cache_features else None
        )
        self.pretrained_artifact: Path | None = None
        self.backbone: FragmentSwin3d | None = None
        self.projection: ProjectionHead | None = None
        self.probe: dict[str, Any] | None = None
        self.reference: dict[str, torch.Tensor] | None = None
        self.zero_shot_calibration: ScoreCalibration = ScoreCalibration()

    # -- bench hooks --------------------------------------------------------------------------
    def cost_parts(self) -> dict[str, tuple[torch.nn.Module, tuple[Any, ...]]]:
        """The backbone on one video's evaluation clips, (num_clips, 3, clip_len, S, S): the
        per-video work (the projection, probe and distance are negligible)."""
        c = self.config.clip
        backbone = self.backbone
        if backbone is None:  # FLOPs depend on the architecture only
            backbone = build_net(replace(self.config, init_from=None), pretrained=False).backbone
        device = backbone.patch_embed.proj.weight.device
        clips = torch.zeros(self.config.eval.num_clips, 3, c.clip_len, c.size, c.size, device=device)
        return {"model": (backbone, (clips,))}

    def caveats(self) -> list[str]:
        """Without the pretraining stage or a release, the probe reads a trunk ST-VQRL never shaped."""
        cfg = self.config
        if cfg.pretrain.enabled or cfg.init_from:
            return []
        return ["Kinetics trunk, no ST-VQRL"] if cfg.backbone.pretrained else ["frozen random trunk"]

    # -- pretraining stage ----------------------------------------------------------------
    def stage_config(self) -> dict[str, Any]:
        """What the pretraining artifact depends on (evaluation settings excluded)."""
        return stage_config(self.config)

    def pretrain_stages(self) -> list[PretrainStage]:
        """The ST-VQRL self-supervised stage, unless pretraining is off or a release is loaded."""
        if not self.config.pretrain.enabled or self.config.init_from:
            return []
        return [stvqrl_stage(self.config, device=self.device)]

    def use_pretrained(self, name: str, folder: Path) -> None:
        if name != STVQRL_STAGE:
            super().use_pretrained(name, folder)
        self.pretrained_artifact = Path(folder) / ARTIFACT
        self.backbone = self.projection = None

    def _ensure_backbone(self, build: bool) -> None:
        """Load the backbone; with `build`, make the pretraining stage first when nothing gave one
        (a plain `fit`: `ensure_pretrained` builds or reuses it in the cache root)."""
        if self.backbone is not None:
            return
        cfg = self.config
        stages = self.pretrain_stages()
        if stages and self.pretrained_artifact is None:
            if not build:
                raise VqaError(
                    "stvqrl: pretraining is on but no pretrained backbone is available; run fit() first, "
                    "pass the stage folder through use_pretrained(), or set pretrain.enabled=false"
                )
            self.ensure_pretrained()
        if stages:
            backbone, projection = load_pretrained(self.pretrained_artifact)
        else:
            torch.manual_seed(cfg.seed)
            net = build_net(cfg)
            backbone, projection = net.backbone, net.projection
        self.backbone = backbone.to(self.device).eval()
        self.projection = projection.to(self.device).eval()

    # -- features ---------------------------------------------------------------------------
    def _timed_tokens(self, paths: Sequence[Path | ManifestItem], progress: bool, what: str = "scoring") -> TokenScores:
        assert self.backbone is not None and self.projection is not None
        return token_scores(
            self.backbone,
            self.projection,
            paths,
            self.config.clip,
            self.config.eval.num_clips,
            cache_dir=self.cache_dir,
            device=self.device,
            batch_size=self.config.eval.batch_size,
            progress=progress,
            description=f"stvqrl: {what}",
            precision=Precision.for_scoring(self.config.pretrain.trainer, self.device),  # its one TrainConfig
        )

    def _tokens(self, paths: Sequence[Path | ManifestItem], progress: bool, what: str) -> list[dict[str, torch.Tensor]]:
        """Token sets of videos that must all be readable (fit's decodable train/val, references)."""
        result = self._timed_tokens(paths, progress, what)
        failed = [e for e in result.errors if e is not None]
        if failed:
            raise VideoDecodeError(f"stvqrl: {what}: {failed[0]}")
        return [e for e in result.entries if e is not None]

    def _pooled(self, entries: Sequence[Mapping[str, torch.Tensor]]) -> np.ndarray:
        """The probe's input per video (`eval.pool`)."""
        if self.config.eval.pool == "mean":
            return np.stack([e["tokens"].double().mean(0).numpy() for e in entries])
        rows = []
        for e in entries:
            parts = [e[key].double() for key in ("tokens", "projected")]
            pooled = [f(t) for t in parts for f in (lambda t: t.mean(0), lambda t: t.std(0))]
            if self.config.eval.pool == "stages":
                pooled.append(e["stages"].double().mean(0))
            rows.append(torch.cat(pooled).numpy())
        return np.stack(rows)

    def _zero_shot_raw(
        self, entries: Sequence[Mapping[str, torch.Tensor]], space: str | None = None
    ) -> np.ndarray:
        """exp(-tau * d) against the pristine references, in `space` (default: `eval.zero_shot_space`)."""
        space = space or self.config.eval.zero_shot_space
        key = _TOKEN_KEY[space]
        if self.reference is None or f"{space}_mean" not in self.reference:
            return np.full(len(entries), np.nan)
        ev = self.config.eval
        ref_mean, ref_cov = self.reference[f"{space}_mean"], self.reference[f"{space}_cov"]
        out = []
        for e in entries:
            mean, cov = fit_gaussian(e[key].double())
            d = gaussian_distance(mean, cov, ref_mean, ref_cov, eps=ev.eps)
            out.append(float(torch.exp(-ev.tau * d)))
        return np.asarray(out)

    def _reference_paths(self, train: Sequence[ManifestItem]) -> list[Path | ManifestItem]:
        ev = self.config.eval
        if ev.reference_dir:
            paths = video_files(ev.reference_dir)
            if not paths:
                raise DatasetError(f"eval.reference_dir {ev.reference_dir} holds no video files")
            return paths
        return [it for it in train if (it.extra or {}).get("version") == 0]

    # -- probe --------------------------------------------------------------------------------
    def _fit_probe(self, x_train, y_train, x_val, y_val) -> dict[str, Any]:
        from sklearn.linear_model import Ridge, RidgeCV

        mean, std = x_train.mean(0), x_train.std(0)
        std = np.where(std > 1e-12, std, 1.0)
        xt = (x_train - mean) / std
        alphas = list(self.config.eval.alphas)
        val_srcc = {}
        if len(y_val) >= 3:
            xv = (x_val - mean) / std
            for a in alphas:
                val_srcc[a] = _srcc(Ridge(alpha=a).fit(xt, y_train).predict(xv), y_val)
            finite = {a: s for a, s in val_srcc.items() if np.isfinite(s)}
            alpha = max(finite, key=finite.get) if finite else float(np.median(alphas))
        else:
            alpha = float(RidgeCV(alphas=alphas).fit(xt, y_train).alpha_)
        model = Ridge(alpha=alpha).fit(xt, y_train)
        return {
            "coef": torch.as_tensor(model.coef_, dtype=torch.float64),
            "intercept": float(model.intercept_),
            "mean": torch.as_tensor(mean, dtype=torch.float64),
            "std": torch.as_tensor(std, dtype=torch.float64),
            "alpha": float(alpha),
            "val_srcc": {str(a): float(s) for a, s in val_srcc.items()},
        }

    def _probe_predict(self, pooled: np.ndarray) -> np.ndarray:
        assert self.probe is not None
        p = self.probe
        x = (pooled - p["mean"].numpy()) / p["std"].numpy()
        return x @ p["coef"].numpy() + p["intercept"]

    # -- the protocol ---------------------------------------------------------------------------
    def fit(
        self,
        train: Sequence[ManifestItem],
        val: Sequence[ManifestItem],
        work_dir: str | Path,
        *,
        resume: bool = True,
        progress: bool = True,
    ) -> dict[str, Any]:
        init_distributed(self.device)
        train, val = _decodable(train), _decodable(val)
        if len(train) < 3:
            raise DatasetError(f"stvqrl: the probe needs at least 3 training videos, got {len(train)}")
        ref_paths = self._reference_paths(train)
        if not ref_paths and self.config.eval.score == "zero_shot":
            raise ConfigError(
                "stvqrl: eval.score is zero_shot but there are no pristine references: the training items "
                "have no version-0 videos; set eval.reference_dir to a folder of pristine videos"
            )
        self._ensure_backbone(build=True)
        entries = self._tokens([*train, *val], progress, "train/val tokens")
        tr, va = entries[: len(train)], entries[len(train) :]
        y_train = np.array([it.mos for it in train])
        y_val = np.array([it.mos for it in val])
        self.probe = self._fit_probe(self._pooled(tr), y_train, self._pooled(va) if va else None, y_val)

        self.reference = None
        if ref_paths:
            ref = self._tokens(ref_paths, progress, "reference tokens")
            self.reference = {}
            for space, key in _TOKEN_KEY.items():
                mean, cov = fit_gaussian(torch.cat([e[key] for e in ref]).double())
                self.reference[f"{space}_mean"], self.reference[f"{space}_cov"] = mean, cov
        zs_train = self._zero_shot_raw(tr)
        # strictly increasing: the zero-shot ranking stays the model's own
        self.zero_shot_calibration = ScoreCalibration.fit_increasing(zs_train, y_train, fallback="moments")
        self.calibration = self.zero_shot_calibration if self.config.eval.score == "zero_shot" else ScoreCalibration()

        history: dict[str, Any] = {
            "alpha": self.probe["alpha"],
            "probe_val_srcc_by_alpha": self.probe["val_srcc"],
            "num_references": len(ref_paths),
            "config_hash": config_hash(self.config),
            "pretrained_artifact": str(self.pretrained_artifact) if self.pretrained_artifact else None,
        }
        if va:
            history["val_srcc_probe"] = _srcc(self._probe_predict(self._pooled(va)), y_val)
            history["val_srcc_zero_shot"] = _srcc(self._zero_shot_raw(va), y_val)
        return history

    def _check_ready(self) -> None:
        if self.probe is None or self.backbone is None:
            raise VqaError("stvqrl: the method is not fitted; call fit() or load a checkpoint first")

    _SCORE_KEYS = ("probe", "zero_shot", "zero_shot_mos", *(f"zero_shot_{s}" for s in _TOKEN_KEY))

    @torch.no_grad()
    def _score_parts(self, items: Sequence[ManifestItem], progress: bool) -> tuple[dict[str, np.ndarray], TokenScores]:
        """Every score of `score_both` (NaN for videos that could not be read) and the token timings."""
        self._check_ready()
        timed = self._timed_tokens(list(items), progress)
        ok = [i for i, e in enumerate(timed.entries) if e is not None]
        entries = [timed.entries[i] for i in ok]
        parts = {k: np.full(len(items), np.nan) for k in self._SCORE_KEYS}
        if entries:
            zs = self._zero_shot_raw(entries)
            parts["probe"][ok] = self._probe_predict(self._pooled(entries))
            parts["zero_shot"][ok] = zs
            parts["zero_shot_mos"][ok] = np.asarray(self.zero_shot_calibration.to_mos(zs), dtype=np.float64)
            for space in _TOKEN_KEY:
                parts[f"zero_shot_{space}"][ok] = self._zero_shot_raw(entries, space)
        return parts, timed

    def score_both(
        self, items: Sequence[ManifestItem] | Sequence[str | Path], progress: bool = False
    ) -> dict[str, np.ndarray]:
        """{"probe": MOS-scale probe scores, "zero_shot": raw exp(-tau d) in `eval.zero_shot_space`,
        "zero_shot_mos": calibrated, "zero_shot_projection" / "zero_shot_backbone": raw, per space};
        NaN for a video that could not be read."""
        self._check_ready()
        items = as_manifest_items(items)
        if not items:
            return {k: np.zeros((0,), dtype=np.float64) for k in self._SCORE_KEYS}
        return self._score_parts(items, progress)[0]

    def score(self, items: Sequence[ManifestItem] | Sequence[str | Path], *, progress: bool = False) -> ScoreReport:
        """Scores on the training MOS scale (`eval.score`: probe or calibrated zero-shot), with the
        token extraction's decode and network seconds per video."""
        self._check_ready()
        items = as_manifest_items(items)
        if not items:
            return ScoreReport.empty()
        parts, timed = self._score_parts(items, progress)
        scores = parts["probe"] if self.config.eval.score == "probe" else parts["zero_shot_mos"]
        return ScoreReport(scores, timed.decode_s, timed.model_s, timed.errors)

    def init_for_scoring(self, seed: int = 0) -> None:
        """Random-init backbone and projection (no pretraining stage, no release), an untrained
        random probe (standard-normal weights / sqrt(width), zero centre, unit scale), no zero-shot
        references: the scoring work (the backbone on every evaluation clip), meaningless scores."""
        torch.manual_seed(seed)
        net = build_net(replace(self.config, init_from=None), pretrained=False)
        self.backbone = net.backbone.to(self.device).eval()
        self.projection = net.projection.to(self.device).eval()
        width = self._probe_width()
        coef = torch.randn(width, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) / width**0.5
        zeros = torch.zeros(width, dtype=torch.float64)
        self.probe = {"coef": coef, "intercept": 0.0, "mean": zeros, "std": zeros + 1, "alpha": 0.0, "val_srcc": {}}
        self.reference = None
        self.calibration = self.zero_shot_calibration = ScoreCalibration()

    def _probe_width(self) -> int:
        """Length of `_pooled`'s row for `eval.pool`: C tokens, D projected, F per-stage statistics."""
        assert self.backbone is not None and self.projection is not None
        c, d = self.backbone.out_channels, int(self.projection.proj.out_channels)
        if self.config.eval.pool == "mean":
            return c
        stats = sum(2 * int(blocks[-1].norm1.normalized_shape[0]) for blocks in self.backbone.features[::2])
        return 2 * c + 2 * d + (stats if self.config.eval.pool == "stages" else 0)

    def state_dict(self) -> dict[str, Any]:
        self._check_ready()
        assert self.backbone is not None and self.projection is not None and self.probe is not None
        state: dict[str, Any] = {
            "backbone": {k: v.detach().cpu() for k, v in self.backbone.state_dict().items()},
            "projection": {k: v.detach().cpu() for k, v in self.projection.state_dict().items()},
            "probe": {k: v for k, v in self.probe.items() if k != "val_srcc"},
            "zero_shot_calibration": self.zero_shot_calibration.to_dict(),
        }
        if self.reference is not None:
            state["reference"] = dict(self.reference)
        return state

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        net = build_net(replace(self.config, init_from=None), pretrained=False)
        net.backbone.load_state_dict(state["backbone"])
        net.projection.load_state_dict(state["projection"])
        self.backbone = net.backbone.to(self.device).eval()
        self.projection = net.projection.to(self.device).eval()
        probe = dict(state["probe"])
        probe["alpha"] = float(probe["alpha"])
        probe["intercept"] = float(probe["intercept"])
        probe.setdefault("val_srcc", {})
        self.probe = probe
        ref = state.get("reference")
        self.reference = {k: v.double() for k, v in ref.items()} if ref else None
        self.zero_shot_calibration = ScoreCalibration.from_dict(dict(state.get("zero_shot_calibration") or {}))


def _decodable(items: Sequence[ManifestItem]) -> list[ManifestItem]:
    """Items whose video opens and reports frames; the others are left out with a warning naming them."""
    from vqa_core.datasets.manifest import raw_format_of
    from vqa_core.errors import VideoDecodeError
    from vqa_core.video import probe

    kept, failed = [], []
    for item in items:
        try:
            if int(probe(item.path, raw=raw_format_of(item)).num_frames) < 1:
                raise VideoDecodeError(f"{item.path}: the video reports no frames")
            kept.append(item)
        except (VideoDecodeError, OSError) as err:
            failed.append(f"{item.path}: {err}")
    if failed:
        log.warning("stvqrl: %d video(s) cannot be read and are left out:\n  %s", len(failed), "\n  ".join(failed))
    return kept
