"""Backbone tables: pysot (and torchvision) state_dict keys -> jaxtrack backbone parameters (`mapping` rules).

Keys are relative to the backbone (a zoo model's `backbone.` prefix is added by `tables.model_table`). Each table
names its `stem`, the conv that sees the image (its input channels are flipped for BGR -> RGB), the classifier keys
an ImageNet file may carry (`ignore`, dropped with kind="backbone"), hints for layouts that cannot fit, and
`variants`: other layouts of ImageNet files (torchvision's), recognised by a key, with `fills` for the leaves such
a layout lacks (an exact identity where possible).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxtrack.convert.mapping import BN, CONV, CONV_CENTER, VECTOR, Rule, rules
from jaxtrack.models.fusion import BN_EPS


@dataclasses.dataclass(frozen=True)
class BackboneTable:
    rules: tuple[Rule, ...]
    stem: str  # flax path, under the backbone, of the kernel that sees the image
    ignore: tuple[str, ...] = ()  # regexes of ImageNet-classifier keys dropped from backbone files
    hints: tuple[tuple[str, str], ...] = ()  # (regex on torch keys, why such a file cannot fit)
    variants: tuple[tuple[str, BackboneTable], ...] = ()  # (regex on torch keys, the table of that layout)
    fills: tuple[tuple[str, str], ...] = ()  # (flax path with its collection, FILLS name): leaves with no torch key


# fill name -> value of a leaf of that shape: an identity 1x1 conv, and BN leaves making BN(y) = y exactly
FILLS = {"identity": lambda shape: np.eye(shape[-1], dtype=np.float32).reshape(shape),
         "ones": lambda shape: np.ones(shape, np.float32), "zeros": lambda shape: np.zeros(shape, np.float32),
         "unit_var": lambda shape: np.full(shape, 1.0 - BN_EPS, np.float32)}


# pysot resnet_atrous (resnet18 / 34 / 50) -> models.backbones.AtrousResNet; torchvision's ResNets have the same
# keys: their 1x1 shortcuts fill the centre of pysot's 3x3 ones (an initialisation: `conv_center`), and `fc` is
# dropped. jaxtrack's torchvision-layout `ResNet` (resnet18_small) uses the same table.
RESNET = BackboneTable(
    rules=rules(
        ("conv1.weight", "conv1/kernel", CONV),
        ("bn1", "bn1", BN),
        ("layer{s}.{b}.conv{c}.weight", "layer{s}_{b}/conv{c}/kernel", CONV),
        ("layer{s}.{b}.bn{c}", "layer{s}_{b}/bn{c}", BN),
        ("layer{s}.{b}.downsample.0.weight", "layer{s}_{b}/downsample_conv/kernel", CONV_CENTER),
        ("layer{s}.{b}.downsample.1", "layer{s}_{b}/downsample_bn", BN),
    ),
    stem="conv1/kernel",
    ignore=(r"^fc\.",),
)

# pysot AlexNetLegacy `features.{0,4,8,11,14}` convs (with bias) and `features.{1,5,9,12,15}` BNs; the same
# network as pysot AlexNet `layer{1..5}.0` / `.1` (alexnet-bn.pth), or a bare Sequential ("0.weight", ...: pysot's
# load_pretrain prefixes it with "features.") -> models.backbones.AlexNet (groups=1).
_LEGACY = ((0, 1), (4, 5), (8, 9), (11, 12), (14, 15))
ALEXNET = BackboneTable(
    rules=rules(*[entry for i, (c, b) in enumerate(_LEGACY) for prefix in ("features.", "") for entry in (
        (f"{prefix}{c}.weight", f"conv{i + 1}/kernel", CONV), (f"{prefix}{c}.bias", f"conv{i + 1}/bias", VECTOR),
        (f"{prefix}{b}", f"bn{i + 1}", BN))],
                *[entry for i in range(5) for entry in (
                    (f"layer{i + 1}.0.weight", f"conv{i + 1}/kernel", CONV),
                    (f"layer{i + 1}.0.bias", f"conv{i + 1}/bias", VECTOR),
                    (f"layer{i + 1}.1", f"bn{i + 1}", BN))]),
    stem="conv1/kernel",
    hints=((r"^features\.3\.weight$", "this looks like torchvision's AlexNet (64-192-384-256-256 channels, padded, "
                                      "no BatchNorm), which is not pysot's AlexNetLegacy (96-256-384-384-256, "
                                      "BatchNorm): pysot initialises it from its own alexnet-bn.pth"),),
)

# torchvision mobilenet_v2 (width 1.0) -> models.backbones.MobileNetV2(width_mult=1.0) as an initialisation: its
# padded strided convs are pysot's unpadded ones, and its first block has no expansion conv, for which pysot's
# layer1_0 expand conv + BN get an exact identity (their input is a ReLU6 output). features.18 / classifier dropped.
_BLOCKS = [(layer, b) for layer, n in enumerate((1, 2, 3, 4, 3, 3, 1), start=1) for b in range(n)]
MOBILENET_V2_TORCHVISION = BackboneTable(
    rules=rules(
        ("features.0.0.weight", "layer0_conv/kernel", CONV),
        ("features.0.1", "layer0_bn", BN),
        ("features.1.conv.0.0.weight", "layer1_0/depthwise/kernel", CONV),
        ("features.1.conv.0.1", "layer1_0/depthwise_bn", BN),
        ("features.1.conv.1.weight", "layer1_0/project/kernel", CONV),
        ("features.1.conv.2", "layer1_0/project_bn", BN),
        *[entry for k, (layer, b) in enumerate(_BLOCKS[1:], start=2) for entry in (
            (f"features.{k}.conv.0.0.weight", f"layer{layer}_{b}/expand/kernel", CONV),
            (f"features.{k}.conv.0.1", f"layer{layer}_{b}/expand_bn", BN),
            (f"features.{k}.conv.1.0.weight", f"layer{layer}_{b}/depthwise/kernel", CONV),
            (f"features.{k}.conv.1.1", f"layer{layer}_{b}/depthwise_bn", BN),
            (f"features.{k}.conv.2.weight", f"layer{layer}_{b}/project/kernel", CONV),
            (f"features.{k}.conv.3", f"layer{layer}_{b}/project_bn", BN))],
    ),
    stem="layer0_conv/kernel",
    ignore=(r"^features\.18\.", r"^classifier\."),
    fills=(("params/layer1_0/expand/kernel", "identity"), ("params/layer1_0/expand_bn/scale", "ones"),
           ("params/layer1_0/expand_bn/bias", "zeros"), ("batch_stats/layer1_0/expand_bn/mean", "zeros"),
           ("batch_stats/layer1_0/expand_bn/var", "unit_var")),
)

# pysot mobile_v2.MobileNetV2: `layer0` = conv, BN; blocks `layer{l}.{b}.conv` = 1x1 expand (0), BN (1), 3x3
# depthwise (3), BN (4), 1x1 project (6), BN (7) -> models.backbones.MobileNetV2.
MOBILENET_V2 = BackboneTable(
    rules=rules(
        ("layer0.0.weight", "layer0_conv/kernel", CONV),
        ("layer0.1", "layer0_bn", BN),
        ("layer{l}.{b}.conv.0.weight", "layer{l}_{b}/expand/kernel", CONV),
        ("layer{l}.{b}.conv.1", "layer{l}_{b}/expand_bn", BN),
        ("layer{l}.{b}.conv.3.weight", "layer{l}_{b}/depthwise/kernel", CONV),
        ("layer{l}.{b}.conv.4", "layer{l}_{b}/depthwise_bn", BN),
        ("layer{l}.{b}.conv.6.weight", "layer{l}_{b}/project/kernel", CONV),
        ("layer{l}.{b}.conv.7", "layer{l}_{b}/project_bn", BN),
    ),
    stem="layer0_conv/kernel",
    variants=((r"^features\.1\.conv\.0\.0\.weight$", MOBILENET_V2_TORCHVISION),),
)
