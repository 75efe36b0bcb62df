"""Reference backbones (torch, NCHW): pysot's resnet_atrous / AlexNetLegacy / AlexNet / MobileNetV2 and
torchvision's ResNet-50 / MobileNetV2 key layouts. Key names are the originals' (`layer2.0.downsample.0.weight`,
`features.4.weight`, `layer3.1.conv.3.weight`, ...)."""

from __future__ import annotations

import torch
from torch import nn


class Bottleneck(nn.Module):
    """pysot resnet_atrous Bottleneck: 1x1, 3x3 (stride / dilation, unpadded when strided), 1x1 (x4)."""

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
        super().__init__()
        padding = 2 - stride
        if downsample is not None and dilation > 1:
            dilation = dilation // 2
            padding = dilation
        if dilation > 1:
            padding = dilation
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, padding, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = downsample

    def forward(self, x):
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class BasicBlock(nn.Module):
    """pysot resnet_atrous BasicBlock: two 3x3 convs (the first strided / half-dilated in a stage's first block)."""

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None, dilation=1):
        super().__init__()
        padding = dilation if dilation > 1 else 2 - stride
        dd, pad = dilation, padding
        if downsample is not None and dilation > 1:
            dd = pad = dilation // 2
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, pad, dd, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, dilation, dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(out + (x if self.downsample is None else self.downsample(x)))


