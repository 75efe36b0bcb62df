"""Temporal fusion operators (TSN consensus, TRN relations, ECO-Lite conv3d) against numpy loops written here from
the papers' definitions: every impl equals the reference (values f64/f32, bf16 accumulation, gradients, vmap), the
references equal the loops, padded segments change nothing, TSN is order-free and TRN is not."""

import functools
import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxtrack.ops as ops

F64_ABS = 1e-10


@st.composite
def shapes(draw, max_k=8):
    k = draw(st.integers(1, max_k))
    return {"b": draw(st.integers(1, 3)), "k": k, "d": draw(st.integers(1, 6)), "s": draw(st.integers(1, min(k, 4))),
            "h": draw(st.integers(1, 5)), "o": draw(st.integers(1, 4)),
            "mode": draw(st.sampled_from(["avg", "max", "weighted"])),
            "masked": draw(st.booleans()), "seed": draw(st.integers(0, 2**31 - 1))}


def make_inputs(op, s, dtype=np.float64):
    """Positional arrays of `op` (numpy); masks keep >= 1 real segment except sometimes none at all."""
    rng = np.random.default_rng(s["seed"])
    n = lambda *shape: rng.standard_normal(shape).astype(dtype)
    mask = rng.random((s["b"], s["k"])) < 0.7 if s["masked"] else np.ones((s["b"], s["k"]), bool)
    if op == "consensus":
        return n(s["b"], s["k"], s["d"]), mask, n(s["k"])
    if op == "trn_relation":
        table = np.array(list(itertools.combinations(range(s["k"]), s["s"])), np.int32)
        tuples = table[rng.permutation(len(table))[:4]]
        return (n(s["b"], s["k"], s["d"]), tuples, n(s["s"] * s["d"], s["h"]), n(s["h"]), n(s["h"], s["o"]),
                n(s["o"]), mask)
    return n(s["b"], s["k"], 3, 4, s["d"]), n(3, 2, 3, s["d"], s["o"]), n(s["o"]), mask


def call(op, impl, args, mode="avg"):
    if op == "consensus":
        x, mask, w = args
        return ops.consensus(x, mask, mode=mode, weights=w if mode == "weighted" else None, impl=impl)
    if op == "trn_relation":
        return ops.trn_relation(*args, impl=impl)
    return ops.conv3d(*args, impl=impl)


@functools.cache
def jitted(op, impl, mode="avg"):
    return jax.jit(lambda *a: call(op, impl, a, mode))


def numpy_loop(op, args, mode="avg"):
    if op == "consensus":
        x, mask, w = args
        out = np.zeros((x.shape[0], x.shape[2]))
        for b in range(x.shape[0]):
            real = [k for k in range(x.shape[1]) if mask[b, k]]
            if not real:
                continue
            if mode == "avg":
                out[b] = np.mean([x[b, k] for k in real], 0)
            elif mode == "max":
                out[b] = np.max([x[b, k] for k in real], 0)
            else:
                e = np.exp([w[k] for k in real])
                out[b] = sum(e_i / e.sum() * x[b, k] for e_i, k in zip(e, real))
        return out
    if op == "trn_relation":
        x, tuples, w1, b1, w2, b2, mask = args
        out = np.zeros((x.shape[0], w2.shape[1]))
        for b in range(x.shape[0]):
            gs = [np.maximum(np.maximum(np.concatenate([x[b, t] for t in tup]), 0) @ w1 + b1, 0) @ w2 + b2
                  for tup in tuples if all(mask[b, t] for t in tup)]
            if gs:
                out[b] = np.mean(gs, 0)
        return out
    x, w, bias, mask = args
    bs, k, h, wd, _ = x.shape
    kt, kh, kw = w.shape[:3]
    out = np.zeros((bs, k, h, wd, w.shape[4]))
    for b, t, i, j in itertools.product(range(bs), range(k), range(h), range(wd)):
        if not mask[b, t]:
            continue
        acc = bias.astype(np.float64).copy()
        for dt, di, dj in itertools.product(range(kt), range(kh), range(kw)):
            tt, ii, jj = t + dt - (kt - 1) // 2, i + di - (kh - 1) // 2, j + dj - (kw - 1) // 2
            if 0 <= tt < k and 0 <= ii < h and 0 <= jj < wd and mask[b, tt]:
                acc += x[b, tt, ii, jj] @ w[dt, di, dj]
        out[b, t, i, j] = acc
    return out


def fast_impls(op):
    return [i for i in ops.implementations(op) if i != "reference"]


def float_argnums(op):
    return {"consensus": (0, 2), "trn_relation": (0, 2, 3, 4, 5), "conv3d": (0, 1, 2)}[op]


