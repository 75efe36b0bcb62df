"""RoI Align against torchvision's definition: values, gradients, vmap, bf16, and its border rules by hand.

The fast forms ("separable", "dense", "auto") are checked against the loop reference (`roi_align_reference`)
and, when torch is installed, against `tests/torch_ref/roi_align.py`, torchvision's CPU kernel (forward and
backward) restated loop for loop. Hypothesis draws B 1-2, H, W 1-8, C 1-3, N 1-3 boxes, Ho, Wo 1-3, the
sampling ratio (adaptive or 1-3), `aligned` and the stride; boxes lie anywhere from 30% outside the image to
inside it, tiny to larger than the image, a few with x2 < x1. Small closed-form cases pin the border rules.
"""

import functools
import importlib.util

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxtrack.ops as ops
from jaxtrack import boxes as box_lib

FAST = ("separable", "dense")  # and "auto", in the closed-form tests
F64_ABS = 1e-10
needs_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                 reason="the torchvision restatement needs torch (requirements-torch.txt)")


@st.composite
def cases(draw, max_hw=8, max_n=3):
    return {
        "b": draw(st.integers(1, 2)), "h": draw(st.integers(1, max_hw)), "w": draw(st.integers(1, max_hw)),
        "c": draw(st.integers(1, 3)), "n": draw(st.integers(1, max_n)),
        "out": (draw(st.integers(1, 3)), draw(st.integers(1, 3))),
        "sampling_ratio": draw(st.sampled_from([-1, 0, 1, 2, 3])), "aligned": draw(st.booleans()),
        "scale": draw(st.sampled_from([1.0, 0.5, 0.125])), "seed": draw(st.integers(0, 2**31 - 1)),
    }


def make(s, dtype=np.float64):
    """(features [B, H, W, C], boxes [B, N, 4] x1, y1, x2, y2 in image pixels) as numpy `dtype`."""
    rng = np.random.default_rng(s["seed"])
    features = rng.standard_normal((s["b"], s["h"], s["w"], s["c"]))
    img = np.array([s["w"], s["h"]]) / s["scale"]
    centre = rng.uniform(-0.3, 1.3, (s["b"], s["n"], 2)) * img
    size = rng.uniform(-0.1, 1.2, (s["b"], s["n"], 2)) * img
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=-1)
    return features.astype(dtype), boxes.astype(dtype)


def kwargs(s):
    return {"spatial_scale": s["scale"], "sampling_ratio": s["sampling_ratio"], "aligned": s["aligned"]}


@functools.cache
def jitted(impl, out, spatial_scale, sampling_ratio, aligned):
    return jax.jit(lambda f, b: ops.roi_align(f, b, out, spatial_scale=spatial_scale, sampling_ratio=sampling_ratio,
                                              aligned=aligned, impl=impl))


def fast(impl, s, f, b):
    return jitted(impl, s["out"], **kwargs(s))(f, b)


def reference(s, f, b):
    return ops.roi_align_reference(f, b, s["out"], **kwargs(s))


def torch_rois(boxes):
    """[B, N, 4] -> torchvision's [B * N, 5] rois (batch index first)."""
    index = np.repeat(np.arange(boxes.shape[0]), boxes.shape[1])[:, None]
    return np.concatenate([index, boxes.reshape(-1, 4)], axis=1)


def torch_forward(s, f, b):
    import torch

    from tests.torch_ref import roi_align as tv

    out = tv.forward(torch.from_numpy(f.transpose(0, 3, 1, 2).copy()), torch.from_numpy(torch_rois(b)), s["scale"],
                     *s["out"], s["sampling_ratio"], s["aligned"])
    return out.numpy().reshape(b.shape[0], b.shape[1], f.shape[3], *s["out"]).transpose(0, 1, 3, 4, 2)


@settings(max_examples=6)
@given(s=cases())
def test_fast_impls_match_reference_float64(s):
    f, b = make(s)
    with jax.enable_x64(True):
        want = np.asarray(reference(s, f, b))
        assert want.shape == (s["b"], s["n"], *s["out"], s["c"])
        for impl in FAST:
            got = fast(impl, s, f, b)
            assert got.dtype == jnp.float64, impl
            np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=F64_ABS, err_msg=impl)


