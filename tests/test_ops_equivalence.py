"""Every implementation of every operator equals its reference (values and gradients), for random shapes.

Shapes drawn by hypothesis: B 1-4, C 1-32, template 1-8, search template..24, K/P 1-8. The references
themselves are checked against independent numpy loops (`np_loops.py`).
"""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxtrack.ops as ops
from tests import np_loops

# Absolute tolerance per unit of sqrt(#terms summed per output element), by dtype; values are N(0, 1).
TOL = {"float32": 3e-6, "bfloat16": 2e-2, "float64": 1e-12}
F64_ABS = 1e-10  # the project's float64 bar, absolute


@st.composite
def shapes(draw, max_b=4, max_c=32, max_t=8, max_x=24, max_k=8):
    hz, wz = draw(st.integers(1, max_t)), draw(st.integers(1, max_t))
    return {
        "b": draw(st.integers(1, max_b)), "c": draw(st.integers(1, max_c)), "hz": hz, "wz": wz,
        "hx": draw(st.integers(hz, max(hz, max_x))), "wx": draw(st.integers(wz, max(wz, max_x))),
        "k": draw(st.integers(1, max_k)), "seed": draw(st.integers(0, 2**31 - 1)),
    }


def make_inputs(op, s, dtype=np.float64):
    """Positional arrays for `op` at shape `s` (numpy, float64 values rounded to `dtype`)."""
    rng = np.random.default_rng(s["seed"])
    n = lambda *shape: rng.standard_normal(shape).astype(dtype)
    x, z = n(s["b"], s["hx"], s["wx"], s["c"]), n(s["b"], s["hz"], s["wz"], s["c"])
    if op == "up_xcorr":
        return (x, n(s["b"], s["hz"], s["wz"], s["k"] * s["c"]))
    if op == "asym_conv":
        th = lambda: n(s["hz"], s["wz"], s["c"], s["k"])
        return (x, z, th(), th(), n(s["k"]), n(s["b"], s["k"]))
    return (x, z)


def call(op, impl, args):
    if op == "asym_conv":
        x, z, tx, tz, bias, box = args
        return ops.asym_conv(x, z, tx, tz, bias, box_embed=box, impl=impl)
    return getattr(ops, op)(*args, impl=impl)


@functools.cache
def jitted(op, impl):
    return jax.jit(lambda *a: call(op, impl, a))


def n_terms(op, s):
    per_tap = {"dw_xcorr": 1, "asym_conv": 2 * s["c"]}.get(op, s["c"])
    return s["hz"] * s["wz"] * per_tap


def numpy_loop(op, args):
    if op == "asym_conv":
        x, z, tx, tz, bias, box = args
        theta = np.concatenate([tz, tx], axis=2)
        return np_loops.concat_conv(x, z, theta, bias) + box[:, None, None, :]
    return getattr(np_loops, op)(*args)


def fast_impls(op):
    """Every impl but the reference; "pallas" only off CPU (interpret mode is too slow for these suites;
    tests/test_kernels_pallas.py covers it)."""
    skip = {"reference", "pallas"} if jax.default_backend() == "cpu" else {"reference"}
    return [i for i in ops.implementations(op) if i not in skip]


@pytest.mark.parametrize("op", ops.OPS)
@settings(max_examples=6)
@given(s=shapes(max_b=2, max_c=4, max_t=4, max_x=9, max_k=3))
def test_reference_matches_numpy_loops(op, s):
    args = make_inputs(op, s)
    with jax.enable_x64(True):
        got = np.asarray(jitted(op, "reference")(*args))
    np.testing.assert_allclose(got, numpy_loop(op, args), rtol=0, atol=F64_ABS)


@pytest.mark.parametrize("op", ops.OPS)
@given(s=shapes())
def test_impls_match_reference_float64(op, s):
    args = make_inputs(op, s)
    with jax.enable_x64(True):
        want = np.asarray(jitted(op, "reference")(*args))
        for impl in fast_impls(op):
            got = jitted(op, impl)(*args)
            assert got.dtype == jnp.float64 and got.shape == want.shape, impl
            np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=F64_ABS, err_msg=impl)


@pytest.mark.parametrize("op", ops.OPS)
@settings(max_examples=6)
@given(s=shapes())
def test_impls_match_reference_float32(op, s):
    args = make_inputs(op, s, np.float32)
    want = np.asarray(jitted(op, "reference")(*args))
    atol = TOL["float32"] * np.sqrt(n_terms(op, s)) * 4
    for impl in [*fast_impls(op), "auto"]:
        got = jitted(op, impl)(*args)
        assert got.dtype == jnp.float32, impl
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=atol, err_msg=impl)


@pytest.mark.parametrize("op", ops.OPS)
@settings(max_examples=4)
@given(s=shapes(max_x=16))
def test_impls_bfloat16_accumulate_in_float32(op, s):
    """bf16 inputs give a bf16 result equal to the float32 computation on the same (bf16) values,
    up to the final rounding: the sums are not accumulated in bf16."""
    args = tuple(jnp.asarray(a, jnp.bfloat16) for a in make_inputs(op, s, np.float32))
    want = np.asarray(jitted(op, "reference")(*(a.astype(jnp.float32) for a in args)))
    for impl in ["reference", *fast_impls(op)]:
        got = jitted(op, impl)(*args)
        assert got.dtype == jnp.bfloat16, impl
        np.testing.assert_allclose(np.asarray(got, np.float32), want, rtol=2**-7,
                                   atol=TOL["float32"] * np.sqrt(n_terms(op, s)) * 4, err_msg=impl)


