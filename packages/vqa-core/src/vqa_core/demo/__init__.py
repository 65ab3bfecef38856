"""The embedded demo datasets, built on first use from real clips and photos that ship with installed packages.

- `demo`: real scenes x the 13 versions of `vqa_core.distort`, labelled with a proxy MOS
  (mean luma MS-SSIM against the pristine scene, mapped to 1-5; see `proxy_mos`).
- `demo-saliency`: clips with moving salient targets over real backgrounds, with fixation
  and continuous saliency maps in a DHF1K-like per-clip layout.

`ensure_demo()` / `ensure_demo_saliency()` return the folders, building what is missing;
`vqa demo build` does the same from the command line.
"""

from vqa_core.demo.build import DemoConfig, build_demo, ensure_demo
from vqa_core.demo.cache import CACHE_ENV, cache_root
from vqa_core.demo.label import ms_ssim, proxy_mos, video_ms_ssim
from vqa_core.demo.saliency import SaliencyDemoConfig, build_demo_saliency, ensure_demo_saliency, frame_name
from vqa_core.demo.scenes import SCENES, SceneSpec, render_scene

__all__ = [
    "CACHE_ENV",
    "SCENES",
    "DemoConfig",
    "SaliencyDemoConfig",
    "SceneSpec",
    "build_demo",
    "build_demo_saliency",
    "cache_root",
    "ensure_demo",
    "ensure_demo_saliency",
    "frame_name",
    "ms_ssim",
    "proxy_mos",
    "render_scene",
    "video_ms_ssim",
]
