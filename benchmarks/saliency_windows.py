"""Saliency windows benchmark: what `saliency.windows: faithful` costs, and how far `fast` is from it.

The VQA methods sample a few frames about a second apart. `faithful` predicts each sampled
frame's map from its own window of `clip_len` consecutive frames at the saliency model's
training stride (the input the UNet3D learnt from) and keeps the centre map; `fast` feeds the
sampled frames themselves as one clip (see `saliency_core.infer`). This script runs both on demo
videos with a method's saliency model and reports, per mode, the median seconds per video to
decode the frames and to run the model, and the agreement of the `fast` maps with the
`faithful` ones: CC (per-frame Pearson correlation of the two maps) and NSS (the z-scored `fast`
map at the top 5 % pixels of the `faithful` map, taken as fixations).

    uv run --frozen python benchmarks/saliency_windows.py --method dagr --config small --videos 12

The method's saliency stage (trained on demo-saliency for the tiny and small presets) is built
or reused from the cache root, as `bench` does; `--random-init` skips it and measures the cost
with an untrained UNet3D of the same preset (the agreement figures then mean nothing, and the
output says so). Costs are wall seconds on this machine; compare modes within one run only.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

FIXATION_QUANTILE = 0.95  # the faithful map's top 5 % pixels stand in for fixations in NSS


def _method(name: str, config: str, overrides: Sequence[str]) -> object:
    from vqa_bench.method_config import resolve_method_config
    from vqa_core.method import get_method

    cls = get_method(name)
    method_config = resolve_method_config(cls, config, name, list(overrides), no_pretrained=True)
    method = cls(config=method_config, device="cpu")
    if not hasattr(method, "map_windows"):
        raise SystemExit(f"{name} is not a saliency-guided method (choose str, dagr or sc)")
    return method


def _saliency_model(method: object, random_init: bool) -> torch.nn.Module:
    if random_init:
        model = method._saliency_architecture()  # same architecture, no stage build
        torch.manual_seed(0)
        return model.eval()
    method._ensure_saliency_model(build=True)  # builds or reuses the cached stage
    return method.saliency_model.eval()


def _agreement(fast: torch.Tensor, faithful: torch.Tensor) -> tuple[float, float]:
    from saliency_core.losses import cc, nss

    flat = faithful.reshape(faithful.shape[0], -1)
    threshold = torch.quantile(flat, FIXATION_QUANTILE, dim=1).reshape(-1, 1, 1)
    fixations = (faithful >= threshold).float()
    return float(cc(fast, faithful).mean()), float(torch.nanmean(nss(fast, fixations)))


def measure(
    method: object, model: torch.nn.Module, items: Sequence[object], repeats: int
) -> dict[str, object]:
    """Per mode: median decode and model seconds per video; CC/NSS of fast against faithful."""
    from saliency_core.cache import SaliencyMapCache
    from saliency_core.guided_clips import read_guided_clip

    stride = int(method.saliency_stage_config().data.frame_stride)  # faithful's stride, whatever the preset's mode
    size = method.frame_size
    caches = {
        mode: SaliencyMapCache(model, Path("unused"), model_id="bench", windows=mode, stride=stride)
        for mode in ("fast", "faithful")
    }
    seconds: dict[str, dict[str, list[float]]] = {m: {"decode": [], "model": []} for m in caches}
    ccs, nsss = [], []
    for item in items:
        indices = method.clip_indices(item)
        maps: dict[str, torch.Tensor] = {}
        for mode, cache in caches.items():
            decode_s, model_s = [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                clip = read_guided_clip(item, cache.frames_to_read(indices), size)
                t1 = time.perf_counter()
                maps[mode] = cache.predict(clip)
                t2 = time.perf_counter()
                decode_s.append(t1 - t0)
                model_s.append(t2 - t1)
            seconds[mode]["decode"].append(statistics.median(decode_s))
            seconds[mode]["model"].append(statistics.median(model_s))
        c, n = _agreement(maps["fast"], maps["faithful"])
        ccs.append(c)
        nsss.append(n)
    result: dict[str, object] = {"stride": stride, "clip_len": caches["fast"].clip_len, "frames": len(indices)}
    for mode, parts in seconds.items():
        result[mode] = {part: statistics.median(values) for part, values in parts.items()}
    result["cost_ratio"] = (
        (result["faithful"]["decode"] + result["faithful"]["model"])
        / (result["fast"]["decode"] + result["fast"]["model"])
    )
    result["cc_fast_vs_faithful"] = {"median": statistics.median(ccs), "min": min(ccs)}
    result["nss_fast_vs_faithful"] = {"median": statistics.median(nsss), "min": min(nsss)}
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", default="dagr", help="a saliency-guided method: str, dagr or sc (default dagr)")
    parser.add_argument("--config", default="small", help="the method's preset or YAML (default small)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="a config override, as bench --set takes it (repeatable)")
    parser.add_argument("--dataset", default="demo", help="dataset name or manifest CSV (default demo)")
    parser.add_argument("--videos", type=int, default=12, help="videos to measure, evenly spread (default 12)")
    parser.add_argument("--repeats", type=int, default=3, help="timed repeats per video and mode (median kept)")
    parser.add_argument("--random-init", action="store_true",
                        help="untrained UNet3D: cost only, no stage build (agreement then means nothing)")
    parser.add_argument("--out", type=Path, help="write the result as JSON here too")
    args = parser.parse_args(argv)
    if args.videos < 1 or args.repeats < 1:
        parser.error("--videos and --repeats must be >= 1")

    from vqa_bench.run_data import load_manifest

    torch.manual_seed(0)
    method = _method(args.method, args.config, args.overrides)
    manifest = load_manifest(args.dataset, None)
    items = manifest.items
    picks = np.linspace(0, len(items) - 1, min(args.videos, len(items))).round().astype(int)
    model = _saliency_model(method, args.random_init)
    result = measure(method, model, [items[i] for i in picks], args.repeats)
    result.update({
        "method": args.method, "config": args.config, "overrides": args.overrides, "dataset": args.dataset,
        "videos": len(picks), "random_init": args.random_init, "torch_threads": torch.get_num_threads(),
        "machine": platform.processor() or platform.machine(), "torch": torch.__version__,
    })
    print(json.dumps(result, indent=2))
    if args.random_init:
        print("note: random-init UNet3D; the CC/NSS figures do not describe a trained model", file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
