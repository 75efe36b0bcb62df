"""ResNets (He et al. 2016) as Flax linen modules, NHWC.

`ResNet`: torchvision layout and names with BasicBlocks (ResNet-18/34): a 7x7/2 conv stem + 3x3/2
max-pool, then stages `layer1..layerN` of BasicBlocks (two 3x3 convs; a 1x1 conv + BatchNorm shortcut
where the shape changes), the first block of every stage but the first with stride 2.

`AtrousResNet`: pysot's `resnet_atrous` (SiamRPN++): unpadded stem, layer2 with stride 2 and unpadded
3x3 convs, layer3 / layer4 with stride 1 and dilation 2 / 4 (output stride 8), BasicBlock or Bottleneck.
Template 127 -> 15x15 and search 255 -> 31x31 at layers 2, 3, 4.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxtrack.models.backbones.checks import check_image, check_used_layers
from jaxtrack.models.conv import Conv
from jaxtrack.models.fusion import BN_EPS, BN_MOMENTUM


class BasicBlock(nn.Module):
    """Two 3x3 convs with BatchNorm and a residual: [B, H, W, C] -> [B, H/s, W/s, filters]."""

    filters: int
    strides: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, use_running_average: bool = True):
        train = not use_running_average
        conv = lambda f, k, s, name: functools.partial(
            Conv(f, (k, k), (s, s), padding=[(k // 2, k // 2)] * 2, use_bias=False, dtype=self.dtype, name=name),
            train=train)
        norm = lambda name: nn.BatchNorm(use_running_average=use_running_average, momentum=BN_MOMENTUM, epsilon=BN_EPS,
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
      frozen_bn: BatchNorm always on running statistics (no batch statistics, no update), even in training.
      dtype: computation dtype (params stay float32); `pooled` is always float32.

    Returns (from `__call__`): {"stem": [B, H/4, W/4, stem_width], "layer1": [B, H/4, W/4, widths[0]],
    "layer{i}": [B, H/2^(i+1), W/2^(i+1), widths[i-1]], ..., "pooled": [B, widths[-1]]} (sizes rounded up).
    """

    stage_sizes: Sequence[int] = (2, 2, 2, 2)
    widths: Sequence[int] = (64, 128, 256, 512)
    stem_width: int = 64
    frozen_bn: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, use_running_average: bool = True) -> dict[str, jnp.ndarray]:
        use_running_average = use_running_average or self.frozen_bn
        if len(self.widths) != len(self.stage_sizes):
            raise ValueError(f"widths {tuple(self.widths)} must have one entry per stage {tuple(self.stage_sizes)}")
        check_image(x)
        x = Conv(self.stem_width, (7, 7), (2, 2), padding=[(3, 3), (3, 3)], use_bias=False, dtype=self.dtype,
                 name="conv1")(x.astype(self.dtype), not use_running_average)
        x = nn.relu(nn.BatchNorm(use_running_average=use_running_average, momentum=BN_MOMENTUM, epsilon=BN_EPS,
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


def _atrous_conv(features: int, k: int, stride: int, dilation: int, dtype, name: str, train: bool = False):
    """pysot's padding: none for strided convs, `dilation * (k // 2)` (same size) otherwise; `train`: XLA's
    conv form (models.conv)."""
    pad = 0 if stride > 1 else dilation * (k // 2)
    return functools.partial(Conv(features, (k, k), stride, padding=[(pad, pad)] * 2, kernel_dilation=dilation,
                                  use_bias=False, dtype=dtype, name=name), train=train)


class AtrousBlock(nn.Module):
    """pysot's atrous BasicBlock (`bottleneck=False`: 3x3, 3x3 -> `planes`) or Bottleneck (1x1, 3x3, 1x1 ->
    `4 * planes`): [B, H, W, C] -> [B, H', W', planes * expansion], H' = H for stride 1, (H - 3) // 2 + 1 for 2.

    `dilation` is the stage's; the stage's first block (`downsample=True`) uses half of it in its strided 3x3
    conv and in its shortcut, a 3x3 conv + BN unless stride and dilation are both 1 (then 1x1 + BN).
    """

    planes: int
    bottleneck: bool
    strides: int = 1
    dilation: int = 1
    downsample: bool = False
    use_running_average: bool = True
    dtype: Any = jnp.float32
    train: bool = False  # XLA's conv form (models.conv) instead of the fastest inference form

    @nn.compact
    def __call__(self, x):
        norm = lambda name: nn.BatchNorm(use_running_average=self.use_running_average, momentum=BN_MOMENTUM,
                                         epsilon=BN_EPS, dtype=self.dtype, name=name)
        conv = functools.partial(_atrous_conv, dtype=self.dtype, train=self.train)
        entry = self.dilation // 2 if self.downsample and self.dilation > 1 else self.dilation
        out_planes = self.planes * (4 if self.bottleneck else 1)
        if self.bottleneck:
            y = nn.relu(norm("bn1")(conv(self.planes, 1, 1, 1, name="conv1")(x)))
            y = nn.relu(norm("bn2")(conv(self.planes, 3, self.strides, entry, name="conv2")(y)))
            y = norm("bn3")(conv(out_planes, 1, 1, 1, name="conv3")(y))
        else:
            y = nn.relu(norm("bn1")(conv(self.planes, 3, self.strides, entry, name="conv1")(x)))
            y = norm("bn2")(conv(self.planes, 3, 1, self.dilation, name="conv2")(y))
        if self.downsample:
            k = 1 if self.strides == 1 and self.dilation == 1 else 3
            x = conv(out_planes, k, self.strides, entry, name="downsample_conv")(x)
            x = norm("downsample_bn")(x)
        return nn.relu(x + y)


class AtrousResNet(nn.Module):
    """pysot's ResNet for SiamRPN++: [B, H, W, 3] -> {f"layer{i}": features for i in used_layers}.

    Stem: 7x7/2 conv (no padding) -> BN -> ReLU (= "layer0") -> 3x3/2 max-pool (padding 1); layer1 stride 1,
    layer2 stride 2, layer3 / layer4 stride 1 with dilation 2 / 4. Stages after max(used_layers) are not built.
    Channels: `widths[i] * 4` (Bottleneck) or `widths[i]` (BasicBlock). Spatial: 127 -> 15, 255 -> 31 (layers 2-4).

    Attributes:
      stage_sizes: blocks per stage ((3, 4, 6, 3) = ResNet-50).
      widths: planes per stage; stem_width: channels of the stem conv.
      bottleneck: Bottleneck (ResNet-50) or BasicBlock (ResNet-18/34) blocks.
      used_layers: which outputs to return (0 = stem, 1..4 = stages); pysot's `used_layers`.
      frozen_bn: BatchNorm always on running statistics (no batch statistics, no update), even in training.
      dtype: computation dtype (params stay float32).
    """

    stage_sizes: Sequence[int] = (3, 4, 6, 3)
    widths: Sequence[int] = (64, 128, 256, 512)
    stem_width: int = 64
    bottleneck: bool = True
    used_layers: Sequence[int] = (2, 3, 4)
    frozen_bn: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, use_running_average: bool = True) -> dict[str, jnp.ndarray]:
        check_image(x)
        check_used_layers(self.used_layers, 5)
        frozen = use_running_average or self.frozen_bn
        x = _atrous_conv(self.stem_width, 7, 2, 1, self.dtype, "conv1", not use_running_average)(
            x.astype(self.dtype))
        x = nn.relu(nn.BatchNorm(use_running_average=frozen, momentum=BN_MOMENTUM, epsilon=BN_EPS, dtype=self.dtype,
                                 name="bn1")(x))
        feats = [x]
        x = nn.max_pool(x, (3, 3), (2, 2), padding=[(1, 1), (1, 1)])
        expansion = 4 if self.bottleneck else 1
        in_channels = self.stem_width
        for i in range(max(self.used_layers)):
            stride, dilation = ((1, 1), (2, 1), (1, 2), (1, 4))[i]
            for j in range(self.stage_sizes[i]):
                first = j == 0 and (stride != 1 or in_channels != self.widths[i] * expansion)
                x = AtrousBlock(self.widths[i], self.bottleneck, stride if j == 0 else 1, dilation, first, frozen,
                                self.dtype, not use_running_average, name=f"layer{i + 1}_{j}")(x)
                in_channels = self.widths[i] * expansion
            feats.append(x)
        return {f"layer{i}": feats[i] for i in self.used_layers}