@pytest.mark.parametrize("op", ops.TEMPORAL_OPS)
@settings(max_examples=4)
@given(s=shapes(max_k=5))
def test_reference_matches_numpy_loops(op, s):
    args = make_inputs(op, s)
    with jax.enable_x64(True):
        got = np.asarray(jitted(op, "reference", s["mode"])(*args))
    np.testing.assert_allclose(got, numpy_loop(op, args, s["mode"]), rtol=0, atol=F64_ABS)


@pytest.mark.parametrize("op", ops.TEMPORAL_OPS)
@settings(max_examples=6)
@given(s=shapes())
def test_impls_match_reference_float64_and_float32(op, s):
    args = make_inputs(op, s)
    with jax.enable_x64(True):
        want = np.asarray(jitted(op, "reference", s["mode"])(*args))
        for impl in fast_impls(op):
            got = jitted(op, impl, s["mode"])(*args)
            assert got.dtype == jnp.float64 and got.shape == want.shape, impl
            np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=F64_ABS, err_msg=impl)
    args32 = tuple(a.astype(np.float32) if a.dtype == np.float64 else a for a in args)
    for impl in [*fast_impls(op), "auto"]:
        got = jitted(op, impl, s["mode"])(*args32)
        assert got.dtype == jnp.float32, impl
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-4, err_msg=impl)


@pytest.mark.parametrize("op", ops.TEMPORAL_OPS)
@settings(max_examples=4)
@given(s=shapes())
def test_bfloat16_accumulates_in_float32(op, s):
    """bf16 inputs give a bf16 result equal to the float32 computation on the same bf16 values up to the final
    rounding (and the rounding of the hidden layer, which TRN keeps in float32 too)."""
    args = tuple(jnp.asarray(a, jnp.bfloat16) if a.dtype == np.float64 else a for a in make_inputs(op, s))
    want = np.asarray(jitted(op, "reference", s["mode"])(
        *(a.astype(jnp.float32) if a.dtype == jnp.bfloat16 else a for a in args)))
    for impl in ["reference", *fast_impls(op)]:
        got = jitted(op, impl, s["mode"])(*args)
        assert got.dtype == jnp.bfloat16, impl
        np.testing.assert_allclose(np.asarray(got, np.float32), want, rtol=2**-7, atol=1e-2, err_msg=impl)


@pytest.mark.parametrize("op", ops.TEMPORAL_OPS)
@settings(max_examples=3)
@given(s=shapes(max_k=6))
def test_gradients_match_reference_float64(op, s):
    args = make_inputs(op, s)
    argnums = float_argnums(op)
    with jax.enable_x64(True):
        cot = np.random.default_rng(s["seed"] + 1).standard_normal(jitted(op, "reference", s["mode"])(*args).shape)

        def grads(impl):
            f = lambda *a: jnp.sum(call(op, impl, a, s["mode"]) * cot)
            return jax.jit(jax.grad(f, argnums))(*args)

        want = grads("reference")
        for impl in fast_impls(op):
            for g, w in zip(grads(impl), want, strict=True):
                assert np.all(np.isfinite(np.asarray(g))), impl
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=0, atol=F64_ABS, err_msg=impl)


@pytest.mark.parametrize("op", ops.TEMPORAL_OPS)
@pytest.mark.parametrize("impl", ["reference", "auto"])
def test_vmap_over_extra_axis_equals_python_loop(op, impl):
    s = {"b": 2, "k": 4, "d": 3, "s": 2, "h": 3, "o": 2, "mode": "weighted", "masked": True}
    stacked = [make_inputs(op, dict(s, seed=v), np.float32) for v in range(3)]
    if op == "trn_relation":  # the tuples are shared, not vmapped
        stacked = [(a[0], stacked[0][1], *a[2:]) for a in stacked]
    axes = tuple(None if (op == "trn_relation" and i == 1) else 0 for i in range(len(stacked[0])))
    columns = zip(*stacked, strict=True)
    batched = tuple(a[0] if ax is None else np.stack(a) for a, ax in zip(columns, axes, strict=True))
    got = jax.vmap(lambda *a: call(op, impl, a, "weighted"), in_axes=axes)(*batched)
    want = np.stack([np.asarray(call(op, impl, a, "weighted")) for a in stacked])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("op", ops.TEMPORAL_OPS)
def test_padded_segments_change_nothing(op):
    """Values written into masked segments do not reach the result (videos shorter than K)."""
    s = {"b": 3, "k": 5, "d": 4, "s": 2, "h": 3, "o": 2, "mode": "max", "masked": True, "seed": 3}
    args = list(make_inputs(op, s, np.float32))
    mask = args[-1] if op != "consensus" else args[1]
    mask[0] = [True, True, True, False, False]
    junk = list(args)
    junk[0] = np.where(mask.reshape(mask.shape + (1,) * (args[0].ndim - 2)), args[0], 1e6).astype(np.float32)
    for impl in ops.implementations(op):
        a = np.asarray(jitted(op, impl, "max")(*args))
        b = np.asarray(jitted(op, impl, "max")(*junk))
        np.testing.assert_array_equal(a, b, err_msg=impl)


