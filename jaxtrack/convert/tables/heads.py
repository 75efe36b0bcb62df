"""Neck and head tables: pysot / SiamBAN keys (relative to `neck.`, `rpn_head.` or `head.`) -> jaxtrack's
`models.neck.AdjustAllLayer`, `models.heads` MultiRPN / MultiBAN (branch "dw") and UPChannelRPN parameters, and
SiamMask's mask branch and refine module (`mask_head.`, `refine_head.`: `models.heads.mask`)."""

from __future__ import annotations

from jaxtrack.convert.mapping import BN, CONV, DECONV, VECTOR, nest, rules

# pysot AdjustAllLayer: `downsample{l}.downsample` = 1x1 conv (no bias), BN; one layer: `downsample.downsample`.
NECK = rules(
    ("downsample{l}.downsample.0.weight", "downsample{l}/Conv_0/kernel", CONV),
    ("downsample{l}.downsample.1", "downsample{l}/BatchNorm_0", BN),
    ("downsample.downsample.0.weight", "downsample2/Conv_0/kernel", CONV),
    ("downsample.downsample.1", "downsample2/BatchNorm_0", BN),
)

# pysot / SiamBAN DepthwiseXCorr -> models.fusion.DepthwiseXCorr: conv_kernel / conv_search = 3x3 conv, BN (ReLU);
# head = 1x1 conv (0), BN (1), ReLU, 1x1 conv with bias (3).
DW_XCORR = rules(
    ("conv_{side:kernel|search}.0.weight", "conv_{side:kernel|search}/Conv_0/kernel", CONV),
    ("conv_{side:kernel|search}.1", "conv_{side:kernel|search}/BatchNorm_0", BN),
    ("head.0.weight", "Conv_0/kernel", CONV),
    ("head.1", "BatchNorm_0", BN),
    ("head.3.weight", "head_out/kernel", CONV),
    ("head.3.bias", "head_out/bias", VECTOR),
)

_LAYER_WEIGHTS = rules(("cls_weight", "cls_weight", VECTOR), ("loc_weight", "loc_weight", VECTOR))

# pysot MultiRPN: `rpn{l}.cls` / `rpn{l}.loc` DepthwiseXCorr per layer, softmax fusion weights if weighted.
MULTI_RPN = _LAYER_WEIGHTS + nest("rpn{l}.{part:cls|loc}.", "rpn{l}_{part:cls|loc}/", DW_XCORR)
# pysot DepthwiseRPN (one layer, siamrpn_alex_dwxcorr): `cls` / `loc` -> MultiRPN's rpn2 branches.
DEPTHWISE_RPN = nest("{part:cls|loc}.", "rpn2_{part:cls|loc}/", DW_XCORR)

# SiamBAN MultiBAN: `box{l}.cls` / `box{l}.loc` per layer, `loc_scale`, fusion weights if weighted.
MULTI_BAN = _LAYER_WEIGHTS + rules(("loc_scale", "loc_scale", VECTOR)) + nest(
    "box{l}.{part:cls|loc}.", "box{l}_{part:cls|loc}/", DW_XCORR)
# SiamBAN DepthwiseBAN (one layer) -> MultiBAN's box2 branches.
DEPTHWISE_BAN = nest("{part:cls|loc}.", "box2_{part:cls|loc}/", DW_XCORR)

# pysot UPChannelRPN (SiamRPN): template / search 3x3 convs per branch (with bias), `loc_adjust` 1x1.
UP_RPN = rules(
    ("{side:template|search}_{part:cls|loc}_conv.weight", "{part:cls|loc}/{side:template|search}_conv/kernel", CONV),
    ("{side:template|search}_{part:cls|loc}_conv.bias", "{part:cls|loc}/{side:template|search}_conv/bias", VECTOR),
    ("loc_adjust.weight", "loc/adjust/kernel", CONV),
    ("loc_adjust.bias", "loc/adjust/bias", VECTOR),
)

# pysot MaskCorr (a DepthwiseXCorr to 63 * 63 channels) -> models.heads.mask.MaskCorr (branch "dw"): DW_XCORR's keys.
MASK_CORR = DW_XCORR

# pysot Refine: v0-2 / h0-2 two 3x3 convs with bias each (Sequential indices 0, 2), deconv (ConvTranspose2d 15 / 15),
# post0-2 3x3 convs.
REFINE = rules(
    ("{m:v|h}{l}.{i}.weight", "{m:v|h}{l}_{i}/kernel", CONV),
    ("{m:v|h}{l}.{i}.bias", "{m:v|h}{l}_{i}/bias", VECTOR),
    ("deconv.weight", "deconv_kernel", DECONV),
    ("deconv.bias", "deconv_bias", VECTOR),
    ("post{l}.weight", "post{l}/kernel", CONV),
    ("post{l}.bias", "post{l}/bias", VECTOR),
)
