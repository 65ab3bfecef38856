"""The packages work as installed wheels, not only as this checkout's editable installs.

Builds every workspace package with `uv build`, installs the wheels into a fresh venv outside the
checkout (the locked third-party dependencies come from the uv cache: no network), and runs
`bench` from another folder: `--list` must show every shipped dataset descriptor and every
method, and a tiny DAGR run on the demo must finish. This is what catches data files that only a
checkout can find (a `__file__` walk up to the repository) and files a wheel leaves out.

The demo build costs minutes; a built `demo` folder is copied from `$VQA_ZOO_TEST_DEMO`, else from
the default cache root when it holds a complete one, else it is built in the test's own cache.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from dagr_vqa.config import DagrConfig
from vqa_core.config import config_hash, load_config
from vqa_core.demo.cache import cache_root

REPO = Path(__file__).resolve().parents[2]
DESCRIPTORS = REPO / "packages" / "vqa-core" / "src" / "vqa_core" / "datasets" / "descriptors"
PACKAGES = sorted(p.name for p in (REPO / "packages").iterdir() if (p / "pyproject.toml").is_file())
TEST_DEMO_ENV = "VQA_ZOO_TEST_DEMO"


def _uv() -> list[str]:
    exe = shutil.which("uv")
    if exe:
        return [exe]
    try:
        import uv  # noqa: F401  (CI may install uv as a module only)
    except ImportError:
        pytest.skip("uv is not installed")
    return [sys.executable, "-m", "uv"]


def _run(cmd: list[str], cwd: Path, env: dict[str, str], timings: dict[str, float], step: str, timeout: int):
    t0 = time.perf_counter()
    out = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    timings[step] = round(time.perf_counter() - t0, 1)
    assert out.returncode == 0, f"{step} failed ({' '.join(cmd)}):\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"
    return out


def _built_demo() -> Path | None:
    env = os.environ.get(TEST_DEMO_ENV)
    if env:
        folder = Path(env).expanduser()
        if not (folder / "manifest.csv").is_file():
            raise AssertionError(f"${TEST_DEMO_ENV}={env} is not a built demo folder (no manifest.csv)")
        return folder
    folder = cache_root() / "demo"
    return folder if (folder / "manifest.csv").is_file() and (folder / "build.json").is_file() else None


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without what would point a child at the checkout's venv.

    Bytecode may be written: the fresh venv has none, and each child would otherwise compile torch again.
    """
    drop = {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "UV_PROJECT_ENVIRONMENT", "VQA_ZOO_DATA_MANIFESTS",
            "PYTHONDONTWRITEBYTECODE"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


@pytest.mark.slow
def test_wheels_install_outside_the_checkout_and_bench_runs(tmp_path: Path) -> None:
    assert not tmp_path.resolve().is_relative_to(REPO), "the test folder must lie outside the checkout"
    uv, timings = _uv(), {}
    wheels, venv, elsewhere, cache = (tmp_path / n for n in ("wheels", "venv", "elsewhere", "cache"))
    elsewhere.mkdir()
    env = _clean_env()

    _run([*uv, "build", "--all-packages", "--wheel", "--offline", "--out-dir", str(wheels)],
         REPO, env, timings, "uv build", 600)
    built = sorted(wheels.glob("*.whl"))
    assert sorted(w.name.split("-")[0].replace("_", "-") for w in built) == PACKAGES
    # the locked third-party dependencies (from the uv cache), none of the workspace's own packages,
    # then the wheels: their declared dependencies must be satisfied by what is installed
    _run([*uv, "sync", "--frozen", "--offline", "--no-install-workspace", "--no-dev", "--all-packages",
          "--python", sys.executable], REPO, {**env, "UV_PROJECT_ENVIRONMENT": str(venv)}, timings, "uv sync", 600)
    python = venv / "bin" / "python"
    _run([*uv, "pip", "install", "--offline", "--python", str(python), *map(str, built)],
         elsewhere, env, timings, "uv pip install", 600)

    where = _run([str(python), "-c", "import vqa_core, vqa_bench, dagr_vqa, saliency_core; "
                  "print(vqa_core.__file__); print(vqa_bench.__file__); print(dagr_vqa.__file__); "
                  "print(saliency_core.__file__)"], elsewhere, env, timings, "import", 120)
    for line in where.stdout.split():
        path = Path(line).resolve()
        assert path.is_relative_to(venv.resolve()) and not path.is_relative_to(REPO), path

    listing = _run([str(venv / "bin" / "bench"), "--list"], elsewhere, env, timings, "bench --list", 300).stdout
    lines = dict(line.split(":", 1) for line in listing.splitlines() if ":" in line)
    listed_methods = {n.strip() for n in lines["methods"].split(",")}
    listed_datasets = {n.strip() for n in lines["datasets"].split(",")}
    assert listed_methods == {ep.name for ep in entry_points(group="vqa_zoo.methods")}
    assert listed_datasets == {p.stem for p in DESCRIPTORS.glob("*.yaml")}

    demo = _built_demo()
    if demo is not None:
        shutil.copytree(demo, cache / "demo")  # a copy: the run must not touch the source
    out = tmp_path / "runs"
    _run([str(venv / "bin" / "bench"), "--method", "dagr", "--dataset", "demo", "--config", "tiny",
          "--splits", "1", "--no-progress", "--out", str(out)],
         elsewhere, _clean_env(VQA_ZOO_CACHE=str(cache)), timings, "bench dagr tiny", 3000)
    metrics = json.loads(next(out.glob("*/metrics.json")).read_text())
    assert not metrics["failed"], metrics["failed"]
    dagr = metrics["methods"]["dagr"]
    assert dagr["config_hash"] == config_hash(load_config(DagrConfig, "tiny"))  # the wheel's preset is ours
    assert math.isfinite(dagr["results"]["demo -> demo"]["aggregate"]["srcc"]["median"])
    assert (cache / "demo" / "manifest.csv").is_file() and not (elsewhere / "data_manifests").exists()
    print(f"wheel test timings (s), demo {'copied from ' + str(demo) if demo else 'built'}: {timings}")
