"""Fixtures of the reliability suite (issue #16): hostile-but-fair inputs, generated here, and the
real entry points (`vqa`, `bench`) run in subprocesses, timed.

Methods reach the subprocesses the way a third-party package's would: through the entry-point
group `vqa_zoo.methods`, declared by a `*.dist-info` folder put on PYTHONPATH. Its module
loads the toy methods of `tests/vqa_bench/conftest.py` (`ToyRidgeMethod`: a real, tiny,
trainable method) and adds `GatedToyMethod`, which waits on a file before fitting or scoring
when `VQA_TOY_GATE` names a folder and `VQA_TOY_GATE_ON` says which: the tests hold a run at a known point (to start a second
writer beside it, or to SIGKILL it) without racing against the clock.

Every subprocess run is recorded (case, command, exit status, first message line, seconds);
with `VQA_RELIABILITY_TABLE=FILE.md` set, the table of cases is written there at the end.
"""

from __future__ import annotations

import importlib.util
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import pytest

from vqa_core.testing import make_audio, make_video

TOY_CONFTEST = Path(__file__).resolve().parents[1] / "vqa_bench" / "conftest.py"

PLUGIN = '''
"""vqa-zoo test plugin: the toy methods of tests/vqa_bench, registered by entry point."""
import importlib.util
import os
import sys
import time
from pathlib import Path

_spec = importlib.util.spec_from_file_location("vqa_bench_toy_fixtures", {conftest!r})
_toy = importlib.util.module_from_spec(_spec)
sys.modules["vqa_bench_toy_fixtures"] = _toy
_spec.loader.exec_module(_toy)
ToyRidgeMethod = _toy.ToyRidgeMethod


def _gate(what):
    """With VQA_TOY_GATE=DIR and VQA_TOY_GATE_ON=fit|score: let VQA_TOY_GATE_FREE such calls
    pass, then mark DIR/waiting and wait while DIR/hold exists."""
    folder = os.environ.get("VQA_TOY_GATE")
    if not folder or os.environ.get("VQA_TOY_GATE_ON") != what:
        return
    count = int(os.environ.get("_VQA_TOY_CALLS", "0")) + 1
    os.environ["_VQA_TOY_CALLS"] = str(count)
    if count <= int(os.environ.get("VQA_TOY_GATE_FREE", "0")):
        return
    Path(folder, "waiting").write_text(f"{{os.getpid()}} {{what}}")
    deadline = time.monotonic() + 120
    while Path(folder, "hold").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("gate held for 120 s")
        time.sleep(0.02)


class GatedToyMethod(ToyRidgeMethod):
    name = "toy-gated"

    def fit(self, *args, **kwargs):
        _gate("fit")
        return super().fit(*args, **kwargs)

    def score(self, items, *, progress=False):
        _gate("score")
        return super().score(items, progress=progress)
'''


@dataclass
class Case:
    """One run of an entry point: what was run and what came back."""

    case: str
    command: list[str]
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def message(self) -> str:
        """The first line that says something: an error, a warning, or the output."""
        lines = [ln.strip() for ln in (self.stderr + "\n" + self.stdout).splitlines() if ln.strip()]
        for key in ("error", "left out", "interrupted", "warning"):
            for line in lines:
                if key in line.lower():
                    return line
        return lines[0] if lines else ""


