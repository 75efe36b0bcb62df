"""ACM is a convolution over the concatenated template / search-window features, computed cheaply.

Claim. For x [B, Hx, Wx, C], z [B, Hz, Wz, C], theta [Hz, Wz, 2C, P] and every window x_i of x,

    concat_conv(x, z, theta)[i] = asym_conv(x, z, theta_x=theta[..., C:, :], theta_z=theta[..., :C, :])[i].

Proof, one step per test below (float64, to 1e-10, forward and gradient):
  (1) conv is linear in its input, and concat([z, x_i]) = concat([z, 0]) + concat([0, x_i]), so
      conv(concat([z, x_i]), theta) = conv(concat([z, 0]), theta) + conv(concat([0, x_i]), theta).
  (2) Zero channels contribute nothing: conv(concat([z, 0]), theta) = conv(z, theta[..., :C, :]) and
      conv(concat([0, x_i]), theta) = conv(x_i, theta[..., C:, :]).
  (3) conv(z, theta_z) does not depend on i: it is one 1 x 1 x P vector per example.
  (4) Over all windows i, conv(x_i, theta_x) is the VALID convolution of x with theta_x, Ho x Wo x P.
  Hence concat_conv = conv(x, theta_x) + broadcast(conv(z, theta_z)) = asym_conv.              QED
"""

import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import jaxtrack.ops as ops

ATOL = 1e-10


@st.composite
def acm_case(draw):
    hz, wz = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    b, c, p = draw(st.integers(1, 4)), draw(st.integers(1, 32)), draw(st.integers(1, 8))
    hx, wx = draw(st.integers(hz, 24)), draw(st.integers(wz, 24))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    n = lambda *s: rng.standard_normal(s)
    return n(b, hx, wx, c), n(b, hz, wz, c), n(hz, wz, 2 * c, p), n(p)


def split(theta):
    c = theta.shape[2] // 2
    return theta[:, :, c:, :], theta[:, :, :c, :]  # theta_x, theta_z


def f64(fn, *args):
    """fn(*args) jitted, in float64."""
    with jax.enable_x64(True):
        return jax.jit(fn)(*args)


def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=0, atol=ATOL)


@given(acm_case())
def test_step1_linearity_in_the_concatenated_input(case):
    x, z, theta, _ = case
    cat = ops.concat_conv_reference
    close(f64(cat, x, z, theta), f64(lambda x, z, t: cat(x, 0 * z, t) + cat(0 * x, z, t), x, z, theta))


@given(acm_case())
def test_step2_zero_channels_contribute_nothing(case):
    x, z, theta, _ = case
    theta_x, theta_z = split(theta)
    only_z = f64(lambda z, t: ops.concat_conv_reference(0 * x, z, t), z, theta)
    only_x = f64(lambda x, t: ops.concat_conv_reference(x, 0 * z, t), x, theta)
    close(only_z, f64(lambda z, t: ops.asym_conv(0 * x, z, 0 * t, t, impl="reference"), z, theta_z))
    close(only_x, f64(lambda x, t: ops.asym_conv(x, 0 * z, t, 0 * t, impl="reference"), x, theta_x))


@given(acm_case())
def test_step3_template_term_is_the_same_for_every_window(case):
    x, z, theta, _ = case
    only_z = np.asarray(f64(lambda z, t: ops.concat_conv_reference(0 * x, z, t), z, theta))  # [B, Ho, Wo, P]
    close(only_z, np.broadcast_to(only_z[:, :1, :1, :], only_z.shape))


@given(acm_case())
def test_step4_search_term_is_one_valid_convolution(case):
    x, z, theta, _ = case
    theta_x, _ = split(theta)
    conv = lambda x, t: jax.lax.conv_general_dilated(x, t, (1, 1), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"))
    close(f64(lambda x, t: ops.concat_conv_reference(x, 0 * z, t), x, theta), f64(conv, x, theta_x))


@given(case=acm_case())
def test_conclusion_asym_conv_equals_concat_conv_forward(case):
    x, z, theta, bias = case
    with jax.enable_x64(True):
        want = jax.jit(ops.concat_conv_reference)(x, z, theta, bias)
        for impl in ops.implementations("asym_conv"):
            acm = jax.jit(lambda x, z, t, b, impl=impl: ops.asym_conv(x, z, *split(t), b, impl=impl))
            close(acm(x, z, theta, bias), want)


@settings(max_examples=5)
@given(case=acm_case())
def test_conclusion_asym_conv_equals_concat_conv_gradient(case):
    """Same function, so the same gradient w.r.t. x, z, theta (through the split) and bias."""
    x, z, theta, bias = case
    with jax.enable_x64(True):
        cot = np.random.default_rng(0).standard_normal(jax.jit(ops.concat_conv_reference)(x, z, theta).shape)
        cat = lambda x, z, t, b: jnp.sum(ops.concat_conv_reference(x, z, t, b) * cot)
        want = jax.jit(jax.grad(cat, (0, 1, 2, 3)))(x, z, theta, bias)
        for impl in ops.implementations("asym_conv"):
            acm = lambda x, z, t, b, impl=impl: jnp.sum(ops.asym_conv(x, z, *split(t), b, impl=impl) * cot)
            for g, w in zip(jax.jit(jax.grad(acm, (0, 1, 2, 3)))(x, z, theta, bias), want, strict=True):
                close(g, w)
