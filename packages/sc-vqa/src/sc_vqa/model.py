"""SC-VQA network: saliency-fused frames -> conv / LSTM / temporal-attention encoder -> regressor.

Plain `nn.Module`s: no I/O, no device logic. The encoder produces the embedding that the NT-Xent
term compares between two augmented views; the regressor scores it. The seed's version never ran
(seed_audit.md §3.3: a 3-channel conv fed 4-channel data, views unpacked with the wrong axes); here
the per-frame conv takes RGB plus the saliency map as a 4th channel (or RGB weighted by the map),
frames are flattened batch-and-time without scrambling, and the LSTM reads the frames in order.
"""

from __future__ import annotations

import torch
from torch import nn

from sc_vqa.config import ModelConfig, SaliencyConfig, ScConfig
from vqa_core.rhythm import RhythmStatistics, split_windows
from vqa_core.transforms import local_contrast_normalize, normalize


def saliency_weights(maps: torch.Tensor, floor: float = 0.1, eps: float = 1e-6) -> torch.Tensor:
    """Per-pixel weights w = max(s / max(s), floor) per map, shape (..., H, W).

    A map with no positive value carries no attention information, so it gives w = 1.
    """
    peak = maps.flatten(-2).amax(-1)[..., None, None]
    w = (maps / peak.clamp_min(eps)).clamp_min(floor)
    return torch.where(peak > eps, w, torch.ones_like(w))


class SaliencyFusion(nn.Module):
    """Frames (B, T, 3, H, W) in [0, 1] and maps (B, T, H, W) -> network input (B, T, C, H, W).

    `channel`: standardised RGB with the map appended as a 4th channel (scaled to [-1, 1]).
    `weight`: RGB blended with the map, x' = (1 - alpha) x + alpha x w, then standardised.
    Disabled saliency passes standardised RGB only.
    """

    def __init__(self, saliency: SaliencyConfig, input_norm: str = "imagenet") -> None:
        super().__init__()
        self.enabled = saliency.enabled
        self.fusion = saliency.fusion
        self.alpha = saliency.alpha
        self.floor = saliency.floor
        self.input_norm = input_norm

    @property
    def out_channels(self) -> int:
        return 4 if self.enabled and self.fusion == "channel" else 3

    def forward(self, frames: torch.Tensor, maps: torch.Tensor | None = None) -> torch.Tensor:
        if frames.dim() != 5 or frames.shape[2] != 3:
            raise ValueError(f"frames must be (B, T, 3, H, W) in [0, 1], got {tuple(frames.shape)}")
        if self.enabled:
            if maps is None:
                raise ValueError("this model uses saliency; pass maps (B, T, H, W) aligned with the frames")
            if maps.shape[:2] != frames.shape[:2] or maps.shape[-2:] != frames.shape[-2:]:
                raise ValueError(
                    f"saliency maps {tuple(maps.shape)} do not match frames {tuple(frames.shape)}; "
                    "expected maps (B, T, H, W) for frames (B, T, 3, H, W)"
                )
            maps = maps.to(frames.dtype)
        if self.input_norm == "mscn":
            # weight the coefficients, not the pixels: MSCN would divide a pixel weighting back out
            frames = local_contrast_normalize(frames)
        if self.enabled and self.fusion == "weight":
            w = saliency_weights(maps, self.floor).unsqueeze(2)
            frames = (1.0 - self.alpha) * frames + self.alpha * frames * w
        x = normalize(frames, "imagenet") if self.input_norm == "imagenet" else frames
        if self.enabled and self.fusion == "channel":
            s = maps.unsqueeze(2)
            x = torch.cat([x, s if self.input_norm == "none" else 2.0 * s - 1.0], dim=2)
        return x


