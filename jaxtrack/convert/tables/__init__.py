"""Which table converts which model: chosen from the jaxtrack modules a model is built of.

    rules, stem = model_table(model)        # a SiameseTracker: backbone / neck / head rules with their prefixes
    table = backbone_table(model.backbone)  # BackboneTable of an ImageNet backbone file

Zoo checkpoints (pysot `ModelBuilder`, SiamBAN's) hold `backbone.*`, `neck.*` (if any) and `rpn_head.*` (pysot) or
`head.*` (SiamBAN); they map to the Flax collections' `backbone/`, `neck/` and `head/` subtrees. SiamMask's add
`mask_head.*` and `refine_head.*` (-> `mask_head/`, `refine/`).
"""

from __future__ import annotations

from jaxtrack.convert.mapping import Rule, nest
from jaxtrack.convert.tables import backbones, heads
from jaxtrack.convert.tables.backbones import BackboneTable

# backbone module class -> table
BACKBONES: dict[str, BackboneTable] = {"AtrousResNet": backbones.RESNET, "ResNet": backbones.RESNET,
                                       "AlexNet": backbones.ALEXNET, "MobileNetV2": backbones.MOBILENET_V2}


def backbone_table(module) -> BackboneTable:
    name = type(module).__name__
    if name not in BACKBONES:
        raise KeyError(f"no torch key table for backbone {name}; tables exist for {sorted(BACKBONES)}")
    if name == "AlexNet" and getattr(module, "groups", 1) != 1:
        raise KeyError("no torch key table for the grouped AlexNet (siamfc-pytorch AlexNetV1); pysot's AlexNetLegacy "
                       "is backbone 'alexnet'")
    return BACKBONES[name]


def head_table(module, n_layers: int) -> tuple[str, tuple[Rule, ...]]:
    """(torch prefix, rules) of a head: pysot's `rpn_head.` or SiamBAN's `head.`."""
    name = type(module).__name__
    if name in ("MultiRPN", "MultiBAN") and getattr(module, "branch", "dw") != "dw":
        raise KeyError(f"no torch original for {name}(branch={module.branch!r}): only DW-XCorr heads convert")
    if name == "MultiRPN":  # one layer: pysot's DepthwiseRPN keys first (missing-key messages name them)
        return "rpn_head.", (heads.DEPTHWISE_RPN + heads.MULTI_RPN if n_layers == 1 else heads.MULTI_RPN)
    if name == "MultiBAN":
        return "head.", (heads.DEPTHWISE_BAN + heads.MULTI_BAN if n_layers == 1 else heads.MULTI_BAN)
    if name == "UPChannelRPN":
        if module.out_scale is not None:
            raise KeyError("UPChannelRPN(out_scale=...) has a learnt scale pysot's UPChannelRPN lacks")
        return "rpn_head.", heads.UP_RPN
    raise KeyError(f"no torch key table for head {name}; tables exist for MultiRPN, MultiBAN, UPChannelRPN")


def model_table(model) -> tuple[tuple[Rule, ...], BackboneTable]:
    """All rules of a SiameseTracker (prefixed) and its backbone's table (stem, hints)."""
    bb = backbone_table(model.backbone)
    prefix, head = head_table(model.head, len(model.layers))
    out = nest("backbone.", "backbone/", bb.rules)
    if model.neck is not None:
        out += nest("neck.", "neck/", heads.NECK)
    out += nest(prefix, "head/", head)
    mask_head = getattr(model, "mask_head", None)  # SiamMask: pysot's mask_head / refine_head
    if mask_head is not None:
        if mask_head.branch != "dw":
            raise KeyError(f"no torch original for MaskCorr(branch={mask_head.branch!r}): only DW-XCorr heads convert")
        out += nest("mask_head.", "mask_head/", heads.MASK_CORR)
    if getattr(model, "refine", None) is not None:
        out += nest("refine_head.", "refine/", heads.REFINE)
    return out, bb


__all__ = ["BACKBONES", "BackboneTable", "backbone_table", "head_table", "model_table"]
