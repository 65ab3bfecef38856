"""STR-VQA and DAGR-VQA networks: saliency-weighted ResNet frames, a temporal transformer, an MLP head.

Plain `nn.Module`s, no I/O beyond the optional pretrained-weight load, no device logic. The model is
split into a per-frame `spatial` part (saliency weighting, ImageNet normalisation, ResNet trunk, global
average pooling) and a `head` (temporal transformer, fusion, regressor) so that a frozen backbone's
per-frame features can be cached on disk and fed straight to the head.

Fixes relative to the seed code (seed_audit.md §1.5, §2.5, §6): frames are flattened with permute (no
reshape scrambling), ImageNet normalisation is applied, the positional encoding works for any T, and the
DAGR fusion has the right input width (spatial + projected temporal).
"""

from __future__ import annotations

import math
import os
import urllib.error
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models import resnet as resnet_blocks

from dagr_vqa.config import ModelConfig, SaliencyConfig
from vqa_core.errors import ConfigError, WeightsUnavailableError
from vqa_core.rhythm import RhythmStatistics, split_windows
from vqa_core.transforms import local_contrast_normalize

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# torchvision constructor, weight enum, trunk output width
BACKBONES: dict[str, tuple[str, str, int]] = {
    "resnet50": ("resnet50", "ResNet50_Weights", 2048),
    "resnet18": ("resnet18", "ResNet18_Weights", 512),
}


NARROW = "narrow"


def backbone_width(backbone: str | ModelConfig) -> int:
    """Channel width of a backbone's per-frame feature vector (a `ModelConfig` also counts its
    narrow trunk's last width and the pooling: mean+std pooling doubles it)."""
    cfg = backbone if isinstance(backbone, ModelConfig) else None
    name = cfg.backbone if cfg is not None else backbone
    if name == NARROW and cfg is not None:
        width = cfg.trunk_widths[-1]
    elif name in BACKBONES:
        width = BACKBONES[name][2]
    else:
        raise ConfigError(f"unknown backbone {name!r}; choose one of {sorted([*BACKBONES, NARROW])}")
    return width * (2 if cfg is not None and cfg.pool == "meanstd" else 1)


def backbone_identity(cfg: ModelConfig) -> str:
    """A string naming the trunk and its weights, used to key cached features."""
    if cfg.backbone == NARROW:
        return f"{NARROW}:{cfg.trunk_widths}x{cfg.trunk_blocks}:{cfg.pool}:random-init"
    if not cfg.pretrained:
        return f"{cfg.backbone}:random-init"
    if cfg.weights_path:
        p = Path(cfg.weights_path)
        stat = p.stat() if p.exists() else None
        return f"{cfg.backbone}:file:{p.resolve()}:{stat.st_size if stat else 0}:{stat.st_mtime_ns if stat else 0}"
    return f"{cfg.backbone}:{BACKBONES[cfg.backbone][1]}.{cfg.weights}"


def _load_pretrained_state(cfg: ModelConfig) -> dict[str, torch.Tensor]:
    """ImageNet weights for the trunk, from a local file or torchvision's cache/download.

    Offline machines get a `WeightsUnavailableError` that names the weight and the two ways to
    provide it, instead of a bare urllib traceback.
    """
    enum_name = BACKBONES[cfg.backbone][1]
    if cfg.weights_path:
        path = Path(cfg.weights_path)
        if not path.is_file():
            raise WeightsUnavailableError(
                f"weights_path {path} for {cfg.backbone} does not exist; point it at a torchvision "
                f"{enum_name}.{cfg.weights} state dict (.pth) or set pretrained=False"
            )
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise WeightsUnavailableError(
                f"could not read {cfg.backbone} weights from {path}: {exc}"
            ) from exc
    weights_enum = getattr(torchvision.models, enum_name)
    try:
        weights = weights_enum[cfg.weights]
    except KeyError:
        known = [w.name for w in weights_enum]
        raise ConfigError(f"unknown {enum_name} entry {cfg.weights!r}; choose one of {known}") from None
    try:
        return weights.get_state_dict(progress=False)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        filename = os.path.basename(weights.url)
        cache = Path(torch.hub.get_dir()) / "checkpoints" / filename
        raise WeightsUnavailableError(
            f"torchvision weights {enum_name}.{weights.name} are not cached at {cache} and could not be "
            f"downloaded from {weights.url} ({exc}). Either copy {filename} into "
            f"$TORCH_HOME/hub/checkpoints/ (TORCH_HOME is {os.environ.get('TORCH_HOME', '~/.cache/torch')}), "
            "or set the model option weights_path to a local copy, or use pretrained=False."
        ) from exc