class FrameFeatures(nn.Module):
    """Per frame: Conv2d(C -> K, 3x3) + BN + ReLU + adaptive average pool to P x P, flattened (K*P*P)."""

    def __init__(self, in_channels: int, channels: int, pool_size: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, channels, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(channels)
        self.pool = nn.AdaptiveAvgPool2d(pool_size)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out", nonlinearity="relu")
        nn.init.zeros_(self.conv.bias)
        self.out_dim = channels * pool_size * pool_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t = x.shape[:2]
        y = self.pool(torch.relu(self.bn(self.conv(x.flatten(0, 1)))))
        return y.reshape(b, t, -1)


class TemporalAttentionPool(nn.Module):
    """(B, T, D) -> (B, D): softmax over T of a learned linear score, then the weighted sum."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def weights(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.score(x).squeeze(-1), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bt,btd->bd", self.weights(x), x)


class ClipEncoder(nn.Module):
    """The seed's LSTMTemporalAttention: input (B, T, C, H, W) -> embedding (B, embed_dim).

    `extra_dim` per-frame numbers (B, T, extra_dim) may join the conv features before the LSTM.
    """

    def __init__(self, in_channels: int, cfg: ModelConfig, extra_dim: int = 0) -> None:
        super().__init__()
        self.frames = FrameFeatures(in_channels, cfg.conv_channels, cfg.pool_size)
        self.lstm = nn.LSTM(self.frames.out_dim + extra_dim, cfg.hidden, num_layers=1, batch_first=True)
        for name, p in self.lstm.named_parameters():
            if name.startswith("weight"):
                nn.init.xavier_uniform_(p)
            else:
                nn.init.zeros_(p)
        self.attention = TemporalAttentionPool(cfg.hidden)
        self.dropout = nn.Dropout(cfg.dropout)
        self.embed = nn.Linear(cfg.hidden, cfg.embed_dim)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        features = self.frames(x)
        if extra is not None:
            features = torch.cat([features, extra.to(features.dtype)], dim=-1)
        h, _ = self.lstm(features)
        return self.embed(self.dropout(self.attention(h)))


class QualityRegressor(nn.Module):
    """Embedding -> score: Linear/ReLU per hidden width, dropout after the last hidden layer (seed 128-64-32-1)."""

    def __init__(self, in_dim: int, hidden: list[int] | tuple[int, ...], dropout: float) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for width in hidden:
            layers += [nn.Linear(in_dim, width), nn.ReLU(inplace=True)]
            in_dim = width
        if hidden:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(in_dim, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.mlp(z).squeeze(-1)


class ScVQA(nn.Module):
    """SC-VQA: forward(frames (B, T, 3, H, W) in [0, 1], maps (B, T, H, W) or None) -> scores (B,).

    `embed` gives the (B, embed_dim) embedding the contrastive term works on; `regress` scores an
    embedding (training regresses the mean of the two views' embeddings).

    With `model_cfg.rhythm_window = w >= 2`, `frames` holds w consecutive frames per sampled
    position, (B, T*w, 3, H, W) window after window, and `maps` those of each window's first
    frame: the conv reads the first frames, `vqa_core.rhythm.RhythmStatistics` the whole windows.
    """

    def __init__(self, model_cfg: ModelConfig, saliency_cfg: SaliencyConfig) -> None:
        super().__init__()
        self.fusion = SaliencyFusion(saliency_cfg, model_cfg.input_norm)
        window = model_cfg.rhythm_window
        self.rhythm = RhythmStatistics(window) if window > 1 else None
        extra = self.rhythm.out_dim if self.rhythm is not None else 0
        self.encoder = ClipEncoder(self.fusion.out_channels, model_cfg, extra)
        self.regressor = QualityRegressor(
            model_cfg.embed_dim, model_cfg.regressor_hidden, model_cfg.regressor_dropout
        )

    def embed(self, frames: torch.Tensor, maps: torch.Tensor | None = None) -> torch.Tensor:
        if self.rhythm is None:
            return self.encoder(self.fusion(frames, maps))
        windows = split_windows(frames, self.rhythm.window)
        return self.encoder(self.fusion(windows[:, :, 0], maps), self.rhythm(windows))

    def regress(self, z: torch.Tensor) -> torch.Tensor:
        return self.regressor(z)

    def forward(
        self, frames: torch.Tensor, maps: torch.Tensor | None = None, two_views: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Scores (B,), or with `two_views` (frames (B, 2, T, 3, H, W), maps (B, 2, T, H, W)) the
        training triple (score of the mean embedding (B,), z_view1 (B, D), z_view2 (B, D)).

        Both views go through the encoder as one batch of 2B clips, so BatchNorm sees both, and
        the training pass stays a single `forward` call (what DDP's gradient hooks need).
        """
        if not two_views:
            return self.regress(self.embed(frames, maps))
        if frames.dim() != 6 or frames.shape[1] != 2:
            raise ValueError(f"two_views expects frames (B, 2, T, 3, H, W), got {tuple(frames.shape)}")
        b = frames.shape[0]
        views = frames.transpose(0, 1).flatten(0, 1)  # (2B, T, 3, H, W): view 1 items, then view 2
        view_maps = maps.transpose(0, 1).flatten(0, 1) if maps is not None else None
        z = self.embed(views, view_maps)
        z1, z2 = z[:b], z[b:]
        return self.regress((z1 + z2) / 2), z1, z2


def build_from_config(cfg: ScConfig) -> ScVQA:
    """The network a config describes."""
    return ScVQA(cfg.model, cfg.saliency)
