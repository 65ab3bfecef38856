"""Regression check of a fresh bench run against a committed baseline.

A baseline (`benchmarks/baselines/*.json`) is the `metrics.json` of a real, measured run,
written by `bench --write-baseline`, plus the tolerance it is checked with. Never hand-write
one: the numbers must come from a run that can be reproduced with the command stored in it.

The rule: for every method and every (train set -> test set) pair of the baseline, the fresh
run's **median** of each checked metric must be within the tolerance of the baseline's median
(default |dSRCC| <= 0.02 and |dPLCC| <= 0.02). A baseline written with `one_sided` checks only
drops (`fresh >= baseline - tolerance`): a method that gets better must not fail CI. A baseline
may also hold `minimum` medians (e.g. SRCC >= 0.4 for every learned method) checked on the
fresh run alone. A method or pair missing from the fresh run fails; extra ones in the fresh
run are reported but do not fail. The run settings that decide the numbers (dataset,
protocol, config, number of splits) must be identical, or the comparison is refused.

Where the tolerance comes from belongs in the baseline (`tolerance_note`): the spread of the
medians when only the floating-point path changes (e.g. torch on 1 thread against 2), which is
what another machine of the same kind changes. `measured_tolerance` turns two such runs into a
per-method tolerance (`method_tolerance`, which overrides the global one for that method): a
deterministic method then keeps the tight default, a chaotic one gets the room it was seen to need.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vqa_core.errors import ConfigError

DEFAULT_TOLERANCE: dict[str, float] = {"srcc": 0.02, "plcc": 0.02}
SETTINGS_THAT_MATTER = ("dataset", "protocol", "config", "splits")


@dataclass
class Comparison:
    """One checked number: baseline vs fresh, and whether it is inside the tolerance."""

    method: str
    pair: str
    metric: str
    baseline: float | None
    fresh: float | None
    tolerance: float
    one_sided: bool = False  # only a drop below baseline - tolerance fails
    kind: str = "baseline"  # "baseline": against the baseline's median | "minimum": an absolute floor

    @property
    def delta(self) -> float | None:
        if self.baseline is None or self.fresh is None:
            return None
        return self.fresh - self.baseline

    @property
    def ok(self) -> bool:
        d = self.delta
        if d is None:
            return False
        if self.one_sided:
            return d >= -self.tolerance - 1e-12
        return abs(d) <= self.tolerance + 1e-12

    @property
    def rule(self) -> str:
        if self.kind == "minimum":
            return f">= {self.baseline:.3f}"
        return f">= -{self.tolerance:.3f}" if self.one_sided else f"+-{self.tolerance:.3f}"


@dataclass
class RegressionReport:
    baseline_path: str
    comparisons: list[Comparison] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failures(self) -> list[Comparison]:
        return [c for c in self.comparisons if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failures and bool(self.comparisons)

    def to_markdown(self) -> str:
        lines = [
            f"Regression check against `{self.baseline_path}`: "
            + (
                "PASS"
                if self.ok
                else f"FAIL ({len(self.failures)} of {len(self.comparisons)} outside tolerance)"
            ),
            "",
            "| method | train -> test | metric | baseline | fresh | delta | rule | status |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in self.comparisons:
            lines.append(
                f"| {c.method} | {c.pair} | {c.metric} median | {_fmt(c.baseline)} | {_fmt(c.fresh)} | "
                f"{_fmt(c.delta, signed=True)} | {c.rule} | {'ok' if c.ok else 'FAIL'} |"
            )
        lines += [f"- {n}" for n in self.notes]
        return "\n".join(lines) + "\n"


def _fmt(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "missing"
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def _read_json(file: Path, what: str, missing: str) -> Any:
    """The JSON in `file`; a missing file raises `missing`, a malformed one names `what` and the file.

    The one reader of the JSON a bench command is handed (a baseline, a spread run's metrics), so
    both fail the same way, before any method runs."""
    if not file.is_file():
        raise ConfigError(missing)
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ConfigError(f"{what} {file} is not valid JSON ({err})") from err


def load_baseline(path: str | Path) -> dict[str, Any]:
    """A committed baseline (`bench --write-baseline`), checked to have its `run` and `methods`."""
    path = Path(path)
    data = _read_json(
        path, "baseline", f"baseline {path} does not exist; write one with `bench ... --write-baseline {path}`"
    )
    if not isinstance(data, dict) or "methods" not in data or "run" not in data:
        raise ConfigError(f"baseline {path} has no 'run'/'methods' sections; was it written by bench?")
    return data


def load_run_metrics(path: str | Path) -> dict[str, Any]:
    """A run's metrics.json, given the file or its run folder (`--spread-from`: read before the
    run, so a typo costs nothing)."""
    path = Path(path)
    file = path / "metrics.json" if path.is_dir() else path
    return _read_json(
        file,
        "--spread-from",
        f"--spread-from {path}: no metrics.json there; give a finished bench run's folder or file",
    )


def make_baseline(
    metrics: Mapping[str, Any],
    tolerance: Mapping[str, float] | None = None,
    *,
    one_sided: bool = False,
    minimum: Mapping[str, float] | None = None,
    note: str | None = None,
    method_tolerance: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, Any]:
    """A baseline from a run's metrics.json: the numbers as measured, plus how they are checked
    (tolerance, per-method tolerances, one-sided or not, absolute minimum medians) and where the
    tolerance comes from."""
    base = json.loads(json.dumps(metrics))  # deep copy, JSON types only
    base["tolerance"] = dict(tolerance or DEFAULT_TOLERANCE)
    if method_tolerance:
        base["method_tolerance"] = {m: dict(t) for m, t in sorted(method_tolerance.items())}
    base["one_sided"] = bool(one_sided)
    base["minimum"] = dict(minimum or {})
    if note:
        base["tolerance_note"] = note
    per = "fresh median >= baseline median - tolerance" if one_sided else "abs(fresh median - baseline median) <= tolerance"
    base["rule"] = per + ", per method, train->test pair and metric" + (
        "; and fresh median >= minimum[metric] for every method" if minimum else ""
    )
    return base


def compare(
    fresh: Mapping[str, Any],
    baseline: Mapping[str, Any],
    baseline_path: str = "baseline",
    tolerance: Mapping[str, float] | None = None,
) -> RegressionReport:
    """Compare a fresh metrics.json with a baseline (see the module docstring for the rule)."""
    tol = dict(tolerance or baseline.get("tolerance") or DEFAULT_TOLERANCE)
    # an explicit tolerance overrides everything; otherwise a method's measured one wins
    per_method = {} if tolerance else dict(baseline.get("method_tolerance") or {})
    one_sided = bool(baseline.get("one_sided", False))
    minimum = {k: float(v) for k, v in (baseline.get("minimum") or {}).items()}
    report = RegressionReport(baseline_path=str(baseline_path))
    b_run, f_run = baseline.get("run", {}), fresh.get("run", {})
    differing = [k for k in SETTINGS_THAT_MATTER if b_run.get(k) != f_run.get(k)]
    if differing:
        detail = ", ".join(f"{k}: baseline {b_run.get(k)!r} vs fresh {f_run.get(k)!r}" for k in differing)
        raise ConfigError(
            f"cannot compare with baseline {baseline_path}: the run settings differ ({detail}); "
            "rerun bench with the baseline's settings (its 'run.command' shows them)"
        )
    f_methods = fresh.get("methods", {})
    for method, b_entry in baseline.get("methods", {}).items():
        f_entry = f_methods.get(method)
        if f_entry is None:
            report.notes.append(f"method {method!r} is in the baseline but was not run")
        for pair, b_res in b_entry.get("results", {}).items():
            f_res = (f_entry or {}).get("results", {}).get(pair, {})
            for metric, t in tol.items():
                t = per_method.get(method, {}).get(metric, t)
                b_val = b_res.get("aggregate", {}).get(metric, {}).get("median")
                f_val = f_res.get("aggregate", {}).get(metric, {}).get("median")
                report.comparisons.append(Comparison(method, pair, metric, b_val, f_val, float(t), one_sided))
            for metric, floor in minimum.items():
                f_val = f_res.get("aggregate", {}).get(metric, {}).get("median")
                report.comparisons.append(Comparison(method, pair, metric, floor, f_val, 0.0, True, "minimum"))
    for method in sorted(set(f_methods) - set(baseline.get("methods", {}))):
        report.notes.append(f"method {method!r} was run but is not in the baseline (not checked)")
    if not report.comparisons:
        report.notes.append("the baseline holds no results to compare")
    return report


def _medians(metrics: Mapping[str, Any], method: str) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    for pair, res in metrics.get("methods", {}).get(method, {}).get("results", {}).items():
        for metric, agg in res.get("aggregate", {}).items():
            if isinstance(agg, Mapping) and agg.get("median") is not None:
                out[(pair, metric)] = float(agg["median"])
    return out


def measured_tolerance(
    metrics: Mapping[str, Any],
    others: Sequence[Mapping[str, Any]],
    floor: Mapping[str, float] | None = None,
    factor: float = 2.0,
) -> tuple[dict[str, dict[str, float]], str]:
    """Per-method tolerances from runs of the same settings that differ only in their
    floating-point path or machine (e.g. OMP_NUM_THREADS=1 against 2, a fresh clone): for each
    method and metric, max(floor, factor x the largest |median difference| from `metrics` over
    every run in `others` and train->test pair), rounded up to 0.005. Returns (method -> metric
    -> tolerance, a note stating every measured difference).

    `factor` 2 leaves room for another machine moving as far again in the other direction.
    """
    floor = dict(floor or DEFAULT_TOLERANCE)
    b_run = metrics.get("run", {})
    for other in others:
        o_run = other.get("run", {})
        differing = [k for k in SETTINGS_THAT_MATTER if b_run.get(k) != o_run.get(k)]
        if differing:
            raise ConfigError(f"cannot measure a spread between runs whose settings differ ({', '.join(differing)})")
    per: dict[str, dict[str, float]] = {}
    seen: list[str] = []
    for method in sorted(metrics.get("methods", {})):
        mine = _medians(metrics, method)
        theirs = [_medians(other, method) for other in others]
        for metric, base_tol in floor.items():
            diffs = [abs(v - t[key]) for t in theirs for key, v in mine.items() if key[1] == metric and key in t]
            if not diffs:
                continue
            spread = max(diffs)
            per.setdefault(method, {})[metric] = round(max(float(base_tol), math.ceil(factor * spread / 0.005 - 1e-9) * 0.005), 3)
            seen.append(f"{method} {metric} {spread:.3f}")
    # A spread run kept under benchmarks/baselines/spread says in `source` where it was measured;
    # otherwise its command is the best description there is.
    commands = "; ".join(str(o.get("source") or o.get("run", {}).get("command", "see run.command")) for o in others)
    note = (
        f"per-method tolerance = max({', '.join(f'{k} {v:g}' for k, v in floor.items())}, {factor:g} x the largest "
        f"|median difference| between this run and runs of the same settings on another floating-point path or "
        f"machine ({commands}); measured differences: " + "; ".join(seen)
    )
    return per, note
