"""pysot / SiamBAN `ModelBuilder`s of the model-zoo entries (torch), full size or narrowed for cheap tests.

`build(name, small=False)`: `backbone` / `neck` (if any) / `rpn_head` (pysot) or `head` (SiamBAN) submodules, so
state_dict keys read `backbone.layer2.0.conv1.weight`, `neck.downsample2.downsample.0.weight`,
`rpn_head.rpn2.cls.conv_kernel.0.weight`, `head.box2.loc_scale`, ... `template(z)` stores the template features,
`track(x)` -> {"cls": [B, 2K or 2, Ho, Wo], "loc": [B, 4K or 4, Ho, Wo]} as the originals (NCHW).
`SMALL[name]`: the jaxtrack model kwargs that narrow a zoo experiment's model like `small=True`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from tests.torch_ref import backbones, heads


class ModelBuilder(nn.Module):
    """backbone -> neck (optional) -> head; `head_name` is "rpn_head" (pysot) or "head" (SiamBAN)."""

    def __init__(self, backbone, neck, head, head_name="rpn_head"):
        super().__init__()
        self.backbone = backbone
        if neck is not None:
            self.neck = neck
        self.head_name = head_name
        self.add_module(head_name, head)

    def features(self, img):
        f = self.backbone(img)
        return self.neck(f) if hasattr(self, "neck") else f

    def template(self, z):
        self.zf = self.features(z)

    def track(self, x):
        cls, loc = getattr(self, self.head_name)(self.zf, self.features(x))
        return {"cls": cls, "loc": loc}


def _resnet(small):
    if small:
        return backbones.AtrousResNet(widths=(8, 16, 32, 64), stem=8), (64, 128, 256)
    return backbones.AtrousResNet(), (512, 1024, 2048)


def build(name: str, small: bool = False) -> ModelBuilder:
    """The torch model of zoo entry `name` (`_otb` suffixes: the OTB checkpoints' architecture)."""
    hidden = 16 if small else 256
    if name.startswith("siamrpn_alex_dwxcorr"):
        width = 0.125 if small else 1.0
        c = int(256 * width)
        return ModelBuilder(backbones.AlexNetLegacy(width), None, heads.DepthwiseRPN(5, c, c))
    if name.startswith("siamrpn_r50_l234_dwxcorr"):
        net, channels = _resnet(small)
        return ModelBuilder(net, heads.AdjustAllLayer(channels, (hidden,) * 3),
                            heads.MultiRPN(5, (hidden,) * 3, weighted=not name.endswith("_otb")))
    if name == "siamrpn_mobilev2_l234_dwxcorr":
        width = 0.35 if small else 1.4
        net = backbones.MobileNetV2(width, (3, 5, 7))
        channels = tuple(int(c * width) for c in (32, 96, 320))
        return ModelBuilder(net, heads.AdjustAllLayer(channels, (hidden,) * 3),
                            heads.MultiRPN(5, (hidden,) * 3, weighted=False))
    if name.startswith("siamban_r50_l234"):
        net, channels = _resnet(small)
        return ModelBuilder(net, heads.AdjustAllLayer(channels, (hidden,) * 3),
                            heads.MultiBAN((hidden,) * 3, 2, weighted=True), head_name="head")
    raise KeyError(name)


_SMALL_R50 = {"backbone_args": {"widths": (8, 16, 32, 64), "stem_width": 8}, "neck_channels": 16}
# jaxtrack model kwargs over a zoo experiment's (`experiments/<name>.py`) that match `build(name, small=True)`
SMALL = {
    "siamrpn_alex_dwxcorr": {"backbone_args": {"width_mult": 0.125}},
    "siamrpn_r50_l234_dwxcorr": _SMALL_R50,
    "siamrpn_mobilev2_l234_dwxcorr": {"backbone_args": {"width_mult": 0.35, "used_layers": (3, 5, 7)},
                                      "neck_channels": 16},
    "siamban_r50_l234": _SMALL_R50,
}


@torch.no_grad()
def randomize(model: nn.Module, forward=None, seed: int = 0) -> nn.Module:
    """Non-default weights everywhere: convs / linears N(0, 2 / fan_in), biases N(0, 0.1), BN affine U(0.5, 1.5) /
    N(0, 0.2), the layer-fusion weights N(0, 1), `loc_scale` U(0.5, 1.5). BN running statistics: those of one
    `forward()` call in train mode (momentum 1; e.g. `lambda: (m.template(z), m.track(x))`), so deep nets keep
    activations of order one, then moved by noise (mean + 0.1 std, var x U(0.8, 1.25)). Returns it in eval mode."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda shape: torch.randn(shape, generator=g)
    uniform = lambda shape, lo, hi: lo + (hi - lo) * torch.rand(shape, generator=g)
    for name, p in model.named_parameters():
        if name.endswith(("cls_weight", "loc_weight")):
            p.copy_(rand(p.shape))
        elif name.endswith("loc_scale"):
            p.copy_(uniform(p.shape, 0.5, 1.5))
        elif p.ndim > 1:
            p.copy_(rand(p.shape) * (2.0 / p[0].numel()) ** 0.5)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear) and m.bias is not None:
            m.bias.copy_(rand(m.bias.shape) * 0.1)
    for m in bns:
        m.weight.copy_(uniform(m.weight.shape, 0.5, 1.5))
        m.bias.copy_(rand(m.bias.shape) * 0.2)
        m.momentum = 1.0
    if forward is not None:
        model.train()
        forward()
    for m in bns:
        m.momentum = 0.1
        m.running_mean.add_(rand(m.running_mean.shape) * 0.1 * m.running_var.sqrt())
        m.running_var.mul_(uniform(m.running_var.shape, 0.8, 1.25))
        m.num_batches_tracked.fill_(7)
    return model.eval()


def zoo_model(name: str, z: torch.Tensor, x: torch.Tensor, small: bool = False, seed: int = 0) -> ModelBuilder:
    """`build(name, small)` randomized (`randomize`) with BN statistics of template `z` and search `x`."""
    model = build(name, small)
    return randomize(model, lambda: (model.template(z), model.track(x)), seed)


@torch.no_grad()
def tame(model, rng_seed: int = 0):
    """Outputs of a plausible size, so that the trackers move and resize (random heads saturate the scores and
    regress boxes far outside the crop, which pins every box to the frame border): the last conv of each branch
    scaled down; cls biases ~N(0, 0.5); loc biases ~N(0, 0.1) (RPN deltas) or log(40 px) / loc_scale (SiamBAN's
    exp(loc_scale * loc) distances)."""
    g = torch.Generator().manual_seed(rng_seed)
    for name, conv in model.named_modules():
        if name.endswith("cls.head.3"):  # logits of order one: scores spread over (0, 1), no saturated ties
            conv.weight.mul_(0.05)
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=g) * 0.5)
    last = [m for name, m in model.named_modules() if name.endswith("loc.head.3")]
    scales = getattr(getattr(model, "head", None), "loc_scale", None)  # SiamBAN: one per layer, in branch order
    for i, conv in enumerate(last):
        conv.weight.mul_(0.05)
        if scales is not None:
            conv.bias.fill_(math.log(40.0) / float(scales[i]))
        else:
            conv.bias.copy_(torch.randn(conv.bias.shape, generator=g) * 0.1)
    return model
