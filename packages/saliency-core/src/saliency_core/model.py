"""`SaliencyUNet3D`: the video saliency network shared by STR-VQA, DAGR-VQA and SC-VQA.

Architecture as in the seeds (seed_audit §1.1): five conv blocks (Conv3d-BN-ReLU twice) with
MaxPool3d(k=2, s=2, p=1) between encoder stages (a size n becomes floor(n/2)+1, so any T, H, W
including 1 and odd sizes work), a per-voxel sigmoid channel gate at the bottleneck, and a
skip-connected decoder. Deliberate change: the decoder upsamples by trilinear interpolation to
the skip's size instead of the seeds' adaptive average pooling (which replicated values and
hid the upsampling). Output: raw logits `(B, 1, T, H, W)`; apply sigmoid for maps.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from saliency_core.config import REGISTER_MODES, ModelConfig
from saliency_core.registers import AttentionRegisters, ConcatRegisters


def conv_block(cin: int, cout: int) -> nn.Sequential:
    """[Conv3d 3x3x3 -> BatchNorm3d -> ReLU] x 2, the UNet3D's unit."""
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel_size=3, padding=1),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
        nn.Conv3d(cout, cout, kernel_size=3, padding=1),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
    )


class SaliencyUNet3D(nn.Module):
    """UNet3D saliency model with optional register tokens (`none` | `concat` | `attention`)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if config.registers not in REGISTER_MODES:
            raise ValueError(f"registers={config.registers!r}; choose one of {', '.join(REGISTER_MODES)}")
        if len(config.channels) != 5:
            raise ValueError(f"channels must list 5 widths (4 encoder stages + bottleneck), got {config.channels}")
        self.config = config
        c1, c2, c3, c4, c5 = config.channels
        self.concat_registers = (
            ConcatRegisters(config.num_registers, config.token_dim) if config.registers == "concat" else None
        )
        extra = config.num_registers if self.concat_registers is not None else 0
        self.enc1 = conv_block(3 + extra, c1)
        self.enc2 = conv_block(c1, c2)
        self.enc3 = conv_block(c2, c3)
        self.enc4 = conv_block(c3, c4)
        self.pool = nn.MaxPool3d(kernel_size=2, stride=2, padding=1)
        self.bottleneck = conv_block(c4, c5)
        self.gate = nn.Sequential(nn.Conv3d(c5, c5, 1), nn.ReLU(inplace=True), nn.Conv3d(c5, c5, 1), nn.Sigmoid())
        self.attention_registers = (
            AttentionRegisters(c5, config.num_registers, config.token_dim, config.attention_heads)
            if config.registers == "attention"
            else None
        )
        self.dec4 = conv_block(c5 + c4, c4)
        self.dec3 = conv_block(c4 + c3, c3)
        self.dec2 = conv_block(c3 + c2, c2)
        self.dec1 = conv_block(c2 + c1, c1)
        self.head = nn.Conv3d(c1, 1, kernel_size=1)

    @staticmethod
    def _up_cat(x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[2:], mode="trilinear", align_corners=False)
        return torch.cat([x, skip], dim=1)

    def forward(
        self, x: torch.Tensor, return_tokens: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor | None]:
        """`x` `(B, 3, T, H, W)` in [0, 1] -> logits `(B, 1, T, H, W)` (and tokens if asked).

        Tokens: `attention` gives `(B, N, D)` computed from the clip; `concat` gives the seed's
        `(B, N, N)` constant; `none` gives None.
        """
        if x.dim() != 5 or x.shape[1] != 3:
            raise ValueError(
                f"expected (B, 3, T, H, W) input, got {tuple(x.shape)}; "
                "convert (B, T, 3, H, W) with saliency_core.frames_to_channels_first"
            )
        size = x.shape[2:]
        tokens = None
        if self.concat_registers is not None:
            x, tokens = self.concat_registers(x)
        e1 = self.enc1(x)
        e2 = self.enc2(self.pool(e1))
        e3 = self.enc3(self.pool(e2))
        e4 = self.enc4(self.pool(e3))
        b = self.bottleneck(self.pool(e4))
        b = b * self.gate(b)
        if self.attention_registers is not None:
            b, tokens = self.attention_registers(b)
        d = self.dec4(self._up_cat(b, e4))
        d = self.dec3(self._up_cat(d, e3))
        d = self.dec2(self._up_cat(d, e2))
        d = self.dec1(self._up_cat(d, e1))
        if d.shape[2:] != size:
            d = F.interpolate(d, size=size, mode="trilinear", align_corners=False)
        logits = self.head(d)
        return (logits, tokens) if return_tokens else logits


def build_model(
    size: str = "small", registers: str = "attention", num_registers: int = 4, **overrides: object
) -> SaliencyUNet3D:
    """A `SaliencyUNet3D` of a preset size (`tiny` | `small` | `full`) with the chosen registers."""
    from dataclasses import replace

    from saliency_core.config import model_preset

    config = replace(model_preset(size), registers=registers, num_registers=num_registers, **overrides)
    return SaliencyUNet3D(config)