@pytest.fixture(scope="session")
def records(tmp_path_factory: pytest.TempPathFactory) -> list[Case]:
    rows: list[Case] = []
    yield rows
    out = os.environ.get("VQA_RELIABILITY_TABLE")
    if out and rows:
        base = str(tmp_path_factory.getbasetemp())

        def short(text: str) -> str:
            return text.replace(base, "$TMP").replace("|", "\\|")

        lines = ["| case | command | exit | message | seconds |", "|---|---|---|---|---|"]
        for r in rows:
            cmd = " ".join(shlex.quote(Path(c).name if i == 0 else c) for i, c in enumerate(r.command))
            lines.append(
                f"| {r.case} | `{short(cmd)}` | {r.returncode} | {short(r.message)} | {r.seconds:.2f} |"
            )
        Path(out).write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the toy plugin module and its dist-info (entry points)."""
    root = tmp_path_factory.mktemp("plugin")
    (root / "vqa_zoo_toy_plugin.py").write_text(PLUGIN.format(conftest=str(TOY_CONFTEST)))
    info = root / "vqa_zoo_toy_plugin-0.0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: vqa-zoo-toy-plugin\nVersion: 0.0.0\n")
    (info / "entry_points.txt").write_text(
        "[vqa_zoo.methods]\n"
        "toy-ridge = vqa_zoo_toy_plugin:ToyRidgeMethod\n"
        "toy-gated = vqa_zoo_toy_plugin:GatedToyMethod\n"
    )
    return root


@pytest.fixture(scope="session")
def cache_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("vqa-zoo-cache")


def entry_point(name: str) -> list[str]:
    """The console script `name` of this environment (what a user types), else `python -m`."""
    script = Path(sys.executable).parent / name
    if script.is_file():
        return [str(script)]
    module = {"vqa": "vqa_core.cli", "bench": "vqa_bench.cli"}[name]
    return [sys.executable, "-m", module]


def _default_sigint() -> None:
    """Give the child the default SIGINT disposition, which Python turns into KeyboardInterrupt.
    A shell without job control starts `cmd &` with SIGINT ignored, the child inherits that and
    Python then never raises KeyboardInterrupt: the Ctrl-C tests failed when CI itself ran in the
    background (the gated call waited out its 120 s)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture(scope="session")
