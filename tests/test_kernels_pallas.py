"""Pallas kernels (`kernels/`) against the operator references: values, gradients, odd shapes, dtypes,
jit/vmap and argument errors; `impl="pallas"` of the operators and of the ACM modules against the other
impls. Every kernel test runs compiled on GPU/TPU and in interpret mode on any backend (the `interpret`
fixture); the operator and module tests run the backend's default (interpret mode on CPU). Shapes are tiny:
interpret mode is slow.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxtrack.ops as ops
from jaxtrack.models import fusion
from jaxtrack.models.heads import ACMXCorr
from kernels import acm_epilogue as ep
from kernels import dw_xcorr as dw
from kernels import xcorr as xc
from tests import np_loops
from tests.test_fusion_modules import randomize

ON_CPU = jax.default_backend() == "cpu"


@pytest.fixture(params=[
    pytest.param(False, id="compiled",
                 marks=[pytest.mark.gpu, pytest.mark.skipif(ON_CPU, reason="Pallas compiles only for GPU/TPU")]),
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
# ACM epilogue kernel.


def epilogue_args(b, ho, wo, p, dtype=jnp.float32):
    return rand(3, (b, ho, wo, p), (b, p), (p,), (p,), dtype=dtype)


def epilogue_loop(s, t, scale=None, shift=None, relu=True):
    """numpy float64, written out: (s + t) [* scale + shift] [then max(., 0)]."""
    a = np.float64(s) + np.float64(t)[:, None, None]
    if scale is not None:
        a = a * np.float64(scale) + np.float64(shift)
    return np.maximum(a, 0) if relu else a


@pytest.mark.parametrize("dims,blocks", [((2, 3, 5, 3), ep.EpilogueBlocks()), ((1, 5, 5, 20), ep.EpilogueBlocks(8, 8))],
                         ids=["small", "multi_block"])
@pytest.mark.parametrize("affine,relu", [(True, True), (False, False), (False, True), (True, False)],
                         ids=["affine_relu", "add_only", "relu_only", "affine_only"])
def test_epilogue_values_and_gradients(interpret, dims, blocks, affine, relu):
    args = epilogue_args(*dims)[:4 if affine else 2]
    fn = lambda *a: ep.acm_epilogue(*a, relu=relu, blocks=blocks, interpret=interpret)
    ref = lambda *a: ep.acm_epilogue_reference(*a, relu=relu)
    got = fn(*args)
    np.testing.assert_allclose(np.asarray(got), epilogue_loop(*args, relu=relu), rtol=1e-6, atol=1e-6)
    if relu:
        assert 0 < np.mean(np.asarray(got) == 0) < 1  # the ReLU cuts some values, not all
    (g,) = rand(4, dims)
    grad = lambda f: jax.grad(lambda *a: jnp.sum(f(*a) * g), tuple(range(len(args))))(*args)
    for name, a, w in zip(["s", "t", "scale", "shift"], grad(fn), grad(ref), strict=False):
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
# impl="pallas" of asym_conv / asym_conv_bn_relu: XLA's search conv, then the epilogue kernel.


def asym_args(b=2, hx=7, wx=6, hz=3, wz=2, c=3, p=5, dtype=jnp.float32, seed=5):
    """x, z, theta_x, theta_z, bias, box_embed, scale, shift."""
    return rand(seed, (b, hx, wx, c), (b, hz, wz, c), (hz, wz, c, p), (hz, wz, c, p), (p,), (b, p), (p,), (p,),
                dtype=dtype)


def pallas_calls(fn, *args):
    """(kernel name, number of operands) of every pallas_call in the jaxpr of fn(*args), nested ones included."""
    found = []

    def walk(jaxpr):
        for e in jaxpr.eqns:
            if e.primitive.name == "pallas_call":
                found.append((e.params["name"], len(e.invars)))
            for v in e.params.values():
                for sub in v if isinstance(v, tuple | list) else (v,):
                    inner = getattr(sub, "jaxpr", sub)
                    if hasattr(inner, "eqns"):
                        walk(inner)

    walk(jax.make_jaxpr(fn)(*args).jaxpr)
    return found


def test_asym_conv_pallas_values_and_gradients():
    """asym_conv(impl="pallas") = impl="reference", bias and box_embed included, values and every gradient;
    both against the numpy concat-conv definition."""
    x, z, tx, tz, bias, box, _, _ = args = asym_args()
    assert "pallas" in ops.implementations("asym_conv")
    call = lambda impl: lambda x, z, tx, tz, b, e: ops.asym_conv(x, z, tx, tz, b, box_embed=e, impl=impl)
    got = jax.jit(call("pallas"))(*args[:6])
    assert got.dtype == jnp.float32 and got.shape == (2, 5, 5, 5)
    np.testing.assert_allclose(np.asarray(got), np.asarray(call("reference")(*args[:6])), rtol=1e-5, atol=1e-5)
    want = np_loops.concat_conv(*(np.float64(a) for a in (x, z, np.concatenate([tz, tx], 2), bias)))
    np.testing.assert_allclose(np.asarray(got), want + np.float64(box)[:, None, None], rtol=1e-5, atol=1e-4)
    assert [n for n, _ in pallas_calls(call("pallas"), *args[:6])] == ["acm_epilogue"]
    (g,) = rand(6, got.shape)
    grad = lambda impl: jax.grad(lambda *a: jnp.sum(call(impl)(*a) * g), tuple(range(6)))(*args[:6])
    for name, a, w in zip(["x", "z", "theta_x", "theta_z", "bias", "box_embed"], grad("pallas"), grad("reference"),
                          strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(w), rtol=1e-5, atol=1e-4, err_msg=f"d{name}")


def test_asym_conv_pallas_bfloat16_and_float64():
    args = asym_args(dtype=jnp.bfloat16)[:5]
    got = ops.asym_conv(*args, impl="pallas")
    assert got.dtype == jnp.bfloat16
    want = ops.asym_conv(*(a.astype(jnp.float32) for a in args), impl="reference")
    np.testing.assert_allclose(f32(got), f32(want), **BF16)
    with jax.enable_x64(True):
        args = tuple(np.float64(a) for a in asym_args(seed=8)[:5])
        got = ops.asym_conv(*args, impl="pallas")
        assert got.dtype == jnp.float64
        np.testing.assert_allclose(np.asarray(got), np.asarray(ops.asym_conv(*args, impl="reference")),
                                   rtol=0, atol=1e-12)


def test_asym_conv_bn_relu_pallas_is_one_fused_kernel():
    """relu(asym_conv * scale + shift): pallas = xla_conv (which runs the jnp epilogue) = numpy; values and
    gradients (scale and shift included); the pallas form runs one epilogue kernel with the affine operands."""
    x, z, tx, tz, bias, box, scale, shift = args = asym_args(seed=9)
    call = lambda impl: lambda x, z, tx, tz, b, e, sc, sh: ops.asym_conv_bn_relu(x, z, tx, tz, b, sc, sh,
                                                                                 box_embed=e, impl=impl)
    got = np.asarray(jax.jit(call("pallas"))(*args))
    acm = np.float64(ops.asym_conv(x, z, tx, tz, bias, box_embed=box, impl="reference"))
    want = np.maximum(acm * np.float64(scale) + np.float64(shift), 0)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    assert 0 < np.mean(got == 0) < 1
    np.testing.assert_allclose(got, np.asarray(call("xla_conv")(*args)), rtol=1e-5, atol=1e-5)
    assert pallas_calls(call("pallas"), *args) == [("acm_epilogue", 4)]
    (g,) = rand(6, got.shape)
    grad = lambda impl: jax.grad(lambda *a: jnp.sum(call(impl)(*a) * g), tuple(range(8)))(*args)
    names = ["x", "z", "theta_x", "theta_z", "bias", "box_embed", "scale", "shift"]
    for name, a, w in zip(names, grad("pallas"), grad("reference"), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(w), rtol=1e-5, atol=1e-4, err_msg=f"d{name}")


# ----------------------------------------------------------------------------------------------------
# The ACM modules with impl="pallas": the same variables give the same outputs as impl="xla_conv".




@pytest.mark.parametrize("make,xs,zs", [
    (lambda impl: fusion.AsymmetricFusion(features=5, impl=impl), (2, 7, 8, 3), (2, 3, 4, 3)),
    (lambda impl: ACMXCorr(hidden=4, out_channels=3, impl=impl), (2, 9, 9, 3), (2, 5, 5, 3)),
], ids=["AsymmetricFusion", "ACMXCorr"])
def test_acm_modules_pallas_equal_xla(make, xs, zs):
    """Inference: BN folded from the running stats into the fused epilogue (one acm_epilogue kernel with the
    affine), equal to xla_conv + flax BatchNorm in values and parameter gradients. Training: the plain
    broadcast-add kernel, then BatchNorm on batch statistics; same outputs and updated running stats."""
    x, z = rand(7, xs, zs)
    wh = jnp.abs(rand(8, (2, 2))[0]) * 30
    pallas, xla = make("pallas"), make("xla_conv")
    v = randomize(xla.init(jax.random.key(0), x, z, wh))
    apply = lambda m: jax.jit(lambda v: m.apply(v, x, z, wh))
    got, want = apply(pallas)(v), apply(xla)(v)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
    assert np.std(np.asarray(want)) > 0.1
    assert ("acm_epilogue", 4) in pallas_calls(lambda v: pallas.apply(v, x, z, wh), v)
    (g,) = rand(9, want.shape)
    grad = lambda m: jax.grad(lambda p: jnp.sum(m.apply({**v, "params": p}, x, z, wh) * g))(v["params"])
    for (path, a), w in zip(jax.tree_util.tree_leaves_with_path(grad(pallas)), jax.tree.leaves(grad(xla)),
                            strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(w), rtol=1e-4, atol=1e-4,
                                   err_msg=jax.tree_util.keystr(path))
    train = lambda m: m.apply(v, x, z, wh, train=True, mutable=["batch_stats"])
    (got, got_stats), (want, want_stats) = train(pallas), train(xla)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)
    for a, w in zip(jax.tree.leaves(got_stats), jax.tree.leaves(want_stats), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(w), rtol=1e-5, atol=1e-5)
    assert [a for a in pallas_calls(lambda v: train(pallas)[0], v) if a[0] == "acm_epilogue"] == [("acm_epilogue", 2)]


# ----------------------------------------------------------------------------------------------------
# Argument errors: inputs are validated by jaxtrack.ops before any kernel runs (the kernels check only
# their own block sizes and options).


@pytest.mark.parametrize("op", ["dw_xcorr", "xcorr"])
@pytest.mark.parametrize("xs,zs,match", [
    ((2, 7, 7), (2, 3, 3, 4), "x must be rank 4"),
    ((2, 7, 7, 4), (1, 3, 3, 4), "same batch size"),
    ((2, 3, 7, 4), (2, 4, 3, 4), "must not be larger"),
    ((2, 7, 7, 4), (2, 3, 3, 5), "same channel count"),
])
def test_shape_errors(op, xs, zs, match):
    with pytest.raises(ValueError, match=match):
        getattr(ops, op)(jnp.zeros(xs), jnp.zeros(zs), impl="pallas")


def test_argument_errors():
    x, z = jnp.zeros((1, 5, 5, 3)), jnp.zeros((1, 3, 3, 3))
    with pytest.raises(ValueError, match="must be a floating dtype"):
        ops.dw_xcorr(x.astype(jnp.int32), z, impl="pallas")
    with pytest.raises(ValueError, match="block_c must be a positive power of two, got block_c=12"):
        xc.xcorr(x, z, blocks=dw.BlockSizes(block_c=12), interpret=True)
    xa, za, tx, tz, bias, box, scale, shift = asym_args()
    with pytest.raises(ValueError, match=r"box_embed must have shape \[2, 5\], got box_embed.shape=\(5,\)"):
        ops.asym_conv(xa, za, tx, tz, bias, box_embed=bias, impl="pallas")
    with pytest.raises(ValueError, match=r"scale must have shape \[5\], got scale.shape=\(2, 5\)"):
        ops.asym_conv_bn_relu(xa, za, tx, tz, bias, box, shift, impl="pallas")
    with pytest.raises(ValueError, match=r"theta_z must have P=5"):
        ops.asym_conv_bn_relu(xa, za, tx, tz[..., :4], bias, scale, shift, impl="pallas")
    s, t = epilogue_args(2, 3, 3, 4)[:2]
    with pytest.raises(ValueError, match="both scale and shift"):
        ep.acm_epilogue(s, t, t[0], interpret=True)
    with pytest.raises(ValueError, match="block_hw must be a positive power of two"):
        ep.acm_epilogue(s, t, blocks=ep.EpilogueBlocks(block_hw=0), interpret=True)