@needs_torch
@settings(max_examples=6)
@given(s=cases())
def test_matches_torchvision_kernel_float64(s):
    f, b = make(s)
    want = torch_forward(s, f, b)
    with jax.enable_x64(True):
        for impl in FAST:
            np.testing.assert_allclose(np.asarray(fast(impl, s, f, b)), want, rtol=0, atol=F64_ABS, err_msg=impl)
        if s["n"] * s["b"] <= 2:
            np.testing.assert_allclose(np.asarray(reference(s, f, b)), want, rtol=0, atol=F64_ABS, err_msg="reference")


@settings(max_examples=5)
@given(s=cases())
def test_fast_impls_match_reference_float32(s):
    f, b = make(s, np.float32)
    want = np.asarray(reference(s, f, b))
    for impl in FAST:
        got = fast(impl, s, f, b)
        assert got.dtype == jnp.float32, impl
        np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5, err_msg=impl)


@settings(max_examples=3)
@given(s=cases())
def test_bfloat16_features_accumulate_in_float32(s):
    """bf16 features give a bf16 result equal to the float32 reference on the same (bf16) values, up to the final
    rounding."""
    f, b = make(s, np.float32)
    f16 = jnp.asarray(f, jnp.bfloat16)
    want = np.asarray(reference(s, f16.astype(jnp.float32), b))
    for impl in FAST:
        got = fast(impl, s, f16, b)
        assert got.dtype == jnp.bfloat16, impl
        np.testing.assert_allclose(np.asarray(got, np.float32), want, rtol=2**-7, atol=1e-5, err_msg=impl)


@needs_torch
@settings(max_examples=6)
@given(s=cases())
def test_feature_gradients_match_torchvision_backward(s):
    import torch

    from tests.torch_ref import roi_align as tv

    f, b = make(s)
    cot = np.random.default_rng(s["seed"] + 1).standard_normal((s["b"], s["n"], *s["out"], s["c"]))
    grad = torch.from_numpy(cot.reshape(-1, *s["out"], s["c"]).transpose(0, 3, 1, 2).copy())
    want = tv.backward(grad, torch.from_numpy(torch_rois(b)), s["scale"], *s["out"],
                       (s["b"], s["c"], s["h"], s["w"]), s["sampling_ratio"], s["aligned"])
    want = want.numpy().transpose(0, 2, 3, 1)
    with jax.enable_x64(True):
        for impl in FAST:
            got = jax.grad(lambda x, impl=impl: jnp.sum(fast(impl, s, x, b) * cot))(f)
            np.testing.assert_allclose(np.asarray(got), want, rtol=0, atol=F64_ABS, err_msg=impl)


@settings(max_examples=4)
@given(s=cases(max_n=2))
def test_box_gradients_match_finite_differences(s):
    """d/d(boxes) of <roi_align, cotangent> equals central differences, wherever the left and right differences
    agree (no sample crosses a pixel row, the border or a change of sample count there)."""
    f, b = make(s)
    cot = np.random.default_rng(s["seed"] + 1).standard_normal((s["b"], s["n"], *s["out"], s["c"]))
    eps = 1e-6
    steps = np.eye(b.size).reshape(b.size, *b.shape) * eps
    with jax.enable_x64(True):
        loss = lambda impl: lambda bx: jnp.sum(fast(impl, s, f, bx) * cot)
        at = float(loss("separable")(b))
        moved = jax.jit(jax.vmap(loss("separable")))(np.concatenate([b + steps, b - steps]))
        right, left = (np.asarray(moved[:b.size]) - at) / eps, (at - np.asarray(moved[b.size:])) / eps
        smooth = np.abs(right - left) <= 1e-5 * (1 + np.abs(right))
        assert smooth.sum() >= b.size // 2
        for impl in FAST:
            g = np.asarray(jax.grad(loss(impl))(b)).reshape(-1)
            assert np.isfinite(g).all(), impl
            np.testing.assert_allclose(g[smooth], ((right + left) / 2)[smooth], rtol=1e-5, atol=1e-6, err_msg=impl)


