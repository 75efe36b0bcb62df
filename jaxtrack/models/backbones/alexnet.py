"""AlexNet backbones of the Siamese trackers as a Flax linen module, NHWC.

Channel plan 3-96-256-384-384-256 (times `width_mult`, as pysot's `int(c * width_mult)`), no padding:
conv 11x11/2 -> BN -> ReLU -> max-pool 3/2, conv 5x5 -> BN -> ReLU -> max-pool 3/2, three 3x3 convs.
Sizes: 127 -> 6, 255 -> 22 (output stride 8). Two registered variants:

- pysot `AlexNetLegacy`: plain convs (with bias), the last conv followed by BN, no ReLU.
- siamfc-pytorch `AlexNetV1`: conv2, conv4, conv5 with 2 groups; the last conv has no BN.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxtrack.models.backbones.checks import check_image
from jaxtrack.models.conv import Conv
from jaxtrack.models.fusion import BN_EPS, BN_MOMENTUM

CHANNELS = (96, 256, 384, 384, 256)
KERNELS = (11, 5, 3, 3, 3)


class AlexNet(nn.Module):
    """[B, H, W, 3] -> {"layer1": ..., "layer5": [B, (H-87)/8, (W-87)/8, int(256 * width_mult)]}.

    Attributes:
      width_mult: channel multiplier (pysot's `width_mult`).
      groups: feature groups of conv2, conv4, conv5 (1: pysot AlexNetLegacy, 2: SiamFC's AlexNetV1).
      last_bn: BatchNorm after conv5 (pysot) or not (SiamFC).
      frozen_bn: BatchNorm always on running statistics (no batch statistics, no update), even in training.
      dtype: computation dtype (params stay float32).
    """

    width_mult: float = 1.0
    groups: int = 1
    last_bn: bool = True
    frozen_bn: bool = False
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, use_running_average: bool = True) -> dict[str, jnp.ndarray]:
        check_image(x)
        frozen = use_running_average or self.frozen_bn
        x, out = x.astype(self.dtype), {}
        for i, (c, k) in enumerate(zip(CHANNELS, KERNELS)):
            groups = self.groups if i in (1, 3, 4) else 1
            x = Conv(int(c * self.width_mult), (k, k), 2 if i == 0 else 1, padding="VALID",
                     feature_group_count=groups, dtype=self.dtype, name=f"conv{i + 1}")(x, not use_running_average)
            if i < 4 or self.last_bn:
                x = nn.BatchNorm(use_running_average=frozen, momentum=BN_MOMENTUM, epsilon=BN_EPS, dtype=self.dtype,
                                 name=f"bn{i + 1}")(x)
            if i < 4:
                x = nn.relu(x)
            if i < 2:
                x = nn.max_pool(x, (3, 3), (2, 2))
            out[f"layer{i + 1}"] = x
        return out
