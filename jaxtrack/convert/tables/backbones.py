"""Backbone tables: pysot (and torchvision) state_dict keys -> jaxtrack backbone parameters (`mapping` rules).

Keys are relative to the backbone (a zoo model's `backbone.` prefix is added by `tables.model_table`). Each table
names its `stem`, the conv that sees the image (its input channels are flipped for BGR -> RGB), the classifier keys
an ImageNet file may carry (`ignore`, dropped with kind="backbone"), and hints for layouts that cannot fit.
"""

from __future__ import annotations

import dataclasses

from jaxtrack.convert.mapping import BN, CONV, CONV_CENTER, VECTOR, Rule, rules


@dataclasses.dataclass(frozen=True)
class BackboneTable:
    rules: tuple[Rule, ...]
    stem: str  # flax path, under the backbone, of the kernel that sees the image
    ignore: tuple[str, ...] = ()  # regexes of ImageNet-classifier keys dropped from backbone files
    hints: tuple[tuple[str, str], ...] = ()  # (regex on torch keys, why such a file cannot fit)


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
    hints=((r"^features\.\d+\.conv\.", "this looks like torchvision's MobileNetV2 (`features.*`), whose layout "
                                       "(padded strided convs, no expansion conv in block 1, width 1.0) is not "
                                       "pysot's: convert a pysot-layout file"),),
)