def test_tsn_consensus_is_order_free_trn_is_not():
    """Permuting the segments (and their mask) leaves avg / max consensus unchanged; TRN's relation of a random g
    changes, and so does its time reversal (the order-only classes of the recognition set rely on this)."""
    s = {"b": 4, "k": 6, "d": 5, "s": 3, "h": 8, "o": 3, "mode": "avg", "masked": True, "seed": 11}
    x, mask, _ = make_inputs("consensus", s, np.float32)
    perm = np.random.default_rng(0).permutation(s["k"])
    for mode in ("avg", "max"):
        np.testing.assert_allclose(np.asarray(ops.consensus(x[:, perm], mask[:, perm], mode=mode)),
                                   np.asarray(ops.consensus(x, mask, mode=mode)), rtol=1e-6, atol=1e-6)
    x, tuples, w1, b1, w2, b2, _ = make_inputs("trn_relation", dict(s, masked=False), np.float32)
    tuples = np.asarray(ops.relation_tuples(6, 3))
    out = np.asarray(ops.trn_relation(x, tuples, w1, b1, w2, b2))
    for order in (perm, np.arange(6)[::-1]):
        moved = np.asarray(ops.trn_relation(x[:, order], tuples, w1, b1, w2, b2))
        assert np.abs(moved - out).max() > 1e-3


def test_relation_tuples():
    table = np.asarray(ops.relation_tuples(8, 3))
    assert table.shape == (56, 3) and np.all(np.diff(table, axis=1) > 0)
    assert len({tuple(t) for t in table}) == 56
    test = np.asarray(ops.relation_tuples(8, 3, 4))  # deterministic: evenly spaced over the 56
    np.testing.assert_array_equal(test, table[[7, 21, 35, 49]])
    np.testing.assert_array_equal(np.asarray(ops.relation_tuples(8, 3, 4)), test)
    draws = [np.asarray(jax.jit(lambda k: ops.relation_tuples(8, 3, 4, k))(jax.random.key(i))) for i in range(6)]
    for d in draws:
        assert len({tuple(t) for t in d}) == 4 and all(any((t == row).all() for row in table) for t in d)
    assert len({d.tobytes() for d in draws}) > 1
    np.testing.assert_array_equal(np.asarray(ops.relation_tuples(4, 4, 3)), [[0, 1, 2, 3]])


def test_multiscale_is_the_sum_of_scales():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 4, 3)).astype(np.float32)
    scales = [(ops.relation_tuples(4, k, 2), rng.standard_normal((3 * k, 5)).astype(np.float32),
               rng.standard_normal(5).astype(np.float32), rng.standard_normal((5, 2)).astype(np.float32),
               rng.standard_normal(2).astype(np.float32)) for k in (4, 3, 2)]
    want = sum(numpy_loop("trn_relation", (x, np.asarray(t), *p, np.ones((2, 4), bool))) for t, *p in scales)
    np.testing.assert_allclose(np.asarray(ops.trn_multiscale(x, scales)), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(("call_bad", "match"), [
    (lambda: ops.consensus(np.zeros((2, 3)), mode="avg"), r"x must be rank 3 \[B, K, D\]"),
    (lambda: ops.consensus(np.zeros((2, 3, 4)), np.ones((2, 4), bool)), r"mask must have shape \[B, K\] = \[2, 3\]"),
    (lambda: ops.consensus(np.zeros((2, 3, 4)), mode="median"), "mode must be one of"),
    (lambda: ops.consensus(np.zeros((2, 3, 4)), mode="weighted"), "weights"),
    (lambda: ops.trn_relation(np.zeros((1, 3, 2)), np.array([[0, 1]]), np.zeros((3, 2)), np.zeros(2),
                              np.zeros((2, 1)), np.zeros(1)), r"w1 must be \[s\*D, H\] = \[4, H\]"),
    (lambda: ops.trn_relation(np.zeros((1, 3, 2)), np.array([[0, 3]]), np.zeros((4, 2)), np.zeros(2),
                              np.zeros((2, 1)), np.zeros(1)), r"tuples must index segments in \[0, K=3\)"),
    (lambda: ops.conv3d(np.zeros((1, 2, 3, 3, 4)), np.zeros((3, 3, 3, 5, 2))), r"w must be \[kt, kh, kw, C, P\]"),
    (lambda: ops.consensus(np.zeros((1, 2, 3)), impl="fft"), "unknown impl='fft'"),
])
def test_bad_inputs_name_the_argument(call_bad, match):
    with pytest.raises(ValueError, match=match):
        call_bad()
