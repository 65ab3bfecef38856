"""The embedded demo datasets, built on first use from real clips and photos that ship with installed packages.

- `demo`: real scenes x the 13 versions of `vqa_core.distort`, labelled with a proxy MOS
  (mean luma MS-SSIM against the pristine scene, mapped to 1-5; see `proxy_mos`).
- `demo-pretrain`: unlabelled scenes x 13 versions whose content the `demo` never shows,
  for self-supervised pretraining without a content leak (`ensure_demo_pretrain`).
- `demo-saliency`: clips with moving salient targets over real backgrounds, with fixation
  and continuous saliency maps in a DHF1K-like per-clip layout.

`ensure_demo()` / `ensure_demo_pretrain()` / `ensure_demo_saliency()` return the folders, building what is missing;
`vqa demo build` does the same from the command line.
"""

from __future__ import annotations

from vqa_core.lazy import lazy_exports

# Names load on first use, so that `vqa --help` and the command plugins do not import torch.
_LAZY = {
    "DemoConfig": "vqa_core.demo.build",
    "build_demo": "vqa_core.demo.build",
    "ensure_demo": "vqa_core.demo.build",
    "CACHE_ENV": "vqa_core.demo.cache",
    "cache_root": "vqa_core.demo.cache",
    "ms_ssim": "vqa_core.demo.label",
    "proxy_mos": "vqa_core.demo.label",
    "video_ms_ssim": "vqa_core.demo.label",
    "PRETRAIN_SCENES": "vqa_core.demo.pretrain_set",
    "DemoPretrainConfig": "vqa_core.demo.pretrain_set",
    "build_demo_pretrain": "vqa_core.demo.pretrain_set",
    "ensure_demo_pretrain": "vqa_core.demo.pretrain_set",
    "SaliencyDemoConfig": "vqa_core.demo.saliency",
    "build_demo_saliency": "vqa_core.demo.saliency",
    "ensure_demo_saliency": "vqa_core.demo.saliency",
    "frame_name": "vqa_core.demo.saliency",
    "SCENES": "vqa_core.demo.scenes",
    "SceneSpec": "vqa_core.demo.scenes",
    "render_scene": "vqa_core.demo.scenes",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

__all__ = sorted(_LAZY)
