"""Pallas fused ACM epilogue: template broadcast-add, BatchNorm affine and ReLU in one pass.

    acm_epilogue(s, t, scale, shift, relu=True) = relu((s + t[:, None, None, :]) * scale + shift)
    s [B, Ho, Wo, P] (search term conv(x, theta_x), from XLA's conv), t [B, P] (template term
    conv(z, theta_z) + bias + box embedding), scale, shift [P] (inference BN folded to an affine)
    -> [B, Ho, Wo, P] in s's dtype, computed in float32 (float64 for float64 inputs).

Static variants: `scale=shift=None` skips the affine and `relu=False` the ReLU, so `acm_epilogue(s, t,
relu=False)` is the bare broadcast add of `jaxtrack.ops.asym_conv(impl="pallas")`, and the full form is
what `AsymmetricFusion(impl="pallas")` runs at inference (ACM conv -> BN -> ReLU).

Unfused, XLA reads and writes the [B, Ho, Wo, P] map once per elementwise op it does not fuse into the
conv; here it is one read and one write. Layout: s is viewed as [B, Ho*Wo, P]; grid (B, HW/bhw, P/bp),
each program one [bhw, bp] tile (powers of two, inputs zero-padded). Backward (one kernel, same grid)
recomputes the pre-activation from the inputs, writes ds and per-tile column sums for dt, dscale and
dshift, which XLA adds over tiles (and batch): with `ga = g * (a > 0)` (g without the ReLU),
    ds = ga * scale,  dt = sum_hw ds,  dscale = sum_{b,hw} ga * (s + t),  dshift = sum_{b,hw} ga.
Padded rows/columns have g = 0, so they add nothing. Without affine and ReLU the backward is ds = g,
dt = sum_hw g, left to XLA.

Shapes are not validated here (`kernels/` imports nothing from jaxtrack): `jaxtrack.ops.asym_conv` and
`asym_conv_bn_relu` check them before they reach the kernel. `acm_epilogue_reference` is the pure-jnp
oracle of the tests.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
from jax.experimental import pallas as pl

from kernels.common import acc_dtype, check_blocks, compiler_params, resolve_interpret


@dataclasses.dataclass(frozen=True, slots=True)
class EpilogueBlocks:
    """block_hw: output positions per program; block_p: channels per program (powers of two, shrunk to
    next_pow2 of the size). num_warps: Triton warps (GPU only)."""

    block_hw: int = 64
    block_p: int = 128
    num_warps: int = 4


def _preact(s_ref, t_ref, affine_refs, acc):
    """(s + t, the pre-activation) of one tile, [bhw, bp] each, in `acc`."""
    st = s_ref[...].astype(acc) + t_ref[...].astype(acc)  # [bhw, bp] + [1, bp]
    if not affine_refs:
        return st, st
    scale_ref, shift_ref = affine_refs
    return st, st * scale_ref[...].astype(acc) + shift_ref[...].astype(acc)


def _fwd_kernel(*refs, affine: bool, relu: bool, acc):
    """refs: s, t, [scale, shift], out."""
    s_ref, t_ref, *affine_refs, o_ref = refs
    _, a = _preact(s_ref, t_ref, affine_refs, acc)
    o_ref[...] = (jnp.maximum(a, 0) if relu else a).astype(o_ref.dtype)


def _bwd_kernel(*refs, affine: bool, relu: bool, acc):
    """refs: s, t, [scale, shift], g (inputs); ds, dt, [dscale, dshift] (outputs)."""
    n_in = 5 if affine else 3
    (s_ref, t_ref, *affine_refs, g_ref), (ds_ref, dt_ref, *daffine_refs) = refs[:n_in], refs[n_in:]
    st, a = _preact(s_ref, t_ref, affine_refs, acc)
    ga = g_ref[...].astype(acc)
    if relu:
        ga = jnp.where(a > 0, ga, 0)
    ds = ga * affine_refs[0][...].astype(acc) if affine else ga
    ds_ref[...] = ds.astype(ds_ref.dtype)
    dt_ref[...] = jnp.sum(ds, axis=0, keepdims=True)
    if affine:
        dscale_ref, dshift_ref = daffine_refs
        dscale_ref[...] = jnp.sum(ga * st, axis=0, keepdims=True)
        dshift_ref[...] = jnp.sum(ga, axis=0, keepdims=True)


def _layout(s, t, affine, blocks):
    """Padded operands (s [B, HW', P'], t [B, 1, P'], then scale, shift [1, P'] if affine), block specs
    (tile, row, vec, per-tile partial sum) and grid."""
    b, ho, wo, p = s.shape
    hw = ho * wo
    bhw, bp = min(blocks.block_hw, pl.next_power_of_2(hw)), min(blocks.block_p, pl.next_power_of_2(p))
    n_hw, n_p = pl.cdiv(hw, bhw), pl.cdiv(p, bp)
    pad_p = (0, n_p * bp - p)
    ops = (jnp.pad(s.reshape(b, hw, p), ((0, 0), (0, n_hw * bhw - hw), pad_p)),
           jnp.pad(t[:, None], ((0, 0), (0, 0), pad_p)),
           *(jnp.pad(v[None], ((0, 0), pad_p)) for v in affine))
    tile = pl.BlockSpec((None, bhw, bp), lambda i, j, k: (i, j, k))
    row = pl.BlockSpec((None, 1, bp), lambda i, j, k: (i, 0, k))
    vec = pl.BlockSpec((1, bp), lambda i, j, k: (0, k))
    part = pl.BlockSpec((None, None, 1, bp), lambda i, j, k: (i, j, 0, k))
    return ops, (tile, row, vec, part), (b, n_hw, n_p)


def _forward(s, t, affine, relu, blocks, interpret):
    ops, (tile, row, vec, _), grid = _layout(s, t, affine, blocks)
    y = pl.pallas_call(
        functools.partial(_fwd_kernel, affine=bool(affine), relu=relu, acc=acc_dtype(s, t, *affine)),
        grid=grid, in_specs=[tile, row, *(vec for _ in affine)], out_specs=tile,
        out_shape=jax.ShapeDtypeStruct(ops[0].shape, s.dtype),
        compiler_params=compiler_params(blocks.num_warps), interpret=interpret, name="acm_epilogue",
    )(*ops)
    _, ho, wo, p = s.shape
    return y[:, :ho * wo, :p].reshape(s.shape)


@functools.partial(jax.custom_vjp, nondiff_argnums=(3, 4, 5))
def _epilogue(s, t, affine, relu, blocks, interpret):
    """`affine`: () or (scale, shift), a differentiable pytree argument."""
    return _forward(s, t, affine, relu, blocks, interpret)


def _epilogue_fwd(s, t, affine, relu, blocks, interpret):
    return _forward(s, t, affine, relu, blocks, interpret), (s, t, affine)


def _epilogue_bwd(relu, blocks, interpret, res, g):
    s, t, affine = res
    if not (affine or relu):  # the bare broadcast add
        return g.astype(s.dtype), jnp.sum(g, (1, 2), dtype=acc_dtype(s, t)).astype(t.dtype), ()
    ops, (tile, row, vec, part), grid = _layout(s, t, affine, blocks)
    b, ho, wo, p = s.shape
    sp = ops[0]
    gp = jnp.pad(g.reshape(b, ho * wo, p), ((0, 0), (0, sp.shape[1] - ho * wo), (0, sp.shape[2] - p)))
    acc = acc_dtype(s, t, *affine)
    partial = jax.ShapeDtypeStruct((b, grid[1], 1, sp.shape[2]), acc)
    n_sums = 3 if affine else 1
    ds, *sums = pl.pallas_call(
        functools.partial(_bwd_kernel, affine=bool(affine), relu=relu, acc=acc),
        grid=grid, in_specs=[tile, row, *(vec for _ in affine), tile], out_specs=[tile, *[part] * n_sums],
        out_shape=[jax.ShapeDtypeStruct(sp.shape, s.dtype), *[partial] * n_sums],
        compiler_params=compiler_params(blocks.num_warps), interpret=interpret, name="acm_epilogue_bwd",
    )(*ops, gp)
    dt, *daffine = sums
    daffine = tuple(d.sum((0, 1, 2))[:p].astype(v.dtype) for d, v in zip(daffine, affine, strict=True))
    return ds[:, :ho * wo, :p].reshape(s.shape), dt.sum((1, 2))[:, :p].astype(t.dtype), daffine


_epilogue.defvjp(_epilogue_fwd, _epilogue_bwd)


@functools.partial(jax.jit, static_argnames=("relu", "blocks", "interpret"))
def acm_epilogue(s, t, scale=None, shift=None, *, relu: bool = True, blocks: EpilogueBlocks | None = None,
                 interpret: bool | None = None):
    """`relu((s + t[:, None, None]) * scale + shift)`: s [B, Ho, Wo, P], t [B, P], scale, shift [P] or both
    None (no affine), `relu=False`: no ReLU -> [B, Ho, Wo, P] (s's dtype). `interpret=None`: interpret on
    CPU, compiled elsewhere. Shapes unchecked (see the module docstring); `blocks` is checked."""
    if (scale is None) != (shift is None):
        raise ValueError("acm_epilogue: give both scale and shift (the affine) or neither")
    blocks = blocks or EpilogueBlocks()
    check_blocks("acm_epilogue", blocks, block_hw=blocks.block_hw, block_p=blocks.block_p)
    affine = () if scale is None else (scale, shift)
    return _epilogue(s, t, affine, relu, blocks, resolve_interpret(interpret))


def acm_epilogue_reference(s, t, scale=None, shift=None, *, relu: bool = True):
    """Pure-jnp reference, same contract as `acm_epilogue`."""
    affine = () if scale is None else (scale, shift)
    acc = acc_dtype(s, t, *affine)
    a = s.astype(acc) + t.astype(acc)[:, None, None, :]
    if affine:
        a = a * scale.astype(acc) + shift.astype(acc)
    return (jax.nn.relu(a) if relu else a).astype(s.dtype)
