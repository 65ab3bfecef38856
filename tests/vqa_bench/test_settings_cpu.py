"""`cpu_model`: what bench runs, goldens and speed tables record about the CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqa_bench.settings import cpu_model


@pytest.mark.skipif(not Path("/proc/cpuinfo").is_file(), reason="needs Linux /proc/cpuinfo")
def test_cpu_model_reads_the_first_processor() -> None:
    text = Path("/proc/cpuinfo").read_text()
    first = text.split("\n\n")[0]
    fields = dict(line.split(":", 1) for line in first.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    cpu, flags = cpu_model()
    assert cpu == fields.get("model name", cpu)
    assert flags.split() == sorted(fields["flags"].split())