def narrow_resnet_trunk(widths: list[int], blocks: list[int]) -> nn.Sequential:
    """A ResNet-18-style trunk at any width, from torchvision's `BasicBlock`: ResNet's stem
    (7x7/2 conv, BN, ReLU, 3x3/2 max pool) at `widths[0]` channels, then one stage of
    `blocks[i]` BasicBlocks per width, stride 2 from the second stage, and ResNet's init.

    torchvision's `ResNet` fixes its widths at 64-512; at 16-128 the same design runs end to end
    on a CPU at native frame resolution, where a frozen random ResNet-18 only sees content.
    """
    stem = widths[0]
    layers: list[nn.Module] = [
        nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False),
        nn.BatchNorm2d(stem),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(kernel_size=3, stride=2, padding=1),
    ]
    in_ch = stem
    for i, (width, count) in enumerate(zip(widths, blocks)):
        stage = []
        for j in range(count):
            stride = 2 if i > 0 and j == 0 else 1
            down = None
            if stride != 1 or in_ch != width:
                down = nn.Sequential(resnet_blocks.conv1x1(in_ch, width, stride), nn.BatchNorm2d(width))
            stage.append(resnet_blocks.BasicBlock(in_ch, width, stride, down))
            in_ch = width
        layers.append(nn.Sequential(*stage))
    trunk = nn.Sequential(*layers)
    for m in trunk.modules():  # torchvision ResNet's initialisation
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return trunk


def resnet_trunk(cfg: ModelConfig) -> nn.Sequential:
    """The trunk of `cfg` without pooling or classifier (feature map out): a torchvision ResNet,
    or the narrow ResNet built from its blocks."""
    if cfg.backbone == NARROW:
        return narrow_resnet_trunk(list(cfg.trunk_widths), list(cfg.trunk_blocks))
    ctor_name = BACKBONES[cfg.backbone][0] if cfg.backbone in BACKBONES else None
    if ctor_name is None:
        backbone_width(cfg.backbone)  # raises with the list of choices
    net = getattr(torchvision.models, ctor_name)(weights=None)
    if cfg.pretrained:
        net.load_state_dict(_load_pretrained_state(cfg))
    return nn.Sequential(*list(net.children())[:-2])


def saliency_weights(
    maps: torch.Tensor, remap: str = "max", floor: float = 0.1, eps: float = 1e-6
) -> torch.Tensor:
    """Per-pixel weights w from saliency maps s in [0, 1], shape (..., H, W).

    `max`: w = s / max(s) per map, the likely intent of the papers. `seed`: the seeds' accidental
    Normalize(0.5, 0.5) remap, w = (2s-1) / max(2s-1) (seed_audit.md §1.4). Both are clamped at
    `floor`. A map with no positive value carries no attention information, so it gives w = 1.
    """
    if remap == "max":
        s = maps
    elif remap == "seed":
        s = 2.0 * maps - 1.0
    else:
        raise ConfigError(f"unknown saliency remap {remap!r}; choose 'max' or 'seed'")
    peak = s.flatten(-2).amax(-1)[..., None, None]
    w = (s / peak.clamp_min(eps)).clamp_min(floor)
    return torch.where(peak > eps, w, torch.ones_like(w))


