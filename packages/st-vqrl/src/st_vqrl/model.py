"""The ST-VQRL networks: a Video Swin trunk with FAST-VQA's gated fragment bias, and its heads.

The trunk is torchvision's `SwinTransformer3d` (the class behind `swin3d_t`), not a vendored
copy. FAST-VQA's one architectural change, the *gated relative position bias* (GRPB), is
added by swapping the attention module of every block in stages 1-3 for
`FragmentBiasAttention`, a subclass of torchvision's `ShiftedWindowAttention3d` that only
changes how the bias is computed: pairs of tokens inside one spatial fragment use an extra
table (`fragment_position_bias_table`), pairs across fragments the ordinary one. Fragments
are spliced side by side in the 224x224 mosaic, so without the gate the ordinary bias would
treat two unrelated patches as neighbours.

Output: `(B, C, T/2, H/32, W/32)` tokens (torchvision returns channels-last features; they are
permuted here), e.g. `(B, 768, 16, 7, 7)` for a `(B, 3, 32, 224, 224)` clip with size `full`.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from torchvision.models.video.swin_transformer import (
    ShiftedWindowAttention3d,
    SwinTransformer3d,
    _compute_pad_size_3d,
    _get_relative_position_bias,
    _get_window_and_shift_size,
    shifted_window_attention_3d,
)

from st_vqrl.config import BACKBONE_SIZES
from vqa_core.errors import ConfigError, WeightsUnavailableError

__all__ = [
    "FragmentBiasAttention",
    "FragmentSwin3d",
    "ProjectionHead",
    "VQAHead",
    "build_backbone",
    "count_parameters",
    "kinetics_state_dict",
]

KINETICS_WEIGHTS = "torchvision.models.video.Swin3D_T_Weights.KINETICS400_V1"
# Largest tiled attention bias (elements) built at once: 16M floats = 64 MB.
_BIAS_BUDGET = 16 * 2**20


class FragmentBiasAttention(ShiftedWindowAttention3d):
    """Shifted-window 3D attention whose position bias is gated by fragment membership.

    `fragments` is the spatial fragment grid (7x7 for FAST-VQA); a token's fragment is found
    by nearest-neighbour scaling of that grid onto the (padded) token map, as FAST-VQA does.
    `gate="same_fragment"`: fragment table inside a fragment, ordinary table across.
    `gate="fastvqa"`: FAST-VQA's code, `rel * g + frag * (1 - g)` with g the L1 distance
    between the fragments' grid positions (so far-apart fragments get a scaled-up bias).
    The gate is a function of geometry only and is cached per (size, window, shift, device).
    """

    def __init__(
        self,
        dim: int,
        window_size: list[int],
        shift_size: list[int],
        num_heads: int,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        attention_dropout: float = 0.0,
        dropout: float = 0.0,
        fragments: tuple[int, int] = (7, 7),
        gate: str = "same_fragment",
    ) -> None:
        super().__init__(
            dim, window_size, shift_size, num_heads, qkv_bias, proj_bias, attention_dropout, dropout
        )
        if gate not in ("same_fragment", "fastvqa"):
            raise ConfigError(f"fragment bias gate {gate!r} must be 'same_fragment' or 'fastvqa'")
        self.fragments = (int(fragments[0]), int(fragments[1]))
        self.gate = gate
        self.fragment_position_bias_table = nn.Parameter(self.relative_position_bias_table.detach().clone())
        self._gates: dict[tuple, Tensor] = {}

    @classmethod
    def replacing(
        cls, attn: ShiftedWindowAttention3d, fragments: tuple[int, int], gate: str
    ) -> FragmentBiasAttention:
        """A drop-in replacement for `attn` with the same weights; the fragment table starts as a
        copy of the ordinary table, so the block computes exactly what it did before."""
        new = cls(
            attn.qkv.in_features,
            list(attn.window_size),
            list(attn.shift_size),
            attn.num_heads,
            qkv_bias=attn.qkv.bias is not None,
            proj_bias=attn.proj.bias is not None,
            attention_dropout=attn.attention_dropout,
            dropout=attn.dropout,
            fragments=fragments,
            gate=gate,
        )
        missing, unexpected = new.load_state_dict(attn.state_dict(), strict=False)
        assert missing == ["fragment_position_bias_table"] and not unexpected, (missing, unexpected)
        with torch.no_grad():
            new.fragment_position_bias_table.copy_(new.relative_position_bias_table)
        return new

    def fragment_gate(
        self, size_dhw: tuple[int, int, int], window_size: list[int], shift_size: list[int], device: torch.device
    ) -> Tensor:
        """(num_windows, 1, N, N) float: 0 where query and key share a fragment (see `gate`)."""
        key = (tuple(size_dhw), tuple(window_size), tuple(shift_size), str(device))
        cached = self._gates.get(key)
        if cached is not None:
            return cached
        pad = _compute_pad_size_3d(size_dhw, tuple(window_size))
        tp, hp, wp = (s + p for s, p in zip(size_dhw, pad))
        rows = torch.arange(hp) * self.fragments[0] // hp  # nearest-neighbour grid -> token map
        cols = torch.arange(wp) * self.fragments[1] // wp
        coords = torch.stack(torch.meshgrid(rows, cols, indexing="ij"), dim=-1)  # (Hp, Wp, 2)
        coords = coords[None].expand(tp, hp, wp, 2)
        if sum(shift_size) > 0:
            coords = torch.roll(coords, shifts=(-shift_size[0], -shift_size[1], -shift_size[2]), dims=(0, 1, 2))
        wd, wh, ww = window_size
        windows = (
            coords.reshape(tp // wd, wd, hp // wh, wh, wp // ww, ww, 2)
            .permute(0, 2, 4, 1, 3, 5, 6)
            .reshape(-1, wd * wh * ww, 2)
        )
        dist = (windows[:, :, None, :] - windows[:, None, :, :]).abs().sum(-1)
        gate = (dist > 0).float() if self.gate == "same_fragment" else dist.float()
        gate = gate.unsqueeze(1).to(device)
        self._gates[key] = gate
        return gate

    def forward(self, x: Tensor) -> Tensor:
        b, t, h, w, _ = x.shape
        window_size, shift_size = _get_window_and_shift_size(
            self.shift_size.copy(), [t, h, w], self.window_size.copy()
        )
        rel = self.get_relative_position_bias(window_size)  # (1, heads, N, N)
        frag = _get_relative_position_bias(self.fragment_position_bias_table, self.relative_position_index, window_size)
        gate = self.fragment_gate((t, h, w), window_size, shift_size, x.device)  # (windows, 1, N, N)
        bias = rel * gate + frag * (1 - gate)  # (windows, heads, N, N): one bias per window
        # torchvision adds the bias to (B * windows, heads, N, N) scores, so a per-window bias
        # is tiled over the clips of a chunk; chunks bound the tiled copy's memory.
        per_clip = bias.numel()
        chunk = max(1, min(b, _BIAS_BUDGET // max(per_clip, 1)))
        outs = []
        for start in range(0, b, chunk):
            part = x[start : start + chunk]
            tiled = bias.repeat(part.shape[0], 1, 1, 1) if part.shape[0] > 1 else bias
            outs.append(
                shifted_window_attention_3d(
                    part,
                    self.qkv.weight,
                    self.proj.weight,
                    tiled,
                    window_size,
                    self.num_heads,
                    shift_size=shift_size,
                    attention_dropout=self.attention_dropout,
                    dropout=self.dropout,
                    qkv_bias=self.qkv.bias,
                    proj_bias=self.proj.bias,
                    training=self.training,
                )
            )
        return torch.cat(outs, dim=0)


class FragmentSwin3d(SwinTransformer3d):
    """torchvision's SwinTransformer3d as a token extractor: no pooling, no classifier.

    `forward((B, 3, T, H, W))` returns `(B, C, T/2, H/32, W/32)`; the parameter names are
    torchvision's (`patch_embed.proj`, `features.{2i}.{j}.attn...`, `features.{2i+1}.reduction`,
    `norm`), so torchvision's Kinetics-400 weights load directly.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(num_classes=1, **kwargs)
        del self.head
        del self.avgpool
        self.size_name = ""

    @property
    def out_channels(self) -> int:
        return int(self.num_features)

    def add_fragment_bias(self, stages: tuple[int, ...] = (0, 1, 2), fragments=(7, 7), gate="same_fragment"):
        """Swap the attention of every block in `stages` (0-based) for `FragmentBiasAttention`."""
        for stage in stages:
            for block in self.features[2 * stage]:
                block.attn = FragmentBiasAttention.replacing(block.attn, fragments, gate)
        return self

    def forward(self, x: Tensor) -> Tensor:
        return self.forward_stages(x)[0]

    def forward_stages(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Tokens `(B, C, T/2, H/32, W/32)` and per-stage statistics `(B, 2 * sum(stage widths))`:
        the mean and standard deviation over positions of each stage's output. Early stages see
        pixels at 4-8x finer scale than the tokens, where blur, blocking and noise live."""
        if x.ndim != 5 or x.shape[1] != 3:
            raise ValueError(f"expected a clip batch (B, 3, T, H, W), got shape {tuple(x.shape)}")
        x = self.patch_embed(x)  # (B, T', H', W', C)
        x = self.pos_drop(x)
        stats = []
        for i, module in enumerate(self.features):
            x = module(x)
            if i % 2 == 0:  # a stage of blocks (odd modules are patch mergings)
                flat = x.flatten(1, 3)
                stats += [flat.mean(1), flat.std(1)]
        x = self.norm(x)
        return x.permute(0, 4, 1, 2, 3).contiguous(), torch.cat(stats, 1)


def kinetics_state_dict(weights_path: str | Path | None = None) -> dict[str, Tensor]:
    """torchvision's Kinetics-400 Swin3D-T weights, from `weights_path` or torch hub's cache/download.

    Offline without a cached copy this raises `WeightsUnavailableError` saying where to put the file.
    """
    from torchvision.models.video import Swin3D_T_Weights

    weights = Swin3D_T_Weights.KINETICS400_V1
    if weights_path:
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise WeightsUnavailableError(f"{KINETICS_WEIGHTS}: weights file {path} does not exist")
        try:
            return torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise WeightsUnavailableError(f"{KINETICS_WEIGHTS}: cannot read {path}: {err}") from err
    try:
        return weights.get_state_dict(progress=False, check_hash=True)
    except Exception as err:  # URLError, HTTPError, OSError, hash mismatch: all mean "not available"
        hub = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise WeightsUnavailableError(
            f"cannot load {KINETICS_WEIGHTS} ({weights.url}): {err}. Offline, download that file "
            f"elsewhere and put it at {hub}, or set backbone.weights_path to its location; "
            "or use backbone.pretrained=false (random init)"
        ) from err


def build_backbone(
    size: str = "full",
    pretrained: bool = False,
    frag_bias: bool = True,
    *,
    frag_gate: str = "same_fragment",
    fragments: tuple[int, int] = (7, 7),
    drop_path: float = 0.1,
    weights_path: str | Path | None = None,
) -> FragmentSwin3d:
    """The ST-VQRL trunk: Swin3D (`full` = swin3d_t) with FAST-VQA's fragment bias in stages 1-3.

    `pretrained=True` loads torchvision's Kinetics-400 weights (size `full` only) before the
    fragment tables are added, so those start as copies of the pretrained ordinary tables.
    """
    if size not in BACKBONE_SIZES:
        raise ConfigError(f"unknown backbone size {size!r}; choose one of {sorted(BACKBONE_SIZES)}")
    spec = BACKBONE_SIZES[size]
    state = None
    if pretrained:  # fetch first: an offline machine fails before building anything
        if size != "full":
            raise ConfigError(f"Kinetics-400 weights exist for size 'full' (Swin3D-T) only, not {size!r}")
        state = {k: v for k, v in kinetics_state_dict(weights_path).items() if not k.startswith("head.")}
    kwargs = dict(
        patch_size=[2, 4, 4],
        embed_dim=int(spec["embed_dim"]),
        depths=list(spec["depths"]),
        num_heads=list(spec["num_heads"]),
        window_size=list(spec["window"]),
        stochastic_depth_prob=float(drop_path),
        norm_layer=partial(nn.LayerNorm, eps=1e-5),
    )
    if state is None:
        model = FragmentSwin3d(**kwargs)
    else:  # no point initialising 28M weights that are overwritten: build on meta, assign the loaded ones
        with torch.device("meta"):
            model = FragmentSwin3d(**kwargs)
        model.load_state_dict(state, strict=True, assign=True)
    model.size_name = size
    if frag_bias:
        model.add_fragment_bias(fragments=fragments, gate=frag_gate)
    return model


class VQAHead(nn.Module):
    """FAST-VQA's head: a local quality map from tokens; the clip score is the map's mean.

    Dropout -> Conv3d(C, hidden, 1) -> GELU -> Dropout -> Conv3d(hidden, 1, 1).
    """

    def __init__(self, in_channels: int = 768, hidden_channels: int = 64, dropout: float = 0.5) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Dropout(dropout),
            nn.Conv3d(in_channels, hidden_channels, 1),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Conv3d(hidden_channels, 1, 1),
        )

    def quality_map(self, tokens: Tensor) -> Tensor:
        """(B, 1, T', H', W') local quality."""
        return self.net(tokens)

    def forward(self, tokens: Tensor) -> Tensor:
        return self.quality_map(tokens).mean(dim=(1, 2, 3, 4))


class ProjectionHead(nn.Module):
    """ST-VQRL's projection: Conv1d(C, dim, 1) + ReLU on the flattened tokens -> (B, N, dim)."""

    def __init__(self, in_channels: int = 768, dim: int = 64) -> None:
        super().__init__()
        self.proj = nn.Conv1d(in_channels, dim, kernel_size=1)
        self.act = nn.ReLU()

    def forward(self, tokens: Tensor) -> Tensor:
        flat = tokens.flatten(2)  # (B, C, N)
        return self.act(self.proj(flat)).transpose(1, 2)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
