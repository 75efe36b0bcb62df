"""pysot's SiamMask (STVIR/pysot `models/head/mask.py`, `models/model_builder.py` with MASK / REFINE on,
`experiments/siammask_r50_l3/config.yaml`) in torch with the originals' key names: `backbone.*` (resnet50 used_layers
0-3), `neck.downsample.*`, `rpn_head.{cls,loc}.*` (DepthwiseRPN), `mask_head.*` (MaskCorr), `refine_head.*`.
The refine's input widths follow the backbone (pysot hard-codes ResNet-50's 64 / 256 / 512 and the 256-wide
correlation) and its window sizes the crops (61 / 31 / 15 -> 127 at 127 / 255), so narrow copies stay cheap.

    model = build(small=True); randomize(model, lambda: (model.template(z), model.track(x)))
    out = model.track(x)                   # {"cls", "loc", "mask"} NCHW; model.mask_refine((row, col)) -> [1, S*S]
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from tests.torch_ref import backbones, heads


class MaskCorr(heads.DepthwiseXCorr):
    """pysot MaskCorr: DepthwiseXCorr that also returns the correlation feature."""

    def forward(self, kernel, search):
        feature = heads.xcorr_depthwise(self.conv_search(search), self.conv_kernel(kernel))
        return self.head(feature), feature


def _pair(c_in, c_mid, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_mid, 3, padding=1), nn.ReLU(), nn.Conv2d(c_mid, c_out, 3, padding=1),
                         nn.ReLU())


class Refine(nn.Module):
    """pysot Refine with `channels` = (stem, layer1, layer2, correlation) widths (pysot: 64, 256, 512, 256) and
    window `sizes` (61, 31, 15) -> `out` (127); `pads` the per-side padding of each feature map (16, 8, 4)."""

    def __init__(self, channels=(64, 256, 512, 256), sizes=(61, 31, 15), out=127, pads=(16, 8, 4)):
        super().__init__()
        c0, c1, c2, c3 = channels
        self.v0, self.v1, self.v2 = _pair(c0, 16, 4), _pair(c1, 64, 16), _pair(c2, 128, 32)
        self.h2, self.h1, self.h0 = _pair(32, 32, 32), _pair(16, 16, 16), _pair(4, 4, 4)
        self.deconv = nn.ConvTranspose2d(c3, 32, sizes[2], sizes[2])
        self.post0 = nn.Conv2d(32, 16, 3, padding=1)
        self.post1 = nn.Conv2d(16, 4, 3, padding=1)
        self.post2 = nn.Conv2d(4, 1, 3, padding=1)
        self.sizes, self.out, self.pads = sizes, out, pads

    def forward(self, f, corr_feature, pos):
        (s0, s1, s2), (q0, q1, q2) = self.sizes, self.pads
        p0 = F.pad(f[0], [q0] * 4)[:, :, 4 * pos[0]:4 * pos[0] + s0, 4 * pos[1]:4 * pos[1] + s0]
        p1 = F.pad(f[1], [q1] * 4)[:, :, 2 * pos[0]:2 * pos[0] + s1, 2 * pos[1]:2 * pos[1] + s1]
        p2 = F.pad(f[2], [q2] * 4)[:, :, pos[0]:pos[0] + s2, pos[1]:pos[1] + s2]
        p3 = corr_feature[:, :, pos[0], pos[1]].view(-1, corr_feature.shape[1], 1, 1)
        out = self.deconv(p3)
        out = self.post0(F.interpolate(self.h2(out) + self.v2(p2), size=(s1, s1)))
        out = self.post1(F.interpolate(self.h1(out) + self.v1(p1), size=(s0, s0)))
        out = self.post2(F.interpolate(self.h0(out) + self.v0(p0), size=(self.out, self.out)))
        return out.view(-1, self.out * self.out)


class SiamMaskBuilder(nn.Module):
    """pysot ModelBuilder with MASK and REFINE: template(z) keeps the layer-3 features; track(x) -> {"cls", "loc",
    "mask"} and keeps the stem / layer1 / layer2 features and the mask correlation for `mask_refine(pos)`."""

    def __init__(self, backbone, neck, rpn_head, mask_head, refine_head):
        super().__init__()
        self.backbone, self.neck, self.rpn_head = backbone, neck, rpn_head
        self.mask_head, self.refine_head = mask_head, refine_head

    def template(self, z):
        self.zf = self.neck(self.backbone(z)[-1])

    def track(self, x):
        xf = self.backbone(x)
        self.xf, xf = xf[:-1], self.neck(xf[-1])
        cls, loc = self.rpn_head(self.zf, xf)
        mask, self.mask_corr_feature = self.mask_head(self.zf, xf)
        return {"cls": cls, "loc": loc, "mask": mask}

    def mask_refine(self, pos):
        return self.refine_head(self.xf, self.mask_corr_feature, pos)


def build(small: bool = False) -> SiamMaskBuilder:
    """siammask_r50_l3 (`small`: widths 8 / 16 / 32 / 64, stem 8, 16 neck channels; `SMALL` the jaxtrack kwargs)."""
    widths, stem, hidden = ((8, 16, 32, 64), 8, 16) if small else ((64, 128, 256, 512), 64, 256)
    net = backbones.AtrousResNet(used_layers=(0, 1, 2, 3), widths=widths, stem=stem)
    return SiamMaskBuilder(net, heads.AdjustAllLayer((widths[2] * 4,), (hidden,)),
                           heads.DepthwiseRPN(5, hidden, hidden), MaskCorr(hidden, hidden, 63 * 63),
                           Refine((stem, widths[0] * 4, widths[1] * 4, hidden)))


SMALL = {"backbone_args": {"widths": (8, 16, 32, 64), "stem_width": 8}, "neck_channels": 16}
