"""pysot's MobileNetV2 (`pysot/models/backbone/mobile_v2.py`, SiamRPN++ mobilev2) as a Flax linen module, NHWC.

Stem `layer0`: 3x3/2 conv (no padding) -> BN -> ReLU6, int(32 * width_mult) channels. Then `layer1..layer7` of
inverted residual blocks (t expansion, c channels, n blocks, s stride, d dilation):

    (1, 16, 1, 1, 1) (6, 24, 2, 2, 1) (6, 32, 3, 2, 1) (6, 64, 4, 1, 2) (6, 96, 3, 1, 2) (6, 160, 3, 1, 4)
    (6, 320, 1, 1, 4)

Each block: 1x1 expand (t * in channels, also for t = 1, unlike torchvision) -> BN -> ReLU6, 3x3 depthwise (stride s
for a layer's first block, padding `dilation` if dilation > 1 else 2 - stride: unpadded when strided) -> BN -> ReLU6,
1x1 project -> BN, plus the input when stride 1 and in == out channels. A layer's first block uses dilation d when
the previous layer had d too, else max(d // 2, 1). Channels int(c * width_mult); output stride 8.
Sizes: 127 -> layer3..7 15x15, 255 -> 31x31; width 1.4 (siamrpn_mobilev2_l234_dwxcorr): layer3 / 5 / 7 have
44 / 134 / 448 channels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxtrack.models.backbones.checks import check_image, check_used_layers
from jaxtrack.models.conv import Conv
from jaxtrack.models.fusion import BN_EPS, BN_MOMENTUM

# (expansion t, channels c, blocks n, stride s, dilation d) of layer1..layer7 (pysot's second setting)
SETTING = ((1, 16, 1, 1, 1), (6, 24, 2, 2, 1), (6, 32, 3, 2, 1), (6, 64, 4, 1, 2), (6, 96, 3, 1, 2),
           (6, 160, 3, 1, 4), (6, 320, 1, 1, 4))


class InvertedResidual(nn.Module):
    """[B, H, W, C] -> [B, H', W', features]: expand (1x1) -> depthwise (3x3) -> project (1x1), BN after each,
    ReLU6 after the first two; residual when stride 1 and C == features."""

    features: int
    strides: int
    expand_ratio: int
    dilation: int = 1
    use_running_average: bool = True
    dtype: Any = jnp.float32
    train: bool = False  # XLA's conv form (models.conv) instead of the fastest inference form

    @nn.compact
    def __call__(self, x):
        norm = lambda name: nn.BatchNorm(use_running_average=self.use_running_average, momentum=BN_MOMENTUM,
                                         epsilon=BN_EPS, dtype=self.dtype, name=name)
        hidden = x.shape[-1] * self.expand_ratio
        pad = self.dilation if self.dilation > 1 else 2 - self.strides
        y = Conv(hidden, (1, 1), use_bias=False, dtype=self.dtype, name="expand")(x, self.train)
        y = nn.relu6(norm("expand_bn")(y))
        y = Conv(hidden, (3, 3), self.strides, padding=[(pad, pad)] * 2, kernel_dilation=self.dilation,
                 feature_group_count=hidden, use_bias=False, dtype=self.dtype, name="depthwise")(y, self.train)
        y = nn.relu6(norm("depthwise_bn")(y))
        y = norm("project_bn")(Conv(self.features, (1, 1), use_bias=False, dtype=self.dtype, name="project")(
            y, self.train))
        return x + y if self.strides == 1 and x.shape[-1] == self.features else y


class MobileNetV2(nn.Module):
    """[B, H, W, 3] -> {f"layer{i}": features for i in used_layers} (module docstring for the layout).

    Attributes:
      width_mult: channel multiplier (1.4 for pysot's siamrpn_mobilev2_l234_dwxcorr).
      used_layers: outputs to return, a subset of 0..7 (pysot's `used_layers`; layers after the last are not built).
      frozen_bn: BatchNorm always on running statistics (no batch statistics, no update), even in training.
      dtype: computation dtype (params stay float32).
    Parameters: `layer0_conv` / `layer0_bn`, blocks `layer{i}_{j}` with expand / depthwise / project convs and
    their `*_bn`.
    """

    width_mult: float = 1.0
    used_layers: Sequence[int] = (3, 5, 7)
    frozen_bn: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, use_running_average: bool = True) -> dict[str, jnp.ndarray]:
        check_image(x)
        check_used_layers(self.used_layers, 8)
        frozen = use_running_average or self.frozen_bn
        x = Conv(int(32 * self.width_mult), (3, 3), 2, padding="VALID", use_bias=False, dtype=self.dtype,
                 name="layer0_conv")(x.astype(self.dtype), not use_running_average)
        x = nn.relu6(nn.BatchNorm(use_running_average=frozen, momentum=BN_MOMENTUM, epsilon=BN_EPS, dtype=self.dtype,
                                  name="layer0_bn")(x))
        feats, last_dilation = [x], 1
        for i, (t, c, n, s, d) in enumerate(SETTING[:max(self.used_layers)], start=1):
            for j in range(n):
                first = d if d == last_dilation else max(d // 2, 1)
                x = InvertedResidual(int(c * self.width_mult), s if j == 0 else 1, t, first if j == 0 else d, frozen,
                                     self.dtype, not use_running_average, name=f"layer{i}_{j}")(x)
            last_dilation = d
            feats.append(x)
        return {f"layer{i}": feats[i] for i in self.used_layers}
