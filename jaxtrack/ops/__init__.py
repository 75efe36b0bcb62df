"""Correlation and fusion operators (NHWC).

    xcorr(x, z)                 [B,Hx,Wx,C], [B,Hz,Wz,C]   -> [B,Ho,Wo,1]
    up_xcorr(x, z)              [B,Hx,Wx,C], [B,Hz,Wz,K*C] -> [B,Ho,Wo,K]
    dw_xcorr(x, z)              [B,Hx,Wx,C], [B,Hz,Wz,C]   -> [B,Ho,Wo,C]
    asym_conv(x, z, tx, tz, b, box_embed=)  tx, tz [Hz,Wz,C,P], b [P], box_embed [B,P] -> [B,Ho,Wo,P]
    asym_conv_bn_relu(x, z, tx, tz, b, scale, shift, box_embed=)  relu(asym_conv(..) * scale + shift)
    asym_search(x, tx, t, scale=, shift=)  the per-frame part, t [B,P] = conv(z, tz) + b + box_embed precomputed
    concat_conv_reference(x, z, theta, b)  theta [Hz,Wz,2C,P] -> [B,Ho,Wo,P]
    roi_align(f, boxes, out_size, spatial_scale=, sampling_ratio=, aligned=)  f [B,H,W,C], boxes [B,N,4]
                                x1,y1,x2,y2 -> [B,N,Ho,Wo,C] (torchvision's semantics; roi_align.py)

Temporal fusion (`temporal`; x [B,K,D] segment features, mask [B,K] real segments):
    consensus(x, mask, mode=avg|max|weighted, weights=)  -> [B,D]   TSN
    relation_tuples(K, s, N, key=), trn_relation(x, tuples, w1, b1, w2, b2, mask), trn_multiscale  -> [B,O]  TRN
    conv3d(x [B,K,H,W,C], w [kt,kh,kw,C,P], b, mask)  -> [B,K,H,W,P]   ECO-Lite

Contract (the README's "Operators" section has the table of implementations):
- x is the search features, z the template (per-example kernel); VALID correlation without kernel flip,
  Ho = Hx-Hz+1, Wo = Wx-Wz+1.
- Inputs are validated by `checks` before any implementation runs: a `ValueError` names the argument and
  both shapes.
- Any float dtype in; float32 accumulation (float64 for float64 inputs); the result has the inputs' dtype.
- Every op takes `impl=`: a name from `implementations(op)` (all agree with "reference", values and
  gradients; "pallas" = the kernels of `kernels/`, interpret mode on CPU) or "auto", the fastest form
  measured for the backend and shape (`auto_table.json`, XLA's convolution where nothing was measured).
"""

from jaxtrack.ops import pallas_impls  # noqa: F401  (registers impl="pallas")
from jaxtrack.ops.asym import asym_conv, asym_conv_bn_relu, asym_search, concat_conv_reference
from jaxtrack.ops.registry import auto_choice, implementations, register
from jaxtrack.ops.roi_align import roi_align, roi_align_reference
from jaxtrack.ops.temporal import consensus, conv3d, relation_tuples, trn_multiscale, trn_relation
from jaxtrack.ops.xcorr import dw_xcorr, up_xcorr, xcorr

OPS = ("xcorr", "up_xcorr", "dw_xcorr", "asym_conv")  # the correlation operators (roi_align stands apart)
TEMPORAL_OPS = ("consensus", "trn_relation", "conv3d")

__all__ = [
    "OPS", "TEMPORAL_OPS", "asym_conv", "asym_conv_bn_relu", "asym_search", "auto_choice", "concat_conv_reference",
    "consensus", "conv3d", "dw_xcorr", "implementations", "register", "relation_tuples", "roi_align",
    "roi_align_reference", "trn_multiscale", "trn_relation", "up_xcorr", "xcorr",
]