def cli(records: list[Case], plugin_path: Path, cache_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """cli(case, "vqa"|"bench", *args, env=..., timeout=...) -> Case, run in a subprocess and recorded."""

    workdir = tmp_path_factory.mktemp("cwd")

    def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(plugin_path), *filter(None, [env.get("PYTHONPATH")])])
        env["VQA_ZOO_CACHE"] = str(cache_root)
        env["COLUMNS"] = "200"
        env.update(extra or {})
        return env

    def run(
        case: str, program: str, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> Case:
        command = [*entry_point(program), *map(str, args)]
        t0 = time.perf_counter()
        proc = subprocess.run(
            command, capture_output=True, text=True, env=environment(env), timeout=timeout, cwd=workdir
        )
        result = Case(case, command, proc.returncode, proc.stdout, proc.stderr, time.perf_counter() - t0)
        records.append(result)
        return result

    def start(program: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """Start an entry point without waiting (to signal it, or run a second one beside it)."""
        command = [*entry_point(program), *map(str, args)]
        proc = subprocess.Popen(
            command,
            env=environment(env),
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=_default_sigint,
        )
        proc.started = time.perf_counter()
        return proc

    def finish(case: str, proc: subprocess.Popen, timeout: float = 120) -> Case:
        """Wait for a process from `start` and record it."""
        stdout, stderr = proc.communicate(timeout=timeout)
        result = Case(
            case, list(proc.args), proc.returncode, stdout, stderr, time.perf_counter() - proc.started
        )
        records.append(result)
        return result

    run.start, run.finish = start, finish
    return run


# -- the inputs --------------------------------------------------------------------------------------


def _truncated(folder: Path) -> Path:
    """A 64-frame mp4 with its index in front (faststart), cut at 60%: the header lists 64 frames."""
    src = make_video(folder / "src.mp4", num_frames=64, height=48, width=64)
    fast = folder / "fast.mp4"
    with av.open(str(src)) as inp, av.open(str(fast), "w", options={"movflags": "faststart"}) as out:
        stream = inp.streams.video[0]
        copy = out.add_stream_from_template(stream)
        for packet in inp.demux(stream):
            if packet.dts is not None:
                packet.stream = copy
                out.mux(packet)
    data = fast.read_bytes()
    cut = folder / "truncated.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    src.unlink()
    fast.unlink()
    return cut


def _still(path: Path) -> Path:
    with av.open(str(path), "w", format="image2") as out:
        stream = out.add_stream("png", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "rgb24"
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 128, np.uint8), format="rgb24")
        for packet in [*stream.encode(frame), *stream.encode()]:
            out.mux(packet)
    return path


#: case -> the cause an error about it must state (one of these words), besides the file name
BAD_VIDEOS = {
    "missing": ("no such file", "does not exist"),
    "empty": ("empty (0 bytes)",),
    "random bytes": ("not a readable video",),
    "text named .mp4": ("not a readable video",),
    "audio only": ("no video stream",),
    "1x1 video": ("1x1 pixels is below the minimum",),
    "2x2 video": ("2x2 pixels is below the minimum",),
    "still image": ("a still image",),
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test taking `bad_case` runs once per kind of bad video."""
    if "bad_case" in metafunc.fixturenames:
        metafunc.parametrize("bad_case", sorted(BAD_VIDEOS))


@pytest.fixture(scope="session")
def names_cause():
    """names_cause(text, case): whether `text` states the cause of that kind of bad video."""

    def check(text: str, case: str) -> bool:
        return any(cause in text.lower() for cause in BAD_VIDEOS[case])

    return check


@pytest.fixture(scope="session")
def bad_videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """case -> file, for every kind of file that is not a usable video (see BAD_VIDEOS)."""
    d = tmp_path_factory.mktemp("bad-videos")
    (d / "empty.mp4").write_bytes(b"")
    (d / "random.mp4").write_bytes(np.random.default_rng(0).integers(0, 256, 65536, dtype=np.uint8).tobytes())
    (d / "text.mp4").write_text("this is a text file, not a video\n" * 20)
    return {
        "missing": d / "missing.mp4",
        "empty": d / "empty.mp4",
        "random bytes": d / "random.mp4",
        "text named .mp4": d / "text.mp4",
        "audio only": make_audio(d / "audio.mp4"),
        "1x1 video": make_video(d / "one_px.mkv", num_frames=4, height=1, width=1, codec="ffv1"),
        "2x2 video": make_video(d / "two_px.mkv", num_frames=4, height=2, width=2, codec="ffv1"),
        "still image": _still(d / "still.png"),
    }


@pytest.fixture(scope="session")
def truncated_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _truncated(tmp_path_factory.mktemp("truncated"))


@pytest.fixture(scope="session")
def toy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The toy dataset of tests/vqa_bench (8 scenes x 3 x264 qualities) as a user's CSV."""
    spec = importlib.util.spec_from_file_location("vqa_bench_toy_fixtures", TOY_CONFTEST)
    toy = sys.modules.setdefault("vqa_bench_toy_fixtures", importlib.util.module_from_spec(spec))
    spec.loader.exec_module(toy)  # (its dataclasses look their module up in sys.modules)
    root = tmp_path_factory.mktemp("toy-data")
    return toy.make_toy_dataset(root).to_csv(root / "toy.csv")


@pytest.fixture(scope="session")
def checkpoint(cli, toy_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A toy-gated model trained by `bench` (one split), as a user would get one for `vqa score`."""
    out = tmp_path_factory.mktemp("trained")
    run = cli(
        "a clean bench run (trains the checkpoint)",
        "bench",
        "--method",
        "toy-gated",
        "--dataset",
        toy_csv,
        "--group-by",
        "scene",
        "--config",
        "tiny",
        "--splits",
        "1",
        "--device",
        "cpu",
        "--out",
        out,
        "--no-progress",
    )
    assert run.returncode == 0, run.stderr
    return out / "toy-intra-tiny" / "toy-gated" / "split_00" / "model.pt"


@pytest.fixture(scope="session")
def good_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_video(tmp_path_factory.mktemp("good") / "good.mp4", num_frames=16, height=48, width=64)
