"""Scatter plots of prediction against MOS, with the fitted 4-parameter logistic.

One panel per (train -> test) pair; the points of every task (split) are drawn together,
coloured by task, and the logistic drawn is fitted on all of them pooled (the per-split fits
are what the metrics use; the pooled curve shows the overall mapping). Matplotlib runs on the
Agg backend so plots work on headless machines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np

# (task name, predictions, mos) triples of one panel
PanelData = Sequence[tuple[str, np.ndarray, np.ndarray]]
CurveFit = Callable[[np.ndarray, np.ndarray], Callable[[np.ndarray], np.ndarray] | None]


def scatter_plot(
    panels: Mapping[str, PanelData],
    path: str | Path,
    title: str,
    fit_curve: CurveFit | None = None,
    subtitles: Mapping[str, str] | None = None,
) -> Path:
    """Write a PNG with one scatter panel per entry of `panels` and return its path.

    `fit_curve(pred, mos)` returns the fitted mapping pred -> MOS (or None when no fit
    converged); it comes from vqa_core.metrics so the plot shows the metrics' own logistic.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    names = list(panels)
    cols = min(3, max(1, len(names)))
    rows = int(np.ceil(len(names) / cols)) if names else 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 4.2 * rows), squeeze=False)
    cmap = plt.get_cmap("tab10")
    for ax in axes.flat[len(names) :]:
        ax.axis("off")
    for ax, name in zip(axes.flat, names, strict=False):
        data = panels[name]
        all_p = np.concatenate([np.asarray(p, dtype=float) for _, p, _ in data]) if data else np.zeros(0)
        all_m = np.concatenate([np.asarray(m, dtype=float) for _, _, m in data]) if data else np.zeros(0)
        for i, (task, p, m) in enumerate(data):
            ax.scatter(p, m, s=14, alpha=0.7, color=cmap(i % 10), label=task if len(data) <= 10 else None)
        if fit_curve is not None and all_p.size >= 4 and np.ptp(all_p) > 0:
            curve = fit_curve(all_p, all_m)
            if curve is not None:
                xs = np.linspace(all_p.min(), all_p.max(), 200)
                ax.plot(xs, curve(xs), color="black", lw=1.6, label="logistic fit (pooled)")
        ax.set_xlabel("predicted score")
        ax.set_ylabel("MOS")
        sub = (subtitles or {}).get(name, "")
        ax.set_title(f"{name}\n{sub}" if sub else name, fontsize=9)
        ax.grid(alpha=0.3)
        if data:
            ax.legend(fontsize=6, loc="best")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
