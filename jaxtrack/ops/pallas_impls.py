"""Registers the Pallas kernels (`kernels/`) as `impl="pallas"` of `dw_xcorr`, `xcorr` and `asym_conv`.

The kernels validate nothing (`kernels/` may not import jaxtrack): the operator front-ends
(`ops.dw_xcorr`, `ops.xcorr`, `ops.asym_conv`, `ops.asym_conv_bn_relu`) run `checks` on every input before
they dispatch here. On the CPU backend the kernels run in Pallas interpret mode (correct, slow); on GPU
(Triton) and TPU (Mosaic) they are compiled. `impl="auto"` only picks them where `auto_table.json`
measured them fastest.

asym_conv: the search term conv(x, theta_x) [B, Ho, Wo, P] is XLA's convolution; the broadcast add of the
template term t [B, P] (and, for `asym_conv_bn_relu`, the folded BatchNorm affine and the ReLU) is the
fused epilogue kernel `kernels.acm_epilogue`: one read and one write of the [B, Ho, Wo, P] map.
"""

from __future__ import annotations

from jaxtrack.ops.asym import search_xla_conv
from jaxtrack.ops.registry import register
from kernels import acm_epilogue as _ep
from kernels import dw_xcorr as _dw
from kernels import xcorr as _xc

register("dw_xcorr", "pallas")(lambda x, z: _dw.dw_xcorr(x, z))
register("xcorr", "pallas")(lambda x, z: _xc.xcorr(x, z))


@register("asym_conv", "pallas")
def _asym_conv(x, theta_x, t, scale, shift, relu: bool):
    """x [B, Hx, Wx, C], theta_x [Hz, Wz, C, P], t [B, P], scale, shift [P] or None -> [B, Ho, Wo, P]."""
    s = search_xla_conv(x, theta_x)  # accumulation dtype
    return _ep.acm_epilogue(s, t.astype(s.dtype), scale, shift, relu=relu)
