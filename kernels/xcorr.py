"""Pallas XCorr (SiamFC cross-correlation summed over channels), forward and `custom_vjp` backward.

    xcorr(x, z)   x [B, Hx, Wx, C], z [B, Hz, Wz, C] -> [B, Ho, Wo, 1]

Forward: the DW-Corr kernel of `kernels.dw_xcorr` with `reduce=True`: each (batch, channel-block)
program sums its bc channels in registers after the tap loop and writes a [Ho, Wo'] partial sum; the
C/bc partials are added by XLA. Why this split rather than one program looping over all channels: the
[B, Ho, Wo, C] depth-wise result never reaches HBM (C times less output traffic than dw kernel + XLA
reduce), yet the grid keeps B * C/bc programs in flight (SiamFC, B=8, C=256, bc=32: 64 programs; a
channel loop inside one program per example would leave most SMs idle). The partial-sum traffic
(B * C/bc * Ho * Wo' floats) is small next to reading x. Not measured on a GPU.

Backward: the cotangent g [B, Ho, Wo, 1] is broadcast over channels inside the kernel (1-channel operand):
    dz = correlate(x, g),  dx = correlate(pad(g, Hz-1, Wz-1), flip(z))   (both [.., C])

Shapes are not validated here: `jaxtrack.ops.xcorr` checks them before it dispatches to `impl="pallas"`.
The tests compare against `ops.xcorr(impl="reference")` and `tests/np_loops.py`.
"""

from __future__ import annotations

import functools

import jax

from kernels.common import check_blocks, resolve_interpret
from kernels.dw_xcorr import BlockSizes, correlate_vjp


@functools.partial(jax.jit, static_argnames=("blocks", "interpret"))
def xcorr(x, z, *, blocks: BlockSizes | None = None, interpret: bool | None = None):
    """Cross-correlation summed over channels `[B, Hx, Wx, C], [B, Hz, Wz, C] -> [B, Ho, Wo, 1]` (dtype of
    x, z; float32 accumulation). `interpret=None`: interpret on CPU, compiled elsewhere."""
    blocks = blocks or BlockSizes.get_default()
    check_blocks("pallas xcorr", blocks, block_c=blocks.block_c)
    return correlate_vjp(x, z, True, blocks, resolve_interpret(interpret))
