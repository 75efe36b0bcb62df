"""Pallas kernels and operator microbenchmarks.

Kernels (GPU via Triton, TPU via Mosaic, CPU in interpret mode; each with a `custom_vjp` backward). They
import only jax/numpy, never `jaxtrack` (`jaxtrack.ops.pallas_impls` registers them as `impl="pallas"`
and validates their inputs); shared helpers in common.py:
    dw_xcorr.dw_xcorr(x, z)            [B,Hx,Wx,C], [B,Hz,Wz,C] -> [B,Ho,Wo,C]   (ops.dw_xcorr impl="pallas")
    xcorr.xcorr(x, z)                  [B,Hx,Wx,C], [B,Hz,Wz,C] -> [B,Ho,Wo,1]   (ops.xcorr impl="pallas")
    acm_epilogue.acm_epilogue(s, t, scale, shift, relu=)  relu((s + t) * scale + shift), s [B,Ho,Wo,P],
        t [B,P], scale, shift [P] or None   (ops.asym_conv / asym_conv_bn_relu impl="pallas")
Benchmarks (these may import jaxtrack): bench.py (every op x impl), roofline.py (device peaks),
torch_peer.py (PyTorch column).
"""
