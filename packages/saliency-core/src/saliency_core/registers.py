"""Register tokens for the saliency UNet3D, in the two forms the project compares.

`ConcatRegisters` reproduces the seed code (seed_audit §1.1): a learned constant, projected to
N extra input channels, spatially constant and piecewise-constant over time. It cannot depend
on the input, so its "tokens" are the same for every video.

`AttentionRegisters` is what the papers describe: N learned global tokens that *read* from the
bottleneck features by cross-attention (so they summarise the clip) and that the features then
*read back* (so global context reaches every voxel).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConcatRegisters(nn.Module):
    """The seed's tokens: `Parameter(1, N, D, 1, 1)` -> Conv3d(D -> N) -> N input channels.

    The N projected tokens lie along the time axis and are stretched to T frames with nearest
    interpolation, so frame t sees token slot floor(t * N / T).
    """

    def __init__(self, num_registers: int = 4, token_dim: int = 64) -> None:
        super().__init__()
        self.num_registers = num_registers
        self.tokens = nn.Parameter(torch.empty(1, num_registers, token_dim, 1, 1))
        if not self.tokens.is_meta:  # a meta build (counting parameters) has no values to draw
            nn.init.normal_(self.tokens)
        self.proj = nn.Conv3d(token_dim, num_registers, kernel_size=1)

    @property
    def extra_channels(self) -> int:
        return self.num_registers

    def projected(self, batch: int) -> torch.Tensor:
        """The projected tokens `(B, N channels, N slots, 1, 1)`; identical for every input."""
        tokens = self.tokens.expand(batch, -1, -1, -1, -1).permute(0, 2, 1, 3, 4)
        return self.proj(tokens)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prepend the token channels to `x` `(B, C, T, H, W)`; also return the `(B, N, N)` tokens."""
        proj = self.projected(x.shape[0])
        maps = F.interpolate(proj, size=x.shape[2:], mode="nearest")
        return torch.cat([maps, x], dim=1), proj.flatten(2)


class AttentionRegisters(nn.Module):
    """N learned tokens exchanging information with bottleneck features by cross-attention.

    read:  tokens (queries) attend to all bottleneck voxels (keys/values), then an MLP;
    write: every voxel (query) attends to the updated tokens, projected back and added.
    The write projection starts at zero, so at initialisation the UNet is unchanged and the
    registers grow in only as far as they help.
    """

    def __init__(self, channels: int, num_registers: int = 4, token_dim: int = 64, heads: int = 4) -> None:
        super().__init__()
        if token_dim % heads:
            raise ValueError(f"token_dim={token_dim} must be divisible by attention heads={heads}")
        self.num_registers = num_registers
        self.tokens = nn.Parameter(torch.empty(1, num_registers, token_dim))
        if not self.tokens.is_meta:
            nn.init.normal_(self.tokens, std=0.02)
        # normalise each voxel's channels first: bottleneck activations can be tiny next to a
        # linear layer's bias, which would make the tokens blind to the input
        self.norm_feat = nn.LayerNorm(channels)
        self.feat_in = nn.Linear(channels, token_dim)
        self.norm_tok = nn.LayerNorm(token_dim)
        self.read = nn.MultiheadAttention(token_dim, heads, batch_first=True)
        self.norm_mlp = nn.LayerNorm(token_dim)
        self.mlp = nn.Sequential(
            nn.Linear(token_dim, 2 * token_dim), nn.GELU(), nn.Linear(2 * token_dim, token_dim)
        )
        self.norm_write = nn.LayerNorm(token_dim)
        self.write = nn.MultiheadAttention(token_dim, heads, batch_first=True)
        self.feat_out = nn.Linear(token_dim, channels)
        nn.init.zeros_(self.feat_out.weight)
        nn.init.zeros_(self.feat_out.bias)

    def forward(self, feat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`feat` `(B, C, T, H, W)` -> (updated features, per-video tokens `(B, N, D)`)."""
        b, c, t, h, w = feat.shape
        seq = self.feat_in(self.norm_feat(feat.flatten(2).transpose(1, 2)))  # (B, THW, D)
        tokens = self.tokens.expand(b, -1, -1)
        q = self.norm_tok(tokens)
        tokens = tokens + self.read(q, seq, seq, need_weights=False)[0]
        tokens = tokens + self.mlp(self.norm_mlp(tokens))
        kv = self.norm_write(tokens)
        update = self.write(seq, kv, kv, need_weights=False)[0]  # (B, THW, D)
        update = self.feat_out(update).transpose(1, 2).reshape(b, c, t, h, w)
        return feat + update, tokens