def test_gradients_match_the_reference_autodiff():
    """jax.grad through the loop reference (its Python branches fixed at the point) equals the fast forms', for
    features and boxes, on boxes that sample the interior, the clamped borders and outside the map."""
    rng = np.random.default_rng(3)
    f = rng.standard_normal((1, 5, 6, 2))
    b = np.array([[[1.3, 2.1, 4.9, 6.2], [-3.1, 6.5, 2.2, 11.3]]])  # adaptive (gh, gw): (2, 1), (2, 2)
    cot = rng.standard_normal((1, 2, 2, 2, 2))
    with jax.enable_x64(True):
        loss = lambda impl: lambda x, bx: jnp.sum(
            ops.roi_align(x, bx, 2, spatial_scale=0.5, sampling_ratio=-1, aligned=True, impl=impl) * cot)
        want = jax.grad(loss("reference"), argnums=(0, 1))(f, b)
        assert np.abs(want[1]).sum() > 0
        for impl in FAST:
            got = jax.jit(jax.grad(loss(impl), argnums=(0, 1)))(f, b)
            for g, w in zip(got, want, strict=True):
                np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=0, atol=F64_ABS, err_msg=impl)


@pytest.mark.parametrize("impl", [*FAST, "auto"])
def test_vmap_over_extra_axis_equals_python_loop(impl):
    s = {"b": 2, "h": 6, "w": 5, "c": 3, "n": 3, "out": (2, 2), "sampling_ratio": -1, "aligned": True,
         "scale": 0.5}
    stacked = [make(dict(s, seed=v), np.float32) for v in range(3)]
    fs, bs = (np.stack(a) for a in zip(*stacked, strict=True))
    got = jax.vmap(lambda f, b: ops.roi_align(f, b, (2, 2), spatial_scale=0.5, aligned=True, impl=impl))(fs, bs)
    want = np.stack([np.asarray(fast(impl, s, f, b)) for f, b in stacked])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


# Closed forms: the rules of torchvision's kernel, computed by hand.


def ramp(h, w):
    """F[y, x] = [y + 1, x + 1, 2y - x]: linear, so bilinear interpolation of it is exact inside the map."""
    y, x = np.mgrid[:h, :w].astype(np.float64)
    return np.stack([y + 1, x + 1, 2 * y - x], axis=-1)[None]


@pytest.mark.parametrize("impl", ["reference", *FAST, "auto"])
@pytest.mark.parametrize("aligned", [True, False])
def test_linear_map_gives_the_bin_centres(impl, aligned):
    """On a linear map, bin (i, j) of a box inside it is the map at the bin centre, whatever the samples: with
    aligned, `y1 * scale - 0.5 + (i + 0.5) * bin_h`. The box is jaxtrack xywh (10, 6, 36, 22), stride 4."""
    xyxy = box_lib.xywh_to_xyxy(np.array([10.0, 6.0, 36.0, 22.0]))
    f = ramp(9, 14)
    got = np.asarray(ops.roi_align(f, xyxy[None, None], (2, 3), spatial_scale=0.25, aligned=aligned, impl=impl))
    shift = 0.5 if aligned else 0.0
    yc = 6 / 4 - shift + (np.arange(2) + 0.5) * (22 / 4) / 2
    xc = 10 / 4 - shift + (np.arange(3) + 0.5) * (36 / 4) / 3
    want = np.stack(np.broadcast_arrays(yc[:, None] + 1, xc[None, :] + 1, 2 * yc[:, None] - xc[None, :]), -1)
    np.testing.assert_allclose(got[0, 0], want, rtol=0, atol=1e-5)


