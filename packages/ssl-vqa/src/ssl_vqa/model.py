"""The networks of SSL-VQA and QASA-VQA: one primary and one auxiliary quality model each.

- `PrimaryModel`: st-vqrl's Swin3D fragment trunk + `VQAHead`; the score is the mean of the
  local quality map (FAST-VQA's `BaseEvaluator`).
- `NiqeAuxiliary` (SSL-VQA): a second Swin3D trunk; a video scores exp(-tau d), d the
  Gaussian-fit (NIQE-like) distance between its tokens and pristine reference tokens. During
  training the references are re-encoded with the current trunk every step (no gradient);
  after training their Gaussian is fitted once and kept in buffers for inference.
- `ClipQualityScorer` (QASA-VQA, in `clip_quality`): CLIP's image tower and antonym prompts.
- `DualModel`: both models behind one `forward(batch)`, so vqa-core's Trainer (and DDP) see a
  single module; it returns the two views' scores of the labelled and unlabelled parts.
- `ScoringPass`: `DualModel.score` as a module's forward, i.e. exactly what scoring one video
  runs (FLOP counting calls a module's forward).

No I/O, no device logic: plain modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor, nn

from ssl_vqa.dual_loss import DualScores
from st_vqrl.model import VQAHead, build_backbone
from vqa_core.errors import VqaError
from vqa_core.losses import fit_gaussian, gaussian_distance

__all__ = ["DualModel", "NiqeAuxiliary", "PrimaryModel", "ScoringPass", "build_dual_model", "build_trunk"]


def build_trunk(cfg: Any, pretrained: bool | None = None) -> nn.Module:
    """The st-vqrl trunk described by `cfg.stvqrl` (backbone + clip grid)."""
    bb = cfg.stvqrl.backbone
    grid = int(cfg.stvqrl.clip.grid)
    return build_backbone(
        bb.size,
        bb.pretrained if pretrained is None else pretrained,
        bb.frag_bias,
        frag_gate=bb.frag_gate,
        fragments=(grid, grid),
        drop_path=bb.drop_path,
        weights_path=bb.weights_path,
    )


class PrimaryModel(nn.Module):
    """Swin3D + VQAHead: (B, 3, T, H, W) normalised fragments -> (B,) scores."""

    def __init__(self, backbone: nn.Module, hidden: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = VQAHead(backbone.out_channels, hidden, dropout)

    def forward(self, clips: Tensor) -> Tensor:
        return self.head(self.backbone(clips))


class NiqeAuxiliary(nn.Module):
    """Swin3D scoring by distance to pristine tokens (seed_audit §4.5).

    `tokens(clips)` gives (B, N, C) tokens; `score(tokens, reference)` the exp(-tau d) score
    against a reference Gaussian `(mean, cov)`. The buffers `reference_mean` / `reference_cov`
    hold the Gaussian of all pristine cubes fitted after training (`fit_reference`).
    """

    def __init__(self, backbone: nn.Module, eps: float = 1e-8) -> None:
        super().__init__()
        self.backbone = backbone
        self.eps = float(eps)
        dim = backbone.out_channels
        self.register_buffer("reference_mean", torch.zeros(dim, dtype=torch.float64))
        self.register_buffer("reference_cov", torch.zeros(dim, dim, dtype=torch.float64))
        self.register_buffer("reference_count", torch.zeros((), dtype=torch.long))

    def tokens(self, clips: Tensor) -> Tensor:
        return self.backbone(clips).flatten(2).transpose(1, 2)

    @torch.no_grad()
    def reference_gaussian(self, cubes: Tensor, chunk: int = 4) -> tuple[Tensor, Tensor]:
        """Gaussian of the tokens of all `cubes` (R, 3, T, H, W) together, float64."""
        dim = self.backbone.out_channels
        toks = [self.tokens(cubes[i : i + chunk]).reshape(-1, dim) for i in range(0, len(cubes), chunk)]
        return fit_gaussian(torch.cat(toks).double())

    @torch.no_grad()
    def fit_reference(self, cubes: Tensor) -> None:
        """Store the reference Gaussian for inference (call in eval mode after training)."""
        mean, cov = self.reference_gaussian(cubes)
        self.reference_mean.copy_(mean)
        self.reference_cov.copy_(cov)
        self.reference_count.fill_(len(cubes))

    def distance(self, tokens: Tensor, reference: tuple[Tensor, Tensor] | None = None) -> Tensor:
        """(B, N, C) tokens -> (B,) NIQE-like distance to the reference Gaussian."""
        if reference is None:
            if int(self.reference_count) == 0:
                raise VqaError(
                    "the SSL-VQA auxiliary has no pristine reference Gaussian: train with fit(), or call "
                    "SslMethod.fit_references(pristine_videos) (e.g. after loading the authors' release)"
                )
            reference = (self.reference_mean, self.reference_cov)
        mean_v, cov_v = fit_gaussian(tokens.double())
        mean_r, cov_r = (t.to(tokens.device, torch.float64) for t in reference)
        return gaussian_distance(mean_v, cov_v, mean_r, cov_r, eps=self.eps).to(tokens.dtype)

    def score(self, tokens: Tensor, tau: float, reference: tuple[Tensor, Tensor] | None = None) -> Tensor:
        return torch.exp(-tau * self.distance(tokens, reference))


class DualModel(nn.Module):
    """Primary + auxiliary behind one forward (training) and one `score` (inference).

    Training batches are dicts with `l_v`, `l_w` (labelled views, (B, 3, T, H, W)), optionally
    `u_v`, `u_w` (unlabelled), and for QASA `l_cv`, `l_cw`, `u_cv`, `u_cw` (CLIP frames of the
    two CLIP views, (B, T, 3, S, S)); for SSL `ref_index` picks this epoch's reference cubes
    from `reference_cubes` (not saved, not moved by `.to`: set with `set_reference_cubes`; the step's cubes follow the batch).
    """

    def __init__(self, primary: PrimaryModel, auxiliary: nn.Module | None, kind: str, tau_train: float = 0.01,
                 tau_test: float = 0.1) -> None:
        super().__init__()
        if kind not in ("niqe", "clip"):
            raise ValueError(f"auxiliary kind must be 'niqe' or 'clip', got {kind!r}")
        self.primary = primary
        self.auxiliary = auxiliary
        self.kind = kind
        self.tau_train = float(tau_train)
        self.tau_test = float(tau_test)
        # a plain attribute, not a buffer: DDP would broadcast every reference cube at every step
        self.reference_cubes = torch.zeros(0)

    def set_reference_cubes(self, cubes: Tensor) -> None:
        self.reference_cubes = cubes

    def _two_views(self, net: nn.Module, v: Tensor, w: Tensor) -> tuple[Tensor, Tensor]:
        out = net(torch.cat([v, w]))
        return out[: len(v)], out[len(v) :]

    def forward(self, batch: Mapping[str, Tensor]) -> dict[str, DualScores]:
        reference = None
        if self.kind == "niqe" and self.auxiliary is not None:
            idx = batch["ref_index"]
            idx = idx[0] if idx.ndim > 1 else idx
            if self.reference_cubes.numel() == 0:
                raise RuntimeError("SSL-VQA training needs reference cubes; call set_reference_cubes first")
            cubes = self.reference_cubes[idx.to(self.reference_cubes.device)]
            reference = self.auxiliary.reference_gaussian(cubes.to(batch["l_v"].device))
        out: dict[str, DualScores] = {}
        for part in ("l", "u"):
            if f"{part}_v" not in batch:
                continue
            p_v, p_w = self._two_views(self.primary, batch[f"{part}_v"], batch[f"{part}_w"])
            if self.auxiliary is None:  # the supervised baseline: primary alone
                out[part] = DualScores(p_v, p_w, None, None)
                continue
            if self.kind == "niqe":
                t_v, t_w = self._two_views(self.auxiliary.tokens, batch[f"{part}_v"], batch[f"{part}_w"])
                a_v = self.auxiliary.score(t_v, self.tau_train, reference)
                a_w = self.auxiliary.score(t_w, self.tau_train, reference)
            else:
                a_v = self.auxiliary(batch[f"{part}_cv"])
                a_w = self.auxiliary(batch[f"{part}_cw"])
            out[part] = DualScores(p_v, p_w, a_v, a_w)
        return out

    def score(self, clips: Tensor, frames: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """Inference: `clips` (B, K, 3, T, H, W) test clips -> (primary, auxiliary) raw scores (B,).

        The primary score is the mean over the K clips; the NIQE auxiliary fits one Gaussian to
        the tokens of all K clips (the seeds fed 64 frames at once) and returns -tau_test * d,
        the log of the seeds' exp(-tau_test * d) (same ranking; the exponential underflows to 0
        for distant videos, which erased the auxiliary from the average); the CLIP auxiliary
        scores `frames` (B, T, 3, S, S). Without an auxiliary (the supervised baseline) the
        auxiliary score is NaN.
        """
        b, k = clips.shape[:2]
        flat = clips.reshape(b * k, *clips.shape[2:])
        primary = self.primary(flat).reshape(b, k).mean(dim=1)
        if self.auxiliary is None:
            return primary, torch.full_like(primary, float("nan"))
        if self.kind == "niqe":
            tokens = self.auxiliary.tokens(flat)
            tokens = tokens.reshape(b, k * tokens.shape[1], tokens.shape[2])
            # log of exp(-tau d): the same ranking, but no underflow to 0 for distant videos
            aux = -self.tau_test * self.auxiliary.distance(tokens)
        else:
            if frames is None:
                raise ValueError("the CLIP auxiliary needs the resized frames")
            aux = self.auxiliary(frames)
        return primary, aux


class ScoringPass(nn.Module):
    """`DualModel.score` as a forward: (clips (B, K, 3, T, H, W), frames or None) -> (primary, aux).

    What scoring a video runs at test time, both models included: the primary on the K test
    clips, and the NIQE auxiliary's tokens of the same clips with the Gaussian fit of those
    tokens and the distance to the stored reference Gaussian, or CLIP's image tower on the
    frames (the prompt embeddings are computed once, not per video).
    """

    def __init__(self, dual: DualModel) -> None:
        super().__init__()
        self.dual = dual

    def forward(self, clips: Tensor, frames: Tensor | None = None) -> tuple[Tensor, Tensor]:
        return self.dual.score(clips, frames)


def build_dual_model(cfg: Any, pretrained: bool | None = None) -> DualModel:
    """The dual model of an `SslConfig` (NIQE auxiliary) or `QasaConfig` (CLIP auxiliary)."""
    primary = PrimaryModel(build_trunk(cfg, pretrained), cfg.head_hidden, cfg.head_dropout)
    clip_cfg = getattr(cfg, "clip", None)
    if clip_cfg is None:
        aux: nn.Module = NiqeAuxiliary(build_trunk(cfg, pretrained), eps=cfg.niqe.eps)
        return DualModel(primary, aux, "niqe", cfg.niqe.tau_train, cfg.niqe.tau_test)
    from ssl_vqa.clip_quality import ClipQualityScorer, build_clip_model

    use_pretrained = clip_cfg.pretrained if pretrained is not False else None
    weights = clip_cfg.weights_path if pretrained is not False else None
    clip_model = build_clip_model(clip_cfg.arch, use_pretrained, weights, clip_cfg.custom)
    aux = ClipQualityScorer(clip_model, clip_cfg.pairs, clip_cfg.template, clip_cfg.tau)
    return DualModel(primary, aux, "clip")