class SaliencyWeighting(nn.Module):
    """x' = (1 - a) x + a x w: attenuates non-salient pixels before the CNN (the seeds' fusion (i))."""

    def __init__(self, cfg: SaliencyConfig) -> None:
        super().__init__()
        self.alpha = cfg.alpha
        self.floor = cfg.floor
        self.remap = cfg.remap

    def forward(self, frames: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        if maps.shape[:2] != frames.shape[:2] or maps.shape[-2:] != frames.shape[-2:]:
            raise ValueError(
                f"saliency maps {tuple(maps.shape)} do not match frames {tuple(frames.shape)}; "
                "expected maps (B, T, H, W) for frames (B, T, 3, H, W)"
            )
        w = saliency_weights(maps.to(frames.dtype), self.remap, self.floor).unsqueeze(2)
        return (1.0 - self.alpha) * frames + self.alpha * frames * w


class SpatialFeatures(nn.Module):
    """Frames (B, T, 3, H, W) in [0, 1] (+ maps) -> per-frame pooled features (B, T, C)."""

    def __init__(self, model_cfg: ModelConfig, saliency_cfg: SaliencyConfig) -> None:
        super().__init__()
        self.weighting = SaliencyWeighting(saliency_cfg) if saliency_cfg.enabled else None
        self.trunk = resnet_trunk(model_cfg)
        self.channels_last = model_cfg.channels_last
        if self.channels_last:  # weights in NHWC too (what cuDNN wants; `.to(device)` keeps it)
            self.trunk.to(memory_format=torch.channels_last)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.pool = model_cfg.pool
        self.input_norm = model_cfg.input_norm
        self.out_dim = backbone_width(model_cfg)

    def forward(self, frames: torch.Tensor, maps: torch.Tensor | None = None) -> torch.Tensor:
        if frames.dim() != 5 or frames.shape[2] != 3:
            raise ValueError(f"frames must be (B, T, 3, H, W), got {tuple(frames.shape)}")
        if self.weighting is not None and maps is None:
            raise ValueError("this model weights frames by saliency; pass maps (B, T, H, W)")
        if self.input_norm == "mscn":
            # weight the coefficients, not the pixels: MSCN would divide a pixel weighting back out
            frames = local_contrast_normalize(frames)
        if self.weighting is not None:
            frames = self.weighting(frames, maps)
        b, t = frames.shape[:2]
        x = frames.flatten(0, 1)  # (B*T, 3, H, W): batch and time are adjacent, no permute needed
        if self.input_norm == "imagenet":
            x = (x - self.mean) / self.std
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.trunk(x)
        pooled = x.mean(dim=(-2, -1))
        if self.pool == "meanstd":  # the spread of the features over the frame: how uneven the artefacts are
            # population std (correction=0): defined for a 1x1 map too, where the sample std is NaN
            pooled = torch.cat([pooled, x.flatten(-2).std(dim=-1, correction=0)], dim=-1)
        return pooled.view(b, t, -1)


def sinusoidal_encoding(length: int, dim: int, device: torch.device | None = None) -> torch.Tensor:
    """The Transformer paper's fixed positional encoding, (length, dim), for any length."""
    pos = torch.arange(length, dtype=torch.float32, device=device).unsqueeze(1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32, device=device) * (-math.log(10000.0) / dim))
    pe = torch.zeros(length, dim, device=device)
    pe[:, 0::2] = torch.sin(pos * freq)
    pe[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return pe


class TemporalTransformer(nn.Module):
    """(B, T, C) -> (B, D): optional projection, sinusoidal PE, post-norm TransformerEncoder, mean over T."""

    def __init__(self, in_dim: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.out_dim = cfg.temporal_dim or in_dim
        if self.out_dim % cfg.heads:
            raise ConfigError(f"temporal width {self.out_dim} is not divisible by heads={cfg.heads}")
        self.proj = nn.Linear(in_dim, self.out_dim) if cfg.temporal_dim else nn.Identity()
        layer = nn.TransformerEncoderLayer(
            d_model=self.out_dim,
            nhead=cfg.heads,
            dim_feedforward=cfg.ff_dim,
            dropout=cfg.dropout,
            batch_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, num_layers=cfg.layers, enable_nested_tensor=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        x = x + sinusoidal_encoding(x.shape[1], x.shape[2], x.device).to(x.dtype)
        return self.encoder(x).mean(dim=1)


class QualityRegressor(nn.Module):
    """MLP in -> hidden... -> 1 with ReLU and dropout, Xavier-uniform weights and zero biases (as the seeds)."""

    def __init__(self, in_dim: int, hidden: tuple[int, ...], dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(in_dim, width), nn.ReLU(inplace=True), nn.Dropout(dropout)]
            in_dim = width
        layers.append(nn.Linear(in_dim, 1))
        self.mlp = nn.Sequential(*layers)
        for m in self.mlp:
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x).squeeze(-1)


class QualityHead(nn.Module):
    """Per-frame features (B, T, C) -> score (B,): concat[mean_T(x), temporal(x)] -> fusion -> regressor.

    With `cfg.layers == 0` there is no temporal branch: mean_T(x) -> fusion -> regressor, the
    spatial-only model DAGR-VQA's seed actually trains on LSVQ (`VideoQualityModelSpatialOnly`,
    seed_audit §2.5), kept as an option because its published LSVQ numbers come from it.
    """

    def __init__(self, in_dim: int, cfg: ModelConfig) -> None:
        super().__init__()
        self.temporal = TemporalTransformer(in_dim, cfg) if cfg.layers > 0 else None
        temporal_dim = self.temporal.out_dim if self.temporal is not None else 0
        self.fusion = nn.Linear(in_dim + temporal_dim, cfg.fusion_dim)
        self.regressor = QualityRegressor(cfg.fusion_dim, tuple(cfg.regressor_hidden), cfg.dropout)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        fused = features.mean(dim=1)
        if self.temporal is not None:
            fused = torch.cat([fused, self.temporal(features)], dim=-1)
        return self.regressor(self.fusion(fused))


class SaliencyVQA(nn.Module):
    """STR-VQA / DAGR-VQA: forward(frames (B, T, 3, H, W) in [0, 1], maps (B, T, H, W) or None) -> (B,).

    With `model_cfg.rhythm_window = w >= 2`, `frames` holds w consecutive frames per sampled
    position, (B, T*w, 3, H, W) window after window, and `maps` those of each window's first
    frame: the trunk sees the first frames, `vqa_core.rhythm.RhythmStatistics` the whole windows.
    """

    def __init__(self, model_cfg: ModelConfig, saliency_cfg: SaliencyConfig) -> None:
        super().__init__()
        self.spatial = SpatialFeatures(model_cfg, saliency_cfg)
        window = model_cfg.rhythm_window
        self.rhythm = RhythmStatistics(window) if window > 1 else None
        extra = self.rhythm.out_dim if self.rhythm is not None else 0
        self.head = QualityHead(self.spatial.out_dim + extra, model_cfg)
        self.trunk_frozen = False

    def freeze_trunk(self) -> SaliencyVQA:
        """Frozen-backbone mode: no gradients into the trunk, and its BatchNorm statistics stay fixed."""
        self.trunk_frozen = True
        self.spatial.requires_grad_(False)
        self.spatial.eval()
        return self

    def train(self, mode: bool = True) -> SaliencyVQA:
        super().train(mode)
        if self.trunk_frozen:
            self.spatial.eval()
        return self

    def forward(self, frames: torch.Tensor, maps: torch.Tensor | None = None) -> torch.Tensor:
        if self.rhythm is None:
            return self.head(self.spatial(frames, maps))
        windows = split_windows(frames, self.rhythm.window)
        features = self.spatial(windows[:, :, 0], maps)
        return self.head(torch.cat([features, self.rhythm(windows).to(features.dtype)], dim=-1))


def build_from_config(model_cfg: ModelConfig, saliency_cfg: SaliencyConfig) -> SaliencyVQA:
    """The network a config describes."""
    return SaliencyVQA(model_cfg, saliency_cfg)
