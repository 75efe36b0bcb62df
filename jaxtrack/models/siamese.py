"""Siamese trackers: backbone -> optional neck -> head (Flax linen, NHWC); `jaxtrack.families` names them.

    model = multi_layer("multi_rpn", branch="dw", neck_channels=64, backbone="resnet18_small_atrous")
    variables = model.init(key, z_img, x_img, box_wh)
    template = model.apply(variables, z_img, box_wh, method="template")   # once per video: the head's template state
    out = model.apply(variables, x_img, template, method="track")          # per frame: the search branch only
    out, updates = model.apply(variables, z_img, x_img, box_wh, train=True, mutable=["batch_stats"])

z_img [B, Hz, Wz, 3] template crops (127), x_img [B, Hx, Wx, 3] search crops (255), box_wh [B, 2] the template
box (w, h) in template-crop pixels (SiamBAN-ACM's box encoding; ignored by the other heads).
Outputs (at 127 / 255): siamfc {"cls": [B, 17, 17, 1]}; siamrpn {"cls": [B, 17, 17, 2K], "loc": [B, 17, 17, 4K]};
siamrpnpp(_acm) {"cls": [B, 25, 25, 2K], "loc": [B, 25, 25, 4K]}; siamban(_acm) {"cls": [B, 25, 25, 2],
"loc": [B, 25, 25, 4] (l, t, r, b distances > 0)}.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from jaxtrack.models.backbones import get_backbone
from jaxtrack.models.heads import get_head
from jaxtrack.models.neck import AdjustAllLayer


class SiameseTracker(nn.Module):
    """`backbone` (a registered backbone module) features at `layers` -> `neck` (or none) -> `head`.

    `template(z_img, box_wh)` -> the head's template state (a dict pytree, leaves [B, ...]: the template branch
    up to the heads' template convolutions and ACM template terms), computed once per video;
    `track(x_img, template)` -> the head's outputs (search branch only); `__call__(z_img, x_img, box_wh)` is
    `track(x_img, template(z_img, box_wh))` (training).
    """

    backbone: nn.Module
    head: nn.Module
    layers: Sequence[str]
    neck: nn.Module | None = None

    def features(self, img, train: bool = False) -> tuple:
        """[B, H, W, 3] -> tuple of backbone features at `layers` (after the neck)."""
        if img.ndim != 4 or img.shape[-1] != 3:
            raise ValueError(f"images must be [B, H, W, 3], got {img.shape}")
        out = self.backbone(img, use_running_average=not train)
        feats = tuple(out[name] for name in self.layers)
        return feats if self.neck is None else self.neck(feats, train)

    def template(self, z_img, box_wh=None, train: bool = False) -> dict:
        if box_wh is not None and box_wh.shape != (z_img.shape[0], 2):
            raise ValueError(f"box_wh must be [B, 2] = {(z_img.shape[0], 2)} (template w, h), got {box_wh.shape}")
        return self.head.template(self.features(z_img, train), box_wh, train)

    def track(self, x_img, template: dict, train: bool = False) -> dict:
        batch = {a.shape[0] for a in jax.tree.leaves(template)}
        if batch != {x_img.shape[0]}:
            raise ValueError(f"x_img batch {x_img.shape[0]} != template batch {sorted(batch)}")
        return self.head.track(self.features(x_img, train), template, train)

    def __call__(self, z_img, x_img, box_wh=None, train: bool = False) -> dict:
        return self.track(x_img, self.template(z_img, box_wh, train), train)


def multi_layer(head: str, backbone: str = "resnet50", backbone_args: dict | None = None,
                layers: Sequence[str] = ("layer2", "layer3", "layer4"), neck_channels: int | None = 256,
                center_size: int = 7, crop_below: int = 20, **head_args) -> SiameseTracker:
    """A multi-layer tracker (SiamRPN++, SiamBAN, ACM variants): the backbone's `layers`, AdjustAllLayer to
    `neck_channels` each (None: no neck; template features narrower than `crop_below` cropped to `center_size`),
    the head's attributes `head_args` (e.g. `branch`, `weighted`)."""
    neck = None if neck_channels is None else AdjustAllLayer((neck_channels,) * len(layers), center_size,
                                                             crop_below)
    return SiameseTracker(get_backbone(backbone, **(backbone_args or {})), get_head(head, **head_args),
                          tuple(layers), neck)


def single_layer(head: str, backbone: str, backbone_args: dict | None = None, layer: str = "layer5",
                 neck_channels: int | None = None, **kwargs) -> SiameseTracker:
    """A one-layer tracker (SiamFC, SiamRPN): the backbone's `layer`, no neck unless `neck_channels` (a ResNet's
    ReLU outputs need one to correlate); `kwargs`: `multi_layer`'s center_size / crop_below and the head's
    attributes."""
    return multi_layer(head, backbone, backbone_args, (layer,), neck_channels, **kwargs)
