"""Correlation and fusion operators (NHWC). Contract: DESIGN.md, "Operator contract".

    xcorr(x, z)                 [B,Hx,Wx,C], [B,Hz,Wz,C]   -> [B,Ho,Wo,1]
    up_xcorr(x, z)              [B,Hx,Wx,C], [B,Hz,Wz,K*C] -> [B,Ho,Wo,K]
    dw_xcorr(x, z)              [B,Hx,Wx,C], [B,Hz,Wz,C]   -> [B,Ho,Wo,C]
    asym_conv(x, z, tx, tz, b)  tx, tz [Hz,Wz,C,P]        -> [B,Ho,Wo,P]
    concat_conv_reference(x, z, theta, b)  theta [Hz,Wz,2C,P] -> [B,Ho,Wo,P]

Each takes `impl=` (see `implementations(op)`; "auto" picks the fastest measured form).
"""

from jaxtrack.ops import pallas_impls  # noqa: F401  (registers impl="pallas")
from jaxtrack.ops.asym import asym_conv, concat_conv_reference
from jaxtrack.ops.registry import auto_choice, implementations, register
from jaxtrack.ops.xcorr import dw_xcorr, up_xcorr, xcorr

OPS = ("xcorr", "up_xcorr", "dw_xcorr", "asym_conv")

__all__ = [
    "OPS", "asym_conv", "auto_choice", "concat_conv_reference", "dw_xcorr", "implementations", "register",
    "up_xcorr", "xcorr",
]
