"""Reference necks and heads (torch, NCHW): pysot's AdjustLayer / AdjustAllLayer, UPChannelRPN, DepthwiseXCorr,
DepthwiseRPN, MultiRPN and SiamBAN's DepthwiseBAN / MultiBAN, with the originals' module names."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def xcorr_fast(x, kernel):
    """pysot up-channel correlation: kernel [B, K*C, h, w] viewed as K kernels of C channels each."""
    batch = kernel.size(0)
    pk = kernel.view(-1, x.size(1), kernel.size(2), kernel.size(3))
    px = x.view(1, -1, x.size(2), x.size(3))
    po = F.conv2d(px, pk, groups=batch)
    return po.view(batch, -1, po.size(2), po.size(3))


def xcorr_depthwise(x, kernel):
    """pysot depth-wise correlation: channel c of x correlated with channel c of kernel."""
    batch, channel = kernel.shape[:2]
    x = x.reshape(1, batch * channel, x.size(2), x.size(3))
    kernel = kernel.reshape(batch * channel, 1, kernel.size(2), kernel.size(3))
    out = F.conv2d(x, kernel, groups=batch * channel)
    return out.view(batch, channel, out.size(2), out.size(3))


class AdjustLayer(nn.Module):
    """1x1 conv (no bias) + BN (`downsample.0` / `downsample.1`); maps narrower than 20 centre-cropped."""

    def __init__(self, in_channels, out_channels, center_size=7):
        super().__init__()
        self.downsample = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                        nn.BatchNorm2d(out_channels))
        self.center_size = center_size

    def forward(self, x):
        x = self.downsample(x)
        if x.size(3) < 20:
            left = (x.size(3) - self.center_size) // 2
            x = x[:, :, left:left + self.center_size, left:left + self.center_size]
        return x


class AdjustAllLayer(nn.Module):
    """One AdjustLayer per input (`downsample2`, `downsample3`, ...; a single one is `downsample`)."""

    def __init__(self, in_channels, out_channels, center_size=7):
        super().__init__()
        self.num = len(out_channels)
        if self.num == 1:
            self.downsample = AdjustLayer(in_channels[0], out_channels[0], center_size)
        else:
            for i in range(self.num):
                self.add_module(f"downsample{i + 2}", AdjustLayer(in_channels[i], out_channels[i], center_size))

    def forward(self, features):
        if self.num == 1:
            return self.downsample(features)
        return [getattr(self, f"downsample{i + 2}")(f) for i, f in enumerate(features)]


class UPChannelRPN(nn.Module):
    """SiamRPN's up-channel head (all convs with bias, no BN), `loc_adjust` 1x1 on the loc correlation."""

    def __init__(self, anchor_num=5, feature_in=256):
        super().__init__()
        cls_out, loc_out = 2 * anchor_num, 4 * anchor_num
        self.template_cls_conv = nn.Conv2d(feature_in, feature_in * cls_out, 3)
        self.template_loc_conv = nn.Conv2d(feature_in, feature_in * loc_out, 3)
        self.search_cls_conv = nn.Conv2d(feature_in, feature_in, 3)
        self.search_loc_conv = nn.Conv2d(feature_in, feature_in, 3)
        self.loc_adjust = nn.Conv2d(loc_out, loc_out, 1)

    def forward(self, z_f, x_f):
        cls = xcorr_fast(self.search_cls_conv(x_f), self.template_cls_conv(z_f))
        loc = self.loc_adjust(xcorr_fast(self.search_loc_conv(x_f), self.template_loc_conv(z_f)))
        return cls, loc


class DepthwiseXCorr(nn.Module):
    """conv_kernel / conv_search (3x3 conv no bias, BN, ReLU), DW correlation, head (1x1 no bias, BN, ReLU, 1x1
    with bias)."""

    def __init__(self, in_channels, hidden, out_channels, kernel_size=3):
        super().__init__()
        branch = lambda: nn.Sequential(nn.Conv2d(in_channels, hidden, kernel_size, bias=False),
                                       nn.BatchNorm2d(hidden), nn.ReLU())
        self.conv_kernel, self.conv_search = branch(), branch()
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(),
                                  nn.Conv2d(hidden, out_channels, 1))

    def forward(self, kernel, search):
        return self.head(xcorr_depthwise(self.conv_search(search), self.conv_kernel(kernel)))


class DepthwiseRPN(nn.Module):
    def __init__(self, anchor_num=5, in_channels=256, out_channels=256):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, 2 * anchor_num)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4 * anchor_num)

    def forward(self, z_f, x_f):
        return self.cls(z_f, x_f), self.loc(z_f, x_f)


def _fuse(outs, weight):
    if weight is None:
        return sum(outs) / len(outs)
    w = F.softmax(weight, 0)
    return sum(o * w[i] for i, o in enumerate(outs))


class MultiRPN(nn.Module):
    """`rpn2`, `rpn3`, ... DepthwiseRPNs; with `weighted`, softmax-weighted by `cls_weight` / `loc_weight`."""

    def __init__(self, anchor_num, in_channels, weighted=False):
        super().__init__()
        self.weighted = weighted
        for i, c in enumerate(in_channels):
            self.add_module(f"rpn{i + 2}", DepthwiseRPN(anchor_num, c, c))
        if weighted:
            self.cls_weight = nn.Parameter(torch.ones(len(in_channels)))
            self.loc_weight = nn.Parameter(torch.ones(len(in_channels)))

    def forward(self, z_fs, x_fs):
        outs = [getattr(self, f"rpn{i + 2}")(z, x) for i, (z, x) in enumerate(zip(z_fs, x_fs))]
        cls, loc = [o[0] for o in outs], [o[1] for o in outs]
        return (_fuse(cls, self.cls_weight if self.weighted else None),
                _fuse(loc, self.loc_weight if self.weighted else None))


class DepthwiseBAN(nn.Module):
    def __init__(self, in_channels=256, out_channels=256, cls_out_channels=2):
        super().__init__()
        self.cls = DepthwiseXCorr(in_channels, out_channels, cls_out_channels)
        self.loc = DepthwiseXCorr(in_channels, out_channels, 4)

    def forward(self, z_f, x_f):
        return self.cls(z_f, x_f), self.loc(z_f, x_f)


class MultiBAN(nn.Module):
    """`box2`, `box3`, ... DepthwiseBANs; loc `exp(l * loc_scale[i])`; optional softmax layer weights."""

    def __init__(self, in_channels, cls_out_channels, weighted=False):
        super().__init__()
        self.weighted = weighted
        for i, c in enumerate(in_channels):
            self.add_module(f"box{i + 2}", DepthwiseBAN(c, c, cls_out_channels))
        if weighted:
            self.cls_weight = nn.Parameter(torch.ones(len(in_channels)))
            self.loc_weight = nn.Parameter(torch.ones(len(in_channels)))
        self.loc_scale = nn.Parameter(torch.ones(len(in_channels)))

    def forward(self, z_fs, x_fs):
        cls, loc = [], []
        for i, (z, x) in enumerate(zip(z_fs, x_fs)):
            c, lo = getattr(self, f"box{i + 2}")(z, x)
            cls.append(c)
            loc.append(torch.exp(lo * self.loc_scale[i]))
        return (_fuse(cls, self.cls_weight if self.weighted else None),
                _fuse(loc, self.loc_weight if self.weighted else None))
