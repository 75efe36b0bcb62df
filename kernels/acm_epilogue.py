"""Pallas fused ACM epilogue: template broadcast-add, BatchNorm affine and ReLU in one pass.

    acm_epilogue(s, t, scale, shift) = relu((s + t[:, None, None, :]) * scale + shift)
    s [B, Ho, Wo, P] (search term conv(x, theta_x), from XLA's conv), t [B, P] (template term
    conv(z, theta_z) + bias + box embedding), scale, shift [P] (inference BN folded to an affine)
    -> [B, Ho, Wo, P] in s's dtype, computed in float32 (float64 for float64 inputs).

Unfused, XLA reads and writes the [B, Ho, Wo, P] map once per elementwise op it does not fuse into the
conv; here it is one read and one write. Layout: s is viewed as [B, Ho*Wo, P]; grid (B, HW/bhw, P/bp),
each program one [bhw, bp] tile (powers of two, inputs zero-padded). Backward (one kernel, same grid)
recomputes the pre-activation from the inputs, writes ds and per-tile column sums for dt, dscale and
dshift, which XLA adds over tiles (and batch): with `ga = g * (a > 0)`,
    ds = ga * scale,  dt = sum_hw ds,  dscale = sum_{b,hw} ga * (s + t),  dshift = sum_{b,hw} ga.
Padded rows/columns have g = 0, so they add nothing.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from jaxtrack.ops.checks import acc_dtype, check_vector
from kernels.dw_xcorr import check_blocks, compiler_params, resolve_interpret


@dataclasses.dataclass(frozen=True, slots=True)
class EpilogueBlocks:
    """block_hw: output positions per program; block_p: channels per program (powers of two, shrunk to
    next_pow2 of the size). num_warps: Triton warps (GPU only)."""

    block_hw: int = 64
    block_p: int = 128
    num_warps: int = 4


def _preact(s_ref, t_ref, scale_ref, shift_ref, acc):
    st = s_ref[...].astype(acc) + t_ref[...].astype(acc)  # [bhw, bp] + [1, bp]
    return st, st * scale_ref[...].astype(acc) + shift_ref[...].astype(acc)


def _fwd_kernel(s_ref, t_ref, scale_ref, shift_ref, o_ref, *, acc):
    _, a = _preact(s_ref, t_ref, scale_ref, shift_ref, acc)
    o_ref[...] = jnp.maximum(a, 0).astype(o_ref.dtype)


def _bwd_kernel(s_ref, t_ref, scale_ref, shift_ref, g_ref, ds_ref, dt_ref, dscale_ref, dshift_ref, *, acc):
    st, a = _preact(s_ref, t_ref, scale_ref, shift_ref, acc)
    ga = jnp.where(a > 0, g_ref[...].astype(acc), 0)
    ds = ga * scale_ref[...].astype(acc)
    ds_ref[...] = ds.astype(ds_ref.dtype)
    dt_ref[...] = jnp.sum(ds, axis=0, keepdims=True)
    dscale_ref[...] = jnp.sum(ga * st, axis=0, keepdims=True)
    dshift_ref[...] = jnp.sum(ga, axis=0, keepdims=True)


def _layout(s, t, scale, shift, blocks):
    """Padded operands ([B, HW', P'], [B, 1, P'], [1, P'], [1, P']), block specs and grid."""
    b, ho, wo, p = s.shape
    hw = ho * wo
    bhw, bp = min(blocks.block_hw, pl.next_power_of_2(hw)), min(blocks.block_p, pl.next_power_of_2(p))
    n_hw, n_p = pl.cdiv(hw, bhw), pl.cdiv(p, bp)
    pad_p = (0, n_p * bp - p)
    ops = (jnp.pad(s.reshape(b, hw, p), ((0, 0), (0, n_hw * bhw - hw), pad_p)),
           jnp.pad(t[:, None], ((0, 0), (0, 0), pad_p)),
           jnp.pad(scale[None], ((0, 0), pad_p)), jnp.pad(shift[None], ((0, 0), pad_p)))
    tile = pl.BlockSpec((None, bhw, bp), lambda i, j, k: (i, j, k))
    row = pl.BlockSpec((None, 1, bp), lambda i, j, k: (i, 0, k))
    vec = pl.BlockSpec((1, bp), lambda i, j, k: (0, k))
    part = pl.BlockSpec((None, None, 1, bp), lambda i, j, k: (i, j, 0, k))
    return ops, (tile, row, vec, part), (b, n_hw, n_p)


def _forward(s, t, scale, shift, blocks, interpret):
    (sp, tp, scp, shp), (tile, row, vec, _), grid = _layout(s, t, scale, shift, blocks)
    y = pl.pallas_call(
        functools.partial(_fwd_kernel, acc=acc_dtype(s, t, scale, shift)),
        grid=grid, in_specs=[tile, row, vec, vec], out_specs=tile,
        out_shape=jax.ShapeDtypeStruct(sp.shape, s.dtype),
        compiler_params=compiler_params(blocks), interpret=interpret, name="acm_epilogue",
    )(sp, tp, scp, shp)
    _, ho, wo, p = s.shape
    return y[:, :ho * wo, :p].reshape(s.shape)


@functools.partial(jax.custom_vjp, nondiff_argnums=(4, 5))
def _epilogue(s, t, scale, shift, blocks, interpret):
    return _forward(s, t, scale, shift, blocks, interpret)


def _epilogue_fwd(s, t, scale, shift, blocks, interpret):
    return _forward(s, t, scale, shift, blocks, interpret), (s, t, scale, shift)


def _epilogue_bwd(blocks, interpret, res, g):
    s, t, scale, shift = res
    (sp, tp, scp, shp), (tile, row, vec, part), grid = _layout(s, t, scale, shift, blocks)
    b, ho, wo, p = s.shape
    gp = jnp.pad(g.reshape(b, ho * wo, p), ((0, 0), (0, sp.shape[1] - ho * wo), (0, sp.shape[2] - p)))
    acc = acc_dtype(s, t, scale, shift)
    partial = jax.ShapeDtypeStruct((b, grid[1], 1, sp.shape[2]), acc)
    ds, dt, dscale, dshift = pl.pallas_call(
        functools.partial(_bwd_kernel, acc=acc),
        grid=grid, in_specs=[tile, row, vec, vec, tile], out_specs=[tile, part, part, part],
        out_shape=[jax.ShapeDtypeStruct(sp.shape, s.dtype), partial, partial, partial],
        compiler_params=compiler_params(blocks), interpret=interpret, name="acm_epilogue_bwd",
    )(sp, tp, scp, shp, gp)
    return (ds[:, :ho * wo, :p].reshape(s.shape), dt.sum((1, 2))[:, :p].astype(t.dtype),
            dscale.sum((0, 1, 2))[:p].astype(scale.dtype), dshift.sum((0, 1, 2))[:p].astype(shift.dtype))


_epilogue.defvjp(_epilogue_fwd, _epilogue_bwd)


@functools.partial(jax.jit, static_argnames=("blocks", "interpret"))
def acm_epilogue(s, t, scale, shift, *, blocks: EpilogueBlocks | None = None, interpret: bool | None = None):
    """`relu((s + t[:, None, None]) * scale + shift)`: s [B, Ho, Wo, P], t [B, P], scale, shift [P] ->
    [B, Ho, Wo, P] (s's dtype). `interpret=None`: interpret on CPU, compiled elsewhere."""
    op = "acm_epilogue"
    if s.ndim != 4 or not jnp.issubdtype(s.dtype, jnp.floating):
        raise ValueError(f"{op}: s must be a floating rank-4 [B, Ho, Wo, P] array, got {s.dtype}{list(s.shape)}")
    b, p = s.shape[0], s.shape[3]
    check_vector(op, "t", t, (b, p))
    check_vector(op, "scale", scale, (p,))
    check_vector(op, "shift", shift, (p,))
    blocks = blocks or EpilogueBlocks()
    check_blocks(op, blocks, block_hw=blocks.block_hw, block_p=blocks.block_p)
    return _epilogue(s, t, scale, shift, blocks, resolve_interpret(interpret))


def acm_epilogue_reference(s, t, scale, shift):
    """Pure-jnp reference, same contract as `acm_epilogue`."""
    acc = acc_dtype(s, t, scale, shift)
    a = (s.astype(acc) + t.astype(acc)[:, None, None, :]) * scale.astype(acc) + shift.astype(acc)
    return jax.nn.relu(a).astype(s.dtype)
