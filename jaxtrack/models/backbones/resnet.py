"""ResNet with BasicBlocks (ResNet-18/34 layout, He et al. 2016) as a Flax linen module, NHWC.

Torchvision layout and names: a 7x7/2 conv stem + 3x3/2 max-pool, then stages `layer1..layerN` of
BasicBlocks (two 3x3 convs; a 1x1 conv + BatchNorm shortcut where the shape changes), the first
block of every stage but the first with stride 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp


class BasicBlock(nn.Module):
    """Two 3x3 convs with BatchNorm and a residual: [B, H, W, C] -> [B, H/s, W/s, filters]."""

    filters: int
    strides: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, use_running_average: bool = True):
        conv = lambda f, k, s, name: nn.Conv(f, (k, k), (s, s), padding=[(k // 2, k // 2)] * 2, use_bias=False,
                                             dtype=self.dtype, name=name)
        norm = lambda name: nn.BatchNorm(use_running_average=use_running_average, momentum=0.9, epsilon=1e-5,
                                         dtype=self.dtype, name=name)
        y = nn.relu(norm("bn1")(conv(self.filters, 3, self.strides, "conv1")(x)))
        y = norm("bn2")(conv(self.filters, 3, 1, "conv2")(y))
        if x.shape[-1] != self.filters or self.strides != 1:
            x = norm("downsample_bn")(conv(self.filters, 1, self.strides, "downsample_conv")(x))
        return nn.relu(x + y)


class ResNet(nn.Module):
    """BasicBlock ResNet: [B, H, W, 3] -> dict of stage outputs and the global-pooled vector.

    Attributes:
      stage_sizes: blocks per stage ((2, 2, 2, 2) = ResNet-18, (3, 4, 6, 3) = ResNet-34).
      widths: output channels per stage, same length as `stage_sizes`.
      stem_width: channels of the 7x7 stem conv.
      dtype: computation dtype (params stay float32); `pooled` is always float32.

    Returns (from `__call__`): {"stem": [B, H/4, W/4, stem_width], "layer1": [B, H/4, W/4, widths[0]],
    "layer{i}": [B, H/2^(i+1), W/2^(i+1), widths[i-1]], ..., "pooled": [B, widths[-1]]} (sizes rounded up).
    """

    stage_sizes: Sequence[int] = (2, 2, 2, 2)
    widths: Sequence[int] = (64, 128, 256, 512)
    stem_width: int = 64
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, use_running_average: bool = True) -> dict[str, jnp.ndarray]:
        if len(self.widths) != len(self.stage_sizes):
            raise ValueError(f"widths {tuple(self.widths)} must have one entry per stage {tuple(self.stage_sizes)}")
        if x.ndim != 4 or x.shape[-1] != 3:
            raise ValueError(f"x must be [B, H, W, 3], got {x.shape}")
        x = nn.Conv(self.stem_width, (7, 7), (2, 2), padding=[(3, 3), (3, 3)], use_bias=False, dtype=self.dtype,
                    name="conv1")(x.astype(self.dtype))
        x = nn.relu(nn.BatchNorm(use_running_average=use_running_average, momentum=0.9, epsilon=1e-5,
                                 dtype=self.dtype, name="bn1")(x))
        out = {"stem": nn.max_pool(x, (3, 3), (2, 2), padding=[(1, 1), (1, 1)])}
        x = out["stem"]
        for i, (blocks, width) in enumerate(zip(self.stage_sizes, self.widths)):
            for j in range(blocks):
                x = BasicBlock(width, 2 if i > 0 and j == 0 else 1, self.dtype, name=f"layer{i + 1}_{j}")(
                    x, use_running_average)
            out[f"layer{i + 1}"] = x
        out["pooled"] = jnp.mean(x.astype(jnp.float32), axis=(1, 2))
        return out
