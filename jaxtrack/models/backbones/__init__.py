"""Backbones by name: `BACKBONES[name](**overrides)` builds a Flax module mapping [B, H, W, 3] to a dict of
feature maps, called as `module(x, use_running_average)` (see each module's docstring for its keys).

Every backbone takes `frozen_bn=True` (BatchNorm on running statistics even in training) and `dtype`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import flax.linen as nn

from jaxtrack.models.backbones.alexnet import AlexNet
from jaxtrack.models.backbones.mobilenet_v2 import MobileNetV2
from jaxtrack.models.backbones.resnet import AtrousBlock, AtrousResNet, BasicBlock, ResNet

BACKBONES: dict[str, Callable[..., nn.Module]] = {
    # ResNet-18 layout at a quarter of the width: cheap frame features on CPU (pooled: 128-D).
    "resnet18_small": functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), widths=(16, 32, 64, 128), stem_width=16),
    # pysot AlexNetLegacy (SiamRPN): "layer5" 127 -> 6x6, 255 -> 22x22, 256 * width_mult channels.
    "alexnet": AlexNet,
    # siamfc-pytorch AlexNetV1 (SiamFC): grouped conv2/4/5, no BN after conv5.
    "alexnet_siamfc": functools.partial(AlexNet, groups=2, last_bn=False),
    # pysot resnet50 for SiamRPN++ / SiamBAN: layers 2/3/4 with 512/1024/2048 channels, 127 -> 15, 255 -> 31.
    "resnet50": AtrousResNet,
    # The same atrous layout with BasicBlocks at a quarter of ResNet-18's width: layers 2/3/4 with 32/64/128
    # channels; trains on CPU in minutes.
    "resnet18_small_atrous": functools.partial(AtrousResNet, stage_sizes=(2, 2, 2, 2), widths=(16, 32, 64, 128),
                                               stem_width=16, bottleneck=False),
    # pysot mobilenetv2 for SiamRPN++ mobilev2 (width_mult=1.4): layers 3/5/7 with 44/134/448 channels, 127 -> 15.
    "mobilenetv2": MobileNetV2,
}


def get_backbone(name: str, **overrides) -> nn.Module:
    """The backbone registered as `name`, with module attributes overridden (e.g. `dtype=jnp.bfloat16`)."""
    if name not in BACKBONES:
        raise KeyError(f"backbone {name!r} is not registered; expected one of {sorted(BACKBONES)}")
    return BACKBONES[name](**overrides)


__all__ = ["BACKBONES", "AlexNet", "AtrousBlock", "AtrousResNet", "BasicBlock", "MobileNetV2", "ResNet",
           "get_backbone"]
