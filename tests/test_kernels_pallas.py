"""Pallas kernels (`kernels/`) against the operator references: values, gradients, odd shapes, dtypes,
jit/vmap and argument errors. Every test runs compiled on GPU/TPU and in interpret mode on any backend
(the `interpret` fixture). Shapes are tiny: interpret mode is slow.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxtrack.ops as ops
from kernels import acm_epilogue as ep
from kernels import dw_xcorr as dw
from kernels import xcorr as xc
from tests import np_loops

ON_CPU = jax.default_backend() == "cpu"


@pytest.fixture(params=[
    pytest.param(False, id="compiled", marks=pytest.mark.skipif(ON_CPU, reason="Pallas compiles only for GPU/TPU")),
    pytest.param(True, id="interpret"),
])
def interpret(request):
    return request.param


# (B, Hx, Wx, Hz, Wz, C, block_c): odd sizes, block_c=1 < C, C not a multiple of the block, B=1, C=1, Hz=1,
# template == search.
SHAPES = [(2, 7, 6, 3, 2, 3, 1), (1, 5, 5, 5, 5, 17, 8), (1, 4, 3, 1, 1, 1, 32)]
KERNELS = {"dw_xcorr": (dw.dw_xcorr, np_loops.dw_xcorr), "xcorr": (xc.xcorr, np_loops.xcorr)}
BF16 = {"rtol": 2**-7, "atol": 2e-2}


def rand(seed, *shapes, dtype=jnp.float32):
    rng = np.random.default_rng(seed)
    return tuple(jnp.asarray(rng.standard_normal(s), dtype) for s in shapes)


def pair(shape, dtype=jnp.float32, seed=0):
    b, hx, wx, hz, wz, c, _ = shape
    return rand(seed, (b, hx, wx, c), (b, hz, wz, c), dtype=dtype)


def f32(a):
    return np.asarray(a, np.float32)


@pytest.mark.parametrize("op", list(KERNELS))
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_values_float32(interpret, op, shape):
    x, z = pair(shape)
    fn, loop = KERNELS[op]
    got = fn(x, z, blocks=dw.BlockSizes(block_c=shape[-1]), interpret=interpret)
    assert got.dtype == jnp.float32
    want = getattr(ops, op)(x, z, impl="reference")
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(got), loop(np.float64(x), np.float64(z)), rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("op", list(KERNELS))
@pytest.mark.parametrize("shape", SHAPES[:2], ids=str)
def test_gradients_float32(interpret, op, shape):
    x, z = pair(shape)
    fn = KERNELS[op][0]
    (g,) = rand(1, getattr(ops, op)(x, z, impl="reference").shape)
    grad = lambda f: jax.grad(lambda x, z: jnp.sum(f(x, z) * g), (0, 1))(x, z)
    got = grad(lambda x, z: fn(x, z, blocks=dw.BlockSizes(block_c=shape[-1]), interpret=interpret))
    want = grad(lambda x, z: getattr(ops, op)(x, z, impl="reference"))
    for name, a, w in zip("xz", got, want, strict=True):
        assert a.dtype == jnp.float32
        np.testing.assert_allclose(np.asarray(a), np.asarray(w), rtol=1e-5, atol=1e-4, err_msg=f"d{name}")


@pytest.mark.parametrize("op", list(KERNELS))
def test_bfloat16_accumulates_in_float32(interpret, op):
    """bf16 in, bf16 out, equal to the float32 computation on the same values up to the final rounding."""
    shape = SHAPES[1]
    x, z = pair(shape, jnp.bfloat16)
    fn = KERNELS[op][0]
    got = fn(x, z, blocks=dw.BlockSizes(block_c=shape[-1]), interpret=interpret)
    assert got.dtype == jnp.bfloat16
    want = getattr(ops, op)(x.astype(jnp.float32), z.astype(jnp.float32), impl="reference")
    np.testing.assert_allclose(f32(got), f32(want), **BF16)
    (g,) = rand(1, want.shape, dtype=jnp.bfloat16)
    grad = lambda f: jax.grad(lambda x, z: jnp.sum(f(x, z).astype(jnp.float32) * g), (0, 1))(x, z)
    got_g = grad(lambda x, z: fn(x, z, interpret=interpret))
    want_g = grad(lambda x, z: getattr(ops, op)(x, z, impl="reference"))
    for a, w in zip(got_g, want_g, strict=True):
        assert a.dtype == jnp.bfloat16
        np.testing.assert_allclose(f32(a), f32(w), rtol=2**-6, atol=1e-1)


@pytest.mark.parametrize("op", list(KERNELS))
def test_jit_and_vmap(interpret, op):
    """vmap over an extra leading axis equals a Python loop; grad under an outer jit."""
    shape = SHAPES[0]
    fn = lambda x, z: KERNELS[op][0](x, z, interpret=interpret)
    xs, zs = zip(*(pair(shape, seed=s) for s in range(3)), strict=True)
    got = jax.jit(jax.vmap(fn))(jnp.stack(xs), jnp.stack(zs))
    want = np.stack([np.asarray(getattr(ops, op)(x, z, impl="reference")) for x, z in zip(xs, zs, strict=True)])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    dz = jax.jit(jax.grad(lambda x, z: jnp.sum(fn(x, z) ** 2), 1))(xs[0], zs[0])
    want_dz = jax.grad(lambda x, z: jnp.sum(getattr(ops, op)(x, z, impl="reference") ** 2), 1)(xs[0], zs[0])
    np.testing.assert_allclose(np.asarray(dz), np.asarray(want_dz), rtol=1e-5, atol=1e-4)


def test_registered_as_impl_pallas(interpret):
    """`impl="pallas"` in the registry (interpret mode chosen from the backend), never `impl="auto"` on CPU."""
    del interpret
    x, z = pair(SHAPES[0])
    for op in KERNELS:
        assert "pallas" in ops.implementations(op)
        got = jax.jit(lambda x, z, op=op: getattr(ops, op)(x, z, impl="pallas"))(x, z)
        np.testing.assert_allclose(np.asarray(got), np.asarray(getattr(ops, op)(x, z, impl="reference")),
                                   rtol=1e-5, atol=1e-5)
        if ON_CPU:
            key = {"b": 2, "hz": 3, "hx": 7, "c": 3, "k": 3, "dtype": "float32"}
            assert ops.auto_choice(op, key) != "pallas"


# ----------------------------------------------------------------------------------------------------
# ACM epilogue.


def epilogue_args(b, ho, wo, p, dtype=jnp.float32):
    return rand(3, (b, ho, wo, p), (b, p), (p,), (p,), dtype=dtype)


@pytest.mark.parametrize("dims,blocks", [((2, 3, 5, 3), ep.EpilogueBlocks()), ((1, 5, 5, 20), ep.EpilogueBlocks(8, 8))],
                         ids=["small", "multi_block"])
def test_epilogue_values_and_gradients(interpret, dims, blocks):
    args = epilogue_args(*dims)
    fn = lambda *a: ep.acm_epilogue(*a, blocks=blocks, interpret=interpret)
    s, t, scale, shift = (np.float64(a) for a in args)
    loop = np.maximum((s + t[:, None, None]) * scale + shift, 0)
    np.testing.assert_allclose(np.asarray(fn(*args)), loop, rtol=1e-6, atol=1e-6)
    (g,) = rand(4, dims)
    grad = lambda f: jax.grad(lambda *a: jnp.sum(f(*a) * g), (0, 1, 2, 3))(*args)
    for name, a, w in zip(["s", "t", "scale", "shift"], grad(fn), grad(ep.acm_epilogue_reference), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(w), rtol=1e-5, atol=1e-5, err_msg=f"d{name}")


def test_epilogue_bfloat16_jit_vmap(interpret):
    args = epilogue_args(1, 3, 3, 5, jnp.bfloat16)
    fn = lambda *a: ep.acm_epilogue(*a, interpret=interpret)
    got = fn(*args)
    assert got.dtype == jnp.bfloat16
    np.testing.assert_allclose(f32(got), f32(ep.acm_epilogue_reference(*args)), **BF16)
    grads = jax.grad(lambda *a: jnp.sum(fn(*a).astype(jnp.float32)), (0, 1, 2, 3))(*args)
    want = jax.grad(lambda *a: jnp.sum(ep.acm_epilogue_reference(*a).astype(jnp.float32)), (0, 1, 2, 3))(*args)
    for a, w, arg in zip(grads, want, args, strict=True):
        assert a.dtype == arg.dtype
        np.testing.assert_allclose(f32(a), f32(w), rtol=2**-6, atol=5e-2)
    stacked = [jnp.stack([a, 2 * a]) for a in epilogue_args(2, 2, 3, 4)]
    got = jax.jit(jax.vmap(lambda *a: ep.acm_epilogue(*a, interpret=interpret)))(*stacked)
    want = jax.vmap(ep.acm_epilogue_reference)(*stacked)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6, atol=1e-6)


# ----------------------------------------------------------------------------------------------------
# Argument errors (raised while tracing, before any kernel runs).


@pytest.mark.parametrize("fn", [dw.dw_xcorr, xc.xcorr], ids=["dw_xcorr", "xcorr"])
@pytest.mark.parametrize("xs,zs,match", [
    ((2, 7, 7), (2, 3, 3, 4), "x must be rank 4"),
    ((2, 7, 7, 4), (1, 3, 3, 4), "same batch size"),
    ((2, 3, 7, 4), (2, 4, 3, 4), "must not be larger"),
    ((2, 7, 7, 4), (2, 3, 3, 5), "same channel count"),
])
def test_shape_errors(fn, xs, zs, match):
    with pytest.raises(ValueError, match=match):
        fn(jnp.zeros(xs), jnp.zeros(zs), interpret=True)


def test_argument_errors():
    x, z = jnp.zeros((1, 5, 5, 3)), jnp.zeros((1, 3, 3, 3))
    with pytest.raises(ValueError, match="must be a floating dtype"):
        dw.dw_xcorr(x.astype(jnp.int32), z, interpret=True)
    with pytest.raises(ValueError, match="block_c must be a positive power of two, got block_c=12"):
        xc.xcorr(x, z, blocks=dw.BlockSizes(block_c=12), interpret=True)
    s, t, scale, shift = epilogue_args(2, 3, 3, 4)
    with pytest.raises(ValueError, match=r"t must have shape \[2, 4\], got t.shape=\(4,\)"):
        ep.acm_epilogue(s, scale, scale, shift, interpret=True)
    with pytest.raises(ValueError, match=r"scale must have shape \[4\], got scale.shape=\(2, 4\)"):
        ep.acm_epilogue(s, t, t, shift, interpret=True)
    with pytest.raises(ValueError, match="s must be a floating rank-4"):
        ep.acm_epilogue(s[0], t, scale, shift, interpret=True)
    with pytest.raises(ValueError, match="block_hw must be a positive power of two"):
        ep.acm_epilogue(s, t, scale, shift, blocks=ep.EpilogueBlocks(block_hw=0), interpret=True)
