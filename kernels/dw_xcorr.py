"""Pallas DW-Corr (SiamRPN++ depth-wise correlation), forward and `custom_vjp` backward.

    dw_xcorr(x, z)   x [B, Hx, Wx, C], z [B, Hz, Wz, C] -> [B, Ho, Wo, C],  Ho = Hx-Hz+1, Wo = Wx-Wz+1
    y[b, i, j, c] = sum_{u, v} x[b, i+u, j+v, c] * z[b, u, v, c]

Kernel (`_correlate_kernel`): grid (B, C / block_c); each program holds its x block [Hx, Wx', bc] and
z block [Hz, Wz, bc] and, for each output row i, accumulates the Hz*Wz taps `x[i+u, v:v+Wo'] * z[u, v]`
in float32 (the shift-and-accumulate form); with `reduce=True` it also sums its bc channels (used by
`kernels.xcorr`). Triton constraints: every loaded/stored tile is [Wo', bc] or [bc] with Wo' =
next_pow2(Wo) and bc a power of two, so x is zero-padded to width Wz-1+Wo' and C to a multiple of bc;
the loops over rows and taps are `lax.fori_loop`s (dynamic `pl.ds` starts). Either operand may have a
single channel that is broadcast over C (the xcorr backward uses this).

Backward: both cotangents are correlations of the same kind, so they reuse the forward kernel rather
than a scatter kernel (a scatter over taps would need atomics or the same gather loop):
    dz = correlate(x, g)                          ("template" g [Ho, Wo] -> output [Hz, Wz])
    dx = correlate(pad(g, Hz-1, Wz-1), flip(z))   (full correlation -> output [Hx, Wx])

Shapes are not validated here (`kernels/` imports nothing from jaxtrack): `jaxtrack.ops.dw_xcorr` checks its
inputs before it dispatches to `impl="pallas"`. The tests compare against `ops.dw_xcorr(impl="reference")`
and the numpy loops of `tests/np_loops.py`.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from jax import lax
from jax.experimental import pallas as pl

from kernels.common import acc_dtype, check_blocks, compiler_params, resolve_interpret


@dataclasses.dataclass(frozen=True, slots=True)
class BlockSizes:
    """block_c: channels per program (a power of two; shrunk to next_pow2(C) for small C).
    num_warps: Triton warps per program (GPU only)."""

    block_c: int = 32
    num_warps: int = 4

    @classmethod
    def get_default(cls) -> BlockSizes:
        # Mosaic (TPU) wants the minor block dim to be a multiple of 128 lanes (or the full C).
        return cls(block_c=128) if jax.default_backend() == "tpu" else cls()


def _correlate_kernel(x_ref, z_ref, o_ref, *, hz: int, wz: int, ho: int, wo_p: int, acc, reduce: bool):
    """x_ref [Hx, Wz-1+Wo', cx], z_ref [Hz, Wz, cz] (cx, cz = bc or 1) -> o_ref [Ho, Wo', bc] or [Ho, Wo']."""

    def row(i, carry):
        def tap(t, a):
            u, v = t // wz, t % wz
            xs = x_ref[i + u, pl.ds(v, wo_p), :].astype(acc)  # [Wo', cx]
            return a + xs * z_ref[u, v, :].astype(acc)[None, :]  # [Wo', bc]

        bc = max(x_ref.shape[-1], z_ref.shape[-1])
        a = lax.fori_loop(0, hz * wz, tap, jnp.zeros((wo_p, bc), acc))
        if reduce:
            o_ref[i, :] = jnp.sum(a, axis=-1).astype(o_ref.dtype)
        else:
            o_ref[i, :, :] = a.astype(o_ref.dtype)
        return carry

    lax.fori_loop(0, ho, row, 0)


def correlate(x, z, *, reduce: bool, out_dtype, blocks: BlockSizes, interpret: bool):
    """VALID correlation `x [B, Hx, Wx, Cx], z [B, Hz, Wz, Cz]` (Cx, Cz = C or 1, broadcast) ->
    `[B, Ho, Wo, C]`, or `[B, Ho, Wo, 1]` summed over C when `reduce`. No argument checks (callers do)."""
    b, hx, wx, cx = x.shape
    _, hz, wz, cz = z.shape
    c = max(cx, cz)
    ho, wo = hx - hz + 1, wx - wz + 1
    wo_p = pl.next_power_of_2(wo)
    bc = min(blocks.block_c, pl.next_power_of_2(c))
    nc = pl.cdiv(c, bc)
    pad_c = lambda n: (0, nc * bc - n if n > 1 else 0)
    x = jnp.pad(x, ((0, 0), (0, 0), (0, wz - 1 + wo_p - wx), pad_c(cx)))
    z = jnp.pad(z, ((0, 0), (0, 0), (0, 0), pad_c(cz)))
    acc = acc_dtype(x, z)

    def spec(a, n):  # an operand with n == 1 channel is broadcast: every channel block reads channel 0
        return pl.BlockSpec((None, *a.shape[1:3], bc if n > 1 else 1), lambda i, j: (i, 0, 0, j if n > 1 else 0))

    if reduce:
        out_shape = jax.ShapeDtypeStruct((b, nc, ho, wo_p), acc)  # per-block partial sums, added below
        out_spec = pl.BlockSpec((None, None, ho, wo_p), lambda i, j: (i, j, 0, 0))
    else:
        out_shape = jax.ShapeDtypeStruct((b, ho, wo_p, nc * bc), out_dtype)
        out_spec = pl.BlockSpec((None, ho, wo_p, bc), lambda i, j: (i, 0, 0, j))
    y = pl.pallas_call(
        functools.partial(_correlate_kernel, hz=hz, wz=wz, ho=ho, wo_p=wo_p, acc=acc, reduce=reduce),
        grid=(b, nc),
        in_specs=[spec(x, cx), spec(z, cz)],
        out_specs=out_spec,
        out_shape=out_shape,
        compiler_params=compiler_params(blocks.num_warps),
        interpret=interpret,
        name="xcorr_reduce" if reduce else "dw_xcorr",
    )(x, z)
    if reduce:
        return jnp.sum(y, axis=1)[:, :, :wo, None].astype(out_dtype)
    return y[:, :, :wo, :c]


def grads(x, z, g, *, blocks: BlockSizes, interpret: bool):
    """(dx, dz) of `correlate(x, z)` for the output cotangent g [B, Ho, Wo, C or 1]."""
    hz, wz = z.shape[1:3]
    g_full = jnp.pad(g, ((0, 0), (hz - 1, hz - 1), (wz - 1, wz - 1), (0, 0)))
    dx = correlate(g_full, z[:, ::-1, ::-1], reduce=False, out_dtype=x.dtype, blocks=blocks, interpret=interpret)
    dz = correlate(x, g, reduce=False, out_dtype=z.dtype, blocks=blocks, interpret=interpret)
    return dx, dz


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4))
def correlate_vjp(x, z, reduce: bool, blocks: BlockSizes, interpret: bool):
    """`correlate` with its Pallas backward (`grads`); `reduce=True` sums over channels (XCorr)."""
    return correlate(x, z, reduce=reduce, out_dtype=jnp.result_type(x, z), blocks=blocks, interpret=interpret)


def _correlate_fwd(x, z, reduce, blocks, interpret):
    return correlate_vjp(x, z, reduce, blocks, interpret), (x, z)


def _correlate_bwd(reduce, blocks, interpret, res, g):
    del reduce  # `grads` broadcasts a 1-channel cotangent over the channels
    x, z = res
    return grads(x, z, g, blocks=blocks, interpret=interpret)


correlate_vjp.defvjp(_correlate_fwd, _correlate_bwd)


@functools.partial(jax.jit, static_argnames=("blocks", "interpret"))
def dw_xcorr(x, z, *, blocks: BlockSizes | None = None, interpret: bool | None = None):
    """Depth-wise correlation `[B, Hx, Wx, C], [B, Hz, Wz, C] -> [B, Ho, Wo, C]` (dtype of x, z; float32
    accumulation, float64 for float64 inputs). `interpret=None`: interpret on CPU, compiled elsewhere.
    Shapes unchecked (see the module docstring); `blocks` is checked."""
    blocks = blocks or BlockSizes.get_default()
    check_blocks("pallas dw_xcorr", blocks, block_c=blocks.block_c)
    return correlate_vjp(x, z, False, blocks, resolve_interpret(interpret))
