"""Pallas kernels and operator microbenchmarks.

Kernels (GPU via Triton, TPU via Mosaic, CPU in interpret mode; each with a `custom_vjp` backward and a
pure-jnp `*_reference` beside it):
    dw_xcorr.dw_xcorr(x, z)            [B,Hx,Wx,C], [B,Hz,Wz,C] -> [B,Ho,Wo,C]   (ops impl="pallas")
    xcorr.xcorr(x, z)                  [B,Hx,Wx,C], [B,Hz,Wz,C] -> [B,Ho,Wo,1]   (ops impl="pallas")
    acm_epilogue.acm_epilogue(s, t, scale, shift)  relu((s + t) * scale + shift), s [B,Ho,Wo,P], t [B,P]
Benchmarks: bench.py (every op x impl), roofline.py (device peaks), torch_peer.py (PyTorch column).
"""
