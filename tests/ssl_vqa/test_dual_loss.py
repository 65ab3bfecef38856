"""The dual-model loss against hand-computed PLCC terms, and who learns from whom."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ssl_vqa.dual_loss import DualScores, dual_model_loss


def _plcc_ref(a: np.ndarray, b: np.ndarray) -> float:
    """FAST-VQA's PLCC loss in closed form: (1 - rho)(3 + rho) / 8 (rho = Pearson)."""
    rho = np.corrcoef(a, b)[0, 1]
    return (1 - rho) * (3 + rho) / 8


def _scores(rng, n=6, grad=True) -> DualScores:
    return DualScores(*(torch.tensor(rng.normal(size=n), requires_grad=grad) for _ in range(4)))


def test_labelled_loss_matches_closed_form():
    rng = np.random.default_rng(0)
    s = _scores(rng)
    y = torch.tensor(rng.normal(size=6))
    loss, _ = dual_model_loss(s, y, None, w_cons=0.5)
    n = lambda t: t.detach().numpy()  # noqa: E731
    expected = (_plcc_ref(n(s.primary_v), n(y)) + 0.5 * _plcc_ref(n(s.primary_v), n(s.primary_w))
                + _plcc_ref(n(s.aux_v), n(y)) + 0.5 * _plcc_ref(n(s.aux_v), n(s.aux_w)))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def _unlabelled(primary_consistent: bool) -> DualScores:
    base = torch.linspace(0, 1, 8, dtype=torch.float64)
    noisy = torch.tensor([0.9, 0.1, 0.5, 0.2, 0.8, 0.3, 0.0, 0.6], dtype=torch.float64)
    other = base.flip(0)
    p_w, a_w = (base, noisy) if primary_consistent else (noisy, other)  # (x, x) is consistent, (x, noise) not
    return DualScores(base.clone().requires_grad_(), p_w.clone(), other.clone().requires_grad_(), a_w.clone())


@pytest.mark.parametrize("primary_consistent", [True, False])
def test_batch_transfer_teaches_the_less_consistent_model(primary_consistent):
    rng = np.random.default_rng(1)
    lab = _scores(rng, grad=False)
    y = torch.tensor(rng.normal(size=6))
    u = _unlabelled(primary_consistent)
    _, logs = dual_model_loss(lab, y, u, transfer="batch")
    assert logs["primary_student"] == (0.0 if primary_consistent else 1.0)
    # the teacher's prediction is a stop-gradient target: its gradient comes from its consistency term only
    loss, _ = dual_model_loss(lab, y, u, w_cons=0.0, transfer="batch")
    loss.backward()
    student, teacher = (u.aux_v, u.primary_v) if primary_consistent else (u.primary_v, u.aux_v)
    assert student.grad is not None and student.grad.abs().sum() > 0
    assert teacher.grad is None or teacher.grad.abs().sum() == 0


def test_sample_transfer_masks_per_video():
    rng = np.random.default_rng(2)
    lab = _scores(rng, grad=False)
    y = torch.tensor(rng.normal(size=6))
    u = _unlabelled(True)
    loss, logs = dual_model_loss(lab, y, u, w_cons=0.0, transfer="sample")
    assert 0.0 <= logs["primary_student"] < 1.0
    loss.backward()
    assert u.aux_v.grad.abs().sum() > 0  # the auxiliary is less consistent on some videos


def test_unknown_transfer_mode():
    rng = np.random.default_rng(3)
    with pytest.raises(ValueError, match="transfer"):
        dual_model_loss(_scores(rng), torch.randn(6), _scores(rng), transfer="vote")