@pytest.mark.parametrize("impl", ["reference", *FAST, "auto"])
@pytest.mark.parametrize(("y", "want"), [
    (-1.0, 1.0),     # y = -1 is inside: clamped to row 0
    (-1.25, 0.0),    # below -1: zero
    (-0.5, 1.0),     # in [-1, 0]: row 0
    (3.5, 4.0),      # in [H - 1, H]: row H - 1, not extrapolated
    (4.0, 4.0),      # y = H is inside
    (4.25, 0.0),     # above H: zero
    (1.25, 2.25),    # interior: interpolated
])
def test_border_rules(impl, y, want):
    """One sample (out 1, sampling_ratio 1, not aligned: the box centre) on F[y, x] = y + 1, H = W = 4."""
    f = ramp(4, 4)[..., :1]
    b = np.array([[[1.0, y - 0.5, 2.0, y + 0.5]]])  # roi height 1: the sample sits at y
    got = ops.roi_align(f, b, 1, sampling_ratio=1, aligned=False, impl=impl)
    assert float(got[0, 0, 0, 0, 0]) == pytest.approx(want, abs=1e-6)


@pytest.mark.parametrize("impl", ["reference", *FAST, "auto"])
@pytest.mark.parametrize(("box", "sampling_ratio", "aligned", "want"), [
    ((0.0, 0.0, 3.0, 1.0), -1, False, 1 / 3),   # adaptive: ceil(3 / 1) = 3 samples at x = 0.5, 1.5, 2.5
    ((0.0, 0.0, 3.0, 1.0), 2, False, 0.375),    # x = 0.75, 2.25
    ((0.0, 0.0, 3.0, 1.0), 1, False, 0.5),      # x = 1.5
    ((2.0, 0.0, 2.0, 1.0), -1, False, 0.5),     # zero width raised to 1 without aligned: x = 2.5
    ((2.0, 0.0, 2.0, 1.0), -1, True, 0.0),      # aligned: zero width, ceil(0) = 0 samples, pools to 0
    ((2.5, 0.5, 2.5, 1.5), 1, True, 1.0),       # aligned, one sample at x = 2.5 - 0.5 = 2
    ((3.0, 0.0, 1.0, 1.0), 2, True, 0.5),       # x2 < x1, fixed ratio: bin -2, x = 2.5 - 0.5 = 2, 2.5 - 1.5 = 1
])
def test_sample_counts(impl, box, sampling_ratio, aligned, want):
    """F = [0, 0, 1, 0] along x (H = 1): the average shows where the samples are and how many."""
    f = np.array([0.0, 0.0, 1.0, 0.0])[None, None, :, None]
    got = ops.roi_align(f, np.array(box)[None, None], 1, sampling_ratio=sampling_ratio, aligned=aligned, impl=impl)
    assert float(got[0, 0, 0, 0, 0]) == pytest.approx(want, abs=1e-6)


f0, b0 = np.zeros((2, 5, 5, 3), np.float32), np.zeros((2, 4, 4), np.float32)


@pytest.mark.parametrize(("args", "kw", "pattern"), [
    ((np.zeros((5, 5, 3)), b0, 2), {}, r"roi_align: features must be rank 4 \[B, H, W, C\], got shape \(5, 5, 3\)"),
    ((f0, np.zeros((2, 4, 5)), 2), {}, r"boxes must have shape \[B, N, 4\].*boxes.shape=\(2, 4, 5\)"),
    ((f0, np.zeros((3, 4, 4)), 2), {}, r"same batch size B; features.shape=\(2, 5, 5, 3\), boxes.shape=\(3, 4, 4\)"),
    ((f0, b0.astype(np.int32), 2), {}, r"boxes must be a floating dtype, got int32"),
    ((f0, b0, 0), {}, r"out_size must be an int >= 1 or a pair \(Ho, Wo\) of them, got 0"),
    ((f0, b0, (2, 2, 2)), {}, r"out_size .* got \(2, 2, 2\)"),
    ((f0, b0, 2), {"spatial_scale": 0.0}, r"spatial_scale must be a finite number > 0.*got 0.0"),
    ((f0, b0, 2), {"sampling_ratio": 1.5}, r"sampling_ratio must be an int.*got 1.5"),
    ((f0, b0, 2), {"impl": "nope"}, r"roi_align: unknown impl='nope'.*separable"),
])
def test_bad_input_is_named(args, kw, pattern):
    with pytest.raises(ValueError, match=pattern):
        ops.roi_align(*args, **kw)
