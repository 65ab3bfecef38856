"""What defines a bench run: its settings, its folder name, and the record of the environment.

`BenchSettings` is filled by the CLI (tests build it directly). The run folder is
`OUT/<run name>`; the default name says the dataset, protocol and config, so runs with other
settings land in other folders. What must match for results to be mixed in one folder (seed,
split membership, config hashes...) is the run's identity (`vqa_bench.identity`), not the name.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shlex
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from vqa_bench.protocol import PROTOCOLS
from vqa_core.errors import ConfigError

VERSIONED_DISTRIBUTIONS = (
    "vqa-core",
    "vqa-bench",
    "vqa-floors",
    "saliency-core",
    "dagr-vqa",
    "sc-vqa",
    "st-vqrl",
    "ssl-vqa",
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "scikit-learn",
    "av",
    "kornia",
    "open_clip_torch",
)


@dataclass
class BenchSettings:
    """Everything that defines a bench run (the CLI fills it; tests build it directly)."""

    methods: list[str]
    datasets: list[str] = field(default_factory=lambda: ["demo"])
    data_roots: dict[str, Path] = field(default_factory=dict)
    zero_shot: dict[str, Path] = field(default_factory=dict)
    config: str = "small"
    overrides: list[str] = field(default_factory=list)
    no_pretrained: bool = False
    splits: int = 10
    protocol: str = "auto"
    seed: int = 123
    device: str = "auto"
    out: Path = Path("runs")
    run_name: str | None = None
    cache_dir: Path | None = None
    group_by: str | None = None
    save_checkpoints: bool = True
    keep_work: bool = False
    progress: bool = True
    command: str = ""

    def resolved_protocol(self) -> str:
        if self.protocol not in PROTOCOLS:
            raise ConfigError(f"unknown protocol {self.protocol!r}; choose one of {', '.join(PROTOCOLS)}")
        if self.protocol != "auto":
            return self.protocol
        if len(self.datasets) > 1:
            return "cross"
        return "lsvq" if self.datasets[0].lower() == "lsvq" else "intra"

    def config_label(self) -> str:
        """The preset or YAML file name, with the --set overrides: what decides the config."""
        base = Path(self.config).name if self.config.endswith((".yaml", ".yml")) else self.config
        return " ".join([base, *self.overrides, *(["--no-pretrained"] if self.no_pretrained else [])])

    def default_run_name(self) -> str:
        cfg = Path(self.config).stem if self.config.endswith((".yaml", ".yml")) else self.config
        if self.overrides:
            cfg += "-" + hashlib.sha256("\n".join(self.overrides).encode()).hexdigest()[:8]
        if self.no_pretrained:
            cfg += "-nopretrained"
        names = [Path(d).stem if d.lower().endswith(".csv") else d for d in self.datasets]
        return f"{'+'.join(names)}-{self.resolved_protocol()}-{cfg}"

    @property
    def run_dir(self) -> Path:
        return Path(self.out) / (self.run_name or self.default_run_name())

    @property
    def pretrain_cache(self) -> Path:
        from vqa_core.stages import stage_root

        return stage_root(self.cache_dir)


def package_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for dist in VERSIONED_DISTRIBUTIONS:
        with contextlib.suppress(PackageNotFoundError):
            out[dist] = version(dist)
    return out


# Environment variables that choose the floating-point path of CPU kernels (thread count and
# instruction set); a run records them so that a baseline states what it was measured with.
FLOAT_PATH_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "ATEN_CPU_CAPABILITY",
    "ONEDNN_MAX_CPU_ISA",
    "MKL_CBWR",
)


def floating_point_path() -> dict[str, Any]:
    """The CPU kernel path this process runs: torch's thread count and vector instruction set,
    and the variables that pin them. Two runs that differ here may differ in their last bits, and
    an untrained model amplifies that (benchmarks/README.md, "Where the tolerances come from")."""
    import torch

    return {
        "torch_threads": torch.get_num_threads(),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "env": {k: os.environ[k] for k in FLOAT_PATH_VARIABLES if k in os.environ},
    }


def cpu_model() -> tuple[str, str]:
    """This machine's CPU model name and its feature flags (sorted, space-separated) from
    /proc/cpuinfo; where there is none (not Linux), `platform.processor()` and "". Two machines
    whose flags differ may take different vector paths (and last bits) in the same kernels."""
    import platform

    cpu, flags = platform.processor() or platform.machine(), ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and not flags:
                cpu = value.strip()
            elif key.strip() == "flags":
                flags = " ".join(sorted(value.split()))
                break  # the first processor describes them all
    return cpu, flags


def command_line(argv: Sequence[str] | None) -> str:
    args = list(sys.argv[1:] if argv is None else argv)
    return "bench " + " ".join(shlex.quote(a) for a in args)


def settings_dict(settings: BenchSettings) -> dict[str, Any]:
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(settings).items()}
