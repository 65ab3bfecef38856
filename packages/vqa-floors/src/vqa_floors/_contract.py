"""STAND-IN for the rewritten Method contract (remove at merge: import from vqa_core.method).

The contract being rewritten in vqa-core adds `ScoreReport`, `Method.score` (never raises for
one bad video), `Method.predict` derived from it, `cost_parts` and `caveats`. Until it lands,
`ScoreReport` is taken from `vqa_core.method` when it exists and defined here otherwise, with
the same fields, so the floors run on today's base class and on the new one unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

try:  # the rewritten contract
    from vqa_core.method import ScoreReport  # type: ignore[attr-defined]
except ImportError:  # today's base class: the same record, defined here

    @dataclass
    class ScoreReport:  # type: ignore[no-redef]
        """Per-item scores and timings of one scoring call (see vqa_core.method once it lands)."""

        scores: np.ndarray
        decode_s: np.ndarray
        model_s: np.ndarray
        errors: list[str | None]
        parts: dict[str, np.ndarray] = field(default_factory=dict)

        @property
        def ok(self) -> np.ndarray:
            return np.array([e is None for e in self.errors], dtype=bool)

        def __len__(self) -> int:
            return len(self.errors)


__all__ = ["ScoreReport"]
