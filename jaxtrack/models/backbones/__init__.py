"""Backbones by name: `BACKBONES[name](**overrides)` builds a Flax module mapping [B, H, W, 3] to a dict of
feature maps (see each module's docstring for its keys)."""

from __future__ import annotations

import functools
from collections.abc import Callable

import flax.linen as nn

from jaxtrack.models.backbones.resnet import BasicBlock, ResNet

BACKBONES: dict[str, Callable[..., nn.Module]] = {
    # ResNet-18 layout at a quarter of the width: cheap frame features on CPU (pooled: 128-D).
    "resnet18_small": functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), widths=(16, 32, 64, 128), stem_width=16),
}


def get_backbone(name: str, **overrides) -> nn.Module:
    """The backbone registered as `name`, with module attributes overridden (e.g. `dtype=jnp.bfloat16`)."""
    if name not in BACKBONES:
        raise KeyError(f"backbone {name!r} is not registered; expected one of {sorted(BACKBONES)}")
    return BACKBONES[name](**overrides)


__all__ = ["BACKBONES", "BasicBlock", "ResNet", "get_backbone"]