class AtrousResNet(nn.Module):
    """pysot resnet_atrous.ResNet: unpadded 7x7/2 stem, layer2 stride 2, layer3 / layer4 dilation 2 / 4.
    `widths` / `stem` scale it down for cheap tests (pysot: 64, 128, 256, 512 / 64). Returns [layer_i for i in
    used_layers] (`layer0` is the stem's ReLU output)."""

    def __init__(self, block=Bottleneck, layers=(3, 4, 6, 3), used_layers=(2, 3, 4), widths=(64, 128, 256, 512),
                 stem=64, torchvision_shortcuts=False):
        super().__init__()
        self.inplanes, self.used_layers, self.tv = stem, tuple(used_layers), torchvision_shortcuts
        self.conv1 = nn.Conv2d(3, stem, 7, 2, 0, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        plan = ((1, 1), (2, 1), (1, 2), (1, 4))
        for i in range(max(self.used_layers)):
            setattr(self, f"layer{i + 1}", self._make_layer(block, widths[i], layers[i], *plan[i]))

    def _make_layer(self, block, planes, blocks, stride, dilation):
        downsample, out = None, planes * block.expansion
        if stride != 1 or self.inplanes != out:
            if (stride == 1 and dilation == 1) or self.tv:  # torchvision: always a 1x1 shortcut
                conv = nn.Conv2d(self.inplanes, out, 1, stride, bias=False)
            else:
                dd = dilation // 2 if dilation > 1 else 1
                conv = nn.Conv2d(self.inplanes, out, 3, stride, dd if dilation > 1 else 0, dd, bias=False)
            downsample = nn.Sequential(conv, nn.BatchNorm2d(out))
        layers = [block(self.inplanes, planes, stride, downsample, dilation=dilation)]
        self.inplanes = out
        layers += [block(self.inplanes, planes, dilation=dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        x_ = torch.relu(self.bn1(self.conv1(x)))
        outs, x = [x_], self.maxpool(x_)
        for i in range(max(self.used_layers)):
            x = getattr(self, f"layer{i + 1}")(x)
            outs.append(x)
        return [outs[i] for i in self.used_layers]


def torchvision_resnet50_state_dict(widths=(64, 128, 256, 512), stem=64, seed=0) -> dict:
    """A state_dict with torchvision's resnet50 keys and shapes (1x1 shortcuts, `fc`), random values."""
    net = AtrousResNet(Bottleneck, (3, 4, 6, 3), (4,), widths, stem, torchvision_shortcuts=True)
    fc = nn.Linear(widths[-1] * 4, 1000)
    g = torch.Generator().manual_seed(seed)
    sd = {k: torch.randn(v.shape, generator=g) if v.is_floating_point() else v for k, v in net.state_dict().items()}
    return {**sd, "fc.weight": fc.weight.detach(), "fc.bias": fc.bias.detach()}


ALEX_CHANNELS = (3, 96, 256, 384, 384, 256)


def _alex_layers(width_mult):
    c = [3] + [int(x * width_mult) for x in ALEX_CHANNELS[1:]]
    return [[nn.Conv2d(c[0], c[1], 11, 2), nn.BatchNorm2d(c[1]), nn.MaxPool2d(3, 2), nn.ReLU()],
            [nn.Conv2d(c[1], c[2], 5), nn.BatchNorm2d(c[2]), nn.MaxPool2d(3, 2), nn.ReLU()],
            [nn.Conv2d(c[2], c[3], 3), nn.BatchNorm2d(c[3]), nn.ReLU()],
            [nn.Conv2d(c[3], c[4], 3), nn.BatchNorm2d(c[4]), nn.ReLU()],
            [nn.Conv2d(c[4], c[5], 3), nn.BatchNorm2d(c[5])]]


class AlexNetLegacy(nn.Module):
    """pysot AlexNetLegacy: one `features` Sequential (keys features.0/1, 4/5, 8/9, 11/12, 14/15)."""

    def __init__(self, width_mult=1.0):
        super().__init__()
        self.features = nn.Sequential(*[m for layer in _alex_layers(width_mult) for m in layer])

    def forward(self, x):
        return self.features(x)


class AlexNet(nn.Module):
    """pysot AlexNet: the same network as `layer1..layer5` Sequentials (keys layer1.0, layer1.1, ...)."""

    def __init__(self, width_mult=1.0):
        super().__init__()
        for i, layer in enumerate(_alex_layers(width_mult)):
            setattr(self, f"layer{i + 1}", nn.Sequential(*layer))

    def forward(self, x):
        for i in range(5):
            x = getattr(self, f"layer{i + 1}")(x)
        return x


class InvertedResidual(nn.Module):
    """pysot mobile_v2 InvertedResidual: `conv` = pw 1x1, BN, ReLU6, dw 3x3, BN, ReLU6, pw-linear 1x1, BN."""

    def __init__(self, inp, oup, stride, expand_ratio, dilation=1):
        super().__init__()
        self.use_res_connect = stride == 1 and inp == oup
        padding = dilation if dilation > 1 else 2 - stride
        h = inp * expand_ratio
        self.conv = nn.Sequential(
            nn.Conv2d(inp, h, 1, 1, 0, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
            nn.Conv2d(h, h, 3, stride, padding, dilation=dilation, groups=h, bias=False), nn.BatchNorm2d(h),
            nn.ReLU6(), nn.Conv2d(h, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup))

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Sequential):
    """pysot MobileNetV2 (a Sequential of `layer0..layer7`), returning [layer_i for i in used_layers]."""

    SETTING = ((1, 16, 1, 1, 1), (6, 24, 2, 2, 1), (6, 32, 3, 2, 1), (6, 64, 4, 1, 2), (6, 96, 3, 1, 2),
               (6, 160, 3, 1, 4), (6, 320, 1, 1, 4))

    def __init__(self, width_mult=1.0, used_layers=(3, 5, 7)):
        super().__init__()
        self.used_layers = tuple(used_layers)
        inp = int(32 * width_mult)
        self.add_module("layer0", nn.Sequential(nn.Conv2d(3, inp, 3, 2, 0, bias=False), nn.BatchNorm2d(inp),
                                                nn.ReLU6()))
        last = 1
        for idx, (t, c, n, s, d) in enumerate(self.SETTING, start=1):
            out, blocks = int(c * width_mult), []
            for i in range(n):
                dd = (d if d == last else max(d // 2, 1)) if i == 0 else d
                blocks.append(InvertedResidual(inp, out, s if i == 0 else 1, t, dd))
                inp = out
            last = d
            self.add_module(f"layer{idx}", nn.Sequential(*blocks))

    def forward(self, x):
        outs = []
        for idx in range(8):
            x = getattr(self, f"layer{idx}")(x)
            outs.append(x)
        return [outs[i] for i in self.used_layers]


def _tv_block(inp, oup, stride, t):
    h = inp * t
    dw = nn.Sequential(nn.Conv2d(h, h, 3, stride, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6())
    project = [nn.Conv2d(h, oup, 1, bias=False), nn.BatchNorm2d(oup)]
    expand = [nn.Sequential(nn.Conv2d(inp, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6())] if t != 1 else []
    block = nn.Module()
    block.conv = nn.Sequential(*expand, dw, *project)
    return block


def torchvision_mobilenet_v2_state_dict(seed=0) -> dict:
    """A state_dict with torchvision's mobilenet_v2 keys and shapes (`features.0..18`, `classifier.1`; the t = 1
    block without an expansion conv), random values."""
    features = [nn.Sequential(nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6())]
    inp = 32
    for t, c, n, s, _ in MobileNetV2.SETTING:
        for i in range(n):
            features.append(_tv_block(inp, c, s if i == 0 else 1, t))
            inp = c
    features.append(nn.Sequential(nn.Conv2d(320, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()))
    net = nn.Module()
    net.features = nn.Sequential(*features)
    net.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(1280, 1000))
    g = torch.Generator().manual_seed(seed)
    return {k: torch.randn(v.shape, generator=g) if v.is_floating_point() else v for k, v in net.state_dict().items()}