@pytest.mark.parametrize("op", ops.OPS)
@settings(max_examples=5)
@given(s=shapes(max_x=16))
def test_gradients_match_reference_float64(op, s):
    """d/d(inputs) of <op(inputs), cotangent> for every impl equals the reference's, to 1e-10."""
    args = make_inputs(op, s)
    with jax.enable_x64(True):
        cot = np.random.default_rng(s["seed"] + 1).standard_normal(jitted(op, "reference")(*args).shape)
        argnums = tuple(range(len(args)))

        def grads(impl):
            return jax.jit(jax.grad(lambda *a: jnp.sum(call(op, impl, a) * cot), argnums))(*args)

        want = grads("reference")
        for impl in fast_impls(op):
            for g, w in zip(grads(impl), want, strict=True):
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=0, atol=F64_ABS, err_msg=impl)


@settings(max_examples=6)
@given(s=shapes(max_x=12))
def test_asym_conv_bn_relu_is_asym_conv_then_affine_relu(s):
    """relu(concat-conv definition * scale + shift) in numpy, for every impl (pallas: test_kernels_pallas.py)."""
    args = make_inputs("asym_conv", s, np.float32)
    x, z, tx, tz, bias, box = args
    scale, shift = np.random.default_rng(s["seed"] + 2).standard_normal((2, s["k"])).astype(np.float32)
    want = np.maximum(numpy_loop("asym_conv", args) * scale + shift, 0)
    atol = TOL["float32"] * np.sqrt(n_terms("asym_conv", s)) * 4 * (1 + np.abs(scale).max())
    for impl in ["reference", *fast_impls("asym_conv"), "auto"]:
        got = ops.asym_conv_bn_relu(x, z, tx, tz, bias, scale, shift, box_embed=box, impl=impl)
        assert got.dtype == jnp.float32, impl
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=atol, err_msg=impl)


@settings(max_examples=8)
@given(s=shapes(max_x=16))
def test_xcorr_is_dw_xcorr_summed_over_channels(s):
    x, z = make_inputs("xcorr", s, np.float32)
    np.testing.assert_allclose(np.asarray(ops.xcorr(x, z)), np.asarray(ops.dw_xcorr(x, z).sum(-1, keepdims=True)),
                               rtol=1e-5, atol=1e-4 * np.sqrt(n_terms("xcorr", s)))


@settings(max_examples=8)
@given(s=shapes(max_x=16))
def test_up_xcorr_is_xcorr_per_kernel_group(s):
    x, z = make_inputs("up_xcorr", s, np.float32)
    c = s["c"]
    per_group = [ops.xcorr(x, z[..., g * c:(g + 1) * c]) for g in range(s["k"])]
    np.testing.assert_allclose(np.asarray(ops.up_xcorr(x, z)), np.asarray(jnp.concatenate(per_group, -1)),
                               rtol=1e-5, atol=1e-4 * np.sqrt(n_terms("xcorr", s)))


@pytest.mark.parametrize("op", ops.OPS)
@pytest.mark.parametrize("impl", ["reference", "xla_conv", "shift", "fft", "auto"])
def test_vmap_over_extra_axis_equals_python_loop(op, impl):
    s = {"b": 2, "c": 3, "hz": 3, "wz": 2, "hx": 7, "wx": 6, "k": 2, "seed": 7}
    stacked = [make_inputs(op, dict(s, seed=s["seed"] + v), np.float32) for v in range(3)]
    batched = tuple(np.stack(a) for a in zip(*stacked, strict=True))  # extra leading axis of 3
    got = jax.vmap(lambda *a: call(op, impl, a))(*batched)
    want = np.stack([np.asarray(call(op, impl, a)) for a in stacked])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("impl", ["reference", *(i for i in ops.implementations("asym_conv") if i != "reference")])
def test_asym_search_with_a_precomputed_template_term(impl):
    """`asym_search(x, theta_x, t)` with t = conv(z, theta_z) + bias + box_embed computed by hand (numpy) equals the
    looping reference of the whole `asym_conv`, and with (scale, shift) its BN-ReLU; bad shapes name the argument."""
    r = np.random.default_rng(7)
    x, z = r.standard_normal((2, 7, 8, 3)).astype(np.float32), r.standard_normal((2, 3, 4, 3)).astype(np.float32)
    tx, tz = r.standard_normal((3, 4, 3, 5)).astype(np.float32), r.standard_normal((3, 4, 3, 5)).astype(np.float32)
    bias, box = r.standard_normal(5).astype(np.float32), r.standard_normal((2, 5)).astype(np.float32)
    scale, shift = r.uniform(0.5, 1.5, 5).astype(np.float32), r.standard_normal(5).astype(np.float32)
    t = np.einsum("buvc,uvcp->bp", z.astype(np.float64), tz.astype(np.float64)) + bias + box
    want = np.asarray(ops.asym_conv(x, z, tx, tz, bias, box_embed=box, impl="reference"))
    np.testing.assert_allclose(ops.asym_search(x, tx, t.astype(np.float32), impl=impl), want, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ops.asym_search(x, tx, t.astype(np.float32), scale, shift, impl=impl),
                               np.maximum(want * scale + shift, 0), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"asym_search: t must"):
        ops.asym_search(x, tx, t[:, :4].astype(np.float32), impl=impl)
    with pytest.raises(ValueError, match=r"asym_search: give both scale and shift"):
        ops.asym_search(x, tx, t.astype(np.float32), scale, impl=impl)
