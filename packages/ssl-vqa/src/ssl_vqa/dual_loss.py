"""The dual-model semi-supervised loss shared by SSL-VQA and QASA-VQA (seed_audit §4.5, §5.3).

Two models (primary p, auxiliary a) each score two views of every video (v: first-half
fragment offsets, w: second-half offsets). With `plcc = vqa_core.losses.plcc_loss`:

- labelled batch: L_p = plcc(p_v, y) + w_cons plcc(p_v, p_w), and the same for a;
- unlabelled batch: both models get their consistency term w_cons plcc(x_v, x_w). The
  consistency error e_x = plcc(x_v, x_w) measures how unsure a model is; the less consistent
  model learns from the other's stop-gradient prediction, w_stab plcc(x_v, sg(y_v)).
  `transfer="batch"` decides once per batch (the seeds); `"sample"` decides per video: with
  z-scored predictions, sample i is unsure for model x when |z(x_v)_i - z(x_w)_i| is larger,
  and the student is pulled towards the teacher on those samples by (z(x_v)_i - z(sg(t_v))_i)^2 / 4
  (the per-sample part of FAST-VQA's PLCC loss).

The two models share no parameters, so the sum L_p + L_a back-propagates exactly as the seeds'
two separate losses and optimisers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch

from vqa_core.losses import plcc_loss

__all__ = ["DualScores", "dual_model_loss", "zscore"]


@dataclass
class DualScores:
    """Scores of one batch: primary and auxiliary on both views, shape (B,) each (aux None: no auxiliary)."""

    primary_v: torch.Tensor
    primary_w: torch.Tensor
    aux_v: torch.Tensor | None
    aux_w: torch.Tensor | None


def zscore(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Population z-score of a batch of scores (NaN-safe for constant batches)."""
    var, mean = torch.var_mean(x.reshape(-1), unbiased=False)
    return (x.reshape(-1) - mean) / (var.clamp_min(1e-24).sqrt() + eps)


def _transfer_per_sample(
    student_v: torch.Tensor, student_w: torch.Tensor, teacher_v: torch.Tensor, teacher_w: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sample transfer loss of the student on the samples where it is the less consistent."""
    with torch.no_grad():
        e_student = (zscore(student_v) - zscore(student_w)).abs()
        e_teacher = (zscore(teacher_v) - zscore(teacher_w)).abs()
        mask = (e_student > e_teacher).to(student_v.dtype)
    per = (zscore(student_v) - zscore(teacher_v.detach())).square() / 4
    return (per * mask).sum() / student_v.numel(), mask


def dual_model_loss(
    labelled: DualScores,
    target: torch.Tensor,
    unlabelled: DualScores | None = None,
    *,
    w_cons: float = 1.0,
    w_stab: float = 1.0,
    transfer: str = "batch",
) -> tuple[torch.Tensor, Mapping[str, float]]:
    """Total loss L_p + L_a of one step and the scalars to log (see the module docstring)."""
    y = target.reshape(-1)
    l_p = plcc_loss(labelled.primary_v, y) + w_cons * plcc_loss(labelled.primary_v, labelled.primary_w)
    l_a = plcc_loss(labelled.aux_v, y) + w_cons * plcc_loss(labelled.aux_v, labelled.aux_w)
    logs: dict[str, float] = {"sup_primary": float(l_p.detach()), "sup_aux": float(l_a.detach())}
    if unlabelled is not None and unlabelled.primary_v.numel() >= 2:
        u = unlabelled
        e_p = plcc_loss(u.primary_v, u.primary_w)
        e_a = plcc_loss(u.aux_v, u.aux_w)
        l_p = l_p + w_cons * e_p
        l_a = l_a + w_cons * e_a
        if transfer == "batch":
            if bool(e_p.detach() > e_a.detach()):
                l_p = l_p + w_stab * plcc_loss(u.primary_v, u.aux_v.detach())
                primary_student = 1.0
            else:
                l_a = l_a + w_stab * plcc_loss(u.primary_v.detach(), u.aux_v)
                primary_student = 0.0
        elif transfer == "sample":
            kd_p, mask_p = _transfer_per_sample(u.primary_v, u.primary_w, u.aux_v, u.aux_w)
            kd_a, _ = _transfer_per_sample(u.aux_v, u.aux_w, u.primary_v, u.primary_w)
            l_p = l_p + w_stab * kd_p
            l_a = l_a + w_stab * kd_a
            primary_student = float(mask_p.mean())
        else:
            raise ValueError(f"transfer must be 'batch' or 'sample', got {transfer!r}")
        logs.update(
            cons_primary=float(e_p.detach()), cons_aux=float(e_a.detach()), primary_student=primary_student
        )
    return l_p + l_a, logs
