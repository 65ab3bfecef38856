"""vqa_floors: the floor baselines every learned vqa-zoo method is judged against.

    method = get_method("sharpness")("small")      # or "bitrate", "nss"; presets tiny | small | full
    method.fit(train_items, val_items, "runs/x")    # training-free floors only map to the MOS scale
    report = method.score(["a.mp4", "b.mp4"])       # scores + per-video decode/model seconds
    method.save("nss.pt"); Method.load("nss.pt")    # tensors only: torch.load(weights_only=True)

- `sharpness`: log(1 + mean variance of the Laplacian) of sampled grey frames;
- `bitrate`: log bits per pixel per frame from the container;
- `nss`: BRISQUE NSS (Mittal et al. 2012, 36 features at two scales) plus frame-difference NSS
  and temporal-rhythm statistics, regressed to MOS by an RBF SVR chosen on validation SRCC.
They need no weights and no GPU.
"""

from vqa_floors.bitrate import BitsPerPixel, bits_per_pixel
from vqa_floors.brisque import BRISQUE_FEATURE_NAMES, aggd_fit, brisque_features, ggd_fit, mscn, nss_features
from vqa_floors.config import BitrateConfig, NssConfig, RegressorConfig, SharpnessConfig
from vqa_floors.frames import FramePlan, analysis_size, decode_grey, plan_frames, to_grey
from vqa_floors.method import BitrateMethod, FloorMethod, NssMethod, SharpnessMethod
from vqa_floors.regression import FeatureRegressor, fit_regressor
from vqa_floors.sharpness import laplacian_variance, sharpness_statistic
from vqa_floors.temporal import difference_features, rhythm_features

__all__ = [
    "BRISQUE_FEATURE_NAMES",
    "BitrateConfig",
    "BitrateMethod",
    "BitsPerPixel",
    "FeatureRegressor",
    "FloorMethod",
    "FramePlan",
    "NssConfig",
    "NssMethod",
    "RegressorConfig",
    "SharpnessConfig",
    "SharpnessMethod",
    "aggd_fit",
    "analysis_size",
    "bits_per_pixel",
    "brisque_features",
    "decode_grey",
    "difference_features",
    "fit_regressor",
    "ggd_fit",
    "laplacian_variance",
    "mscn",
    "nss_features",
    "plan_frames",
    "rhythm_features",
    "sharpness_statistic",
    "to_grey",
]
