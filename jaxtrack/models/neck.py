"""pysot's neck: per-layer 1x1 conv + BN to a common width, template features center-cropped.

A feature map narrower than `crop_below` (20: the template's 15x15, not the search's 31x31) is cropped
to its central `center_size` x `center_size` window, `l = (W - center_size) // 2` (15 -> 7: rows 4..10).
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn

from jaxtrack.models.conv import Conv
from jaxtrack.models.fusion import batch_norm


class AdjustLayer(nn.Module):
    """[B, H, W, C] -> [B, H', W', features]: 1x1 conv (no bias) -> BN, then the center crop when W < crop_below."""

    features: int
    center_size: int = 7
    crop_below: int = 20

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = batch_norm(train)(Conv(self.features, (1, 1), use_bias=False)(x, train))
        if x.shape[2] < self.crop_below:
            if min(x.shape[1:3]) < self.center_size:
                raise ValueError(f"AdjustLayer: features {x.shape} are smaller than center_size={self.center_size}")
            top, left = (x.shape[1] - self.center_size) // 2, (x.shape[2] - self.center_size) // 2
            x = x[:, top:top + self.center_size, left:left + self.center_size]
        return x


class AdjustAllLayer(nn.Module):
    """One AdjustLayer per input layer (named `downsample2`, `downsample3`, ... as in pysot):
    a sequence of [B, H, W, C_i] -> a tuple of [B, H', W', features[i]]."""

    features: Sequence[int]
    center_size: int = 7
    crop_below: int = 20

    @nn.compact
    def __call__(self, xs: Sequence, train: bool = False) -> tuple:
        if len(xs) != len(self.features):
            raise ValueError(f"AdjustAllLayer: got {len(xs)} feature maps for features={tuple(self.features)}")
        return tuple(AdjustLayer(f, self.center_size, self.crop_below, name=f"downsample{i + 2}")(x, train)
                     for i, (f, x) in enumerate(zip(self.features, xs)))
