"""ops.conv forms against a float64 numpy direct convolution; models.conv.Conv against flax's nn.Conv."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack.models import conv as conv_module
from jaxtrack.ops import conv as conv_ops


def direct(x, w, strides, pads, dilation, groups):
    """The definition: y[b, i, j, o] = sum_{u, v, c} xpad[b, i*s + u*d, j*s + v*d, g(o)*Cg + c] w[u, v, c, o]."""
    x = np.pad(np.float64(x), ((0, 0), pads[0], pads[1], (0, 0)))
    kh, kw, cg, o = w.shape
    (sh, sw), (dh, dw) = strides, dilation
    ho, wo = (x.shape[1] - dh * (kh - 1) - 1) // sh + 1, (x.shape[2] - dw * (kw - 1) - 1) // sw + 1
    y = np.zeros((x.shape[0], ho, wo, o))
    og = o // groups
    for i in range(ho):
        for j in range(wo):
            win = x[:, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]  # [B, kh, kw, C]
            for g in range(groups):
                y[:, i, j, g * og:(g + 1) * og] = np.einsum("buvc,uvco->bo", win[..., g * cg:(g + 1) * cg],
                                                             np.float64(w[..., g * og:(g + 1) * og]))
    return y


# (H, C, O, k, stride, pad, dilation, groups, forms)
CASES = [
    (9, 8, 5, 1, 1, 0, 1, 1, ("xla", "im2col")),
    (9, 8, 5, 1, 2, 0, 1, 1, ("xla", "im2col")),
    (10, 6, 7, 3, 1, 1, 1, 1, ("xla", "im2col", "winograd", "winograd4")),
    (11, 6, 7, 3, 1, 0, 1, 1, ("xla", "im2col", "winograd", "winograd4")),
    (13, 5, 4, 3, 1, 2, 2, 1, ("xla", "im2col", "winograd", "winograd4")),
    (15, 5, 4, 3, 1, 4, 4, 1, ("xla", "im2col", "winograd", "winograd4")),
    (14, 5, 4, 3, 1, 0, 3, 1, ("xla", "im2col", "winograd", "winograd4")),
    (13, 6, 8, 3, 2, 0, 1, 1, ("xla", "im2col")),
    (12, 4, 6, 5, 1, 0, 1, 1, ("xla", "im2col", "winograd", "winograd4")),
    (23, 3, 4, 11, 2, 0, 1, 1, ("xla", "im2col")),
    (11, 6, 6, 3, 1, 1, 1, 6, ("xla", "shift")),
    (12, 6, 6, 3, 2, 0, 1, 6, ("xla", "shift")),
    (13, 6, 6, 3, 1, 2, 2, 6, ("xla", "shift")),
    (15, 6, 6, 3, 1, 4, 4, 6, ("xla", "shift")),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"h{c[0]}c{c[1]}o{c[2]}k{c[3]}s{c[4]}p{c[5]}d{c[6]}g{c[7]}")
def test_forms_match_direct(case):
    h, c, o, k, s, p, d, g, forms = case
    rng = np.random.default_rng(h * 31 + k)
    x = rng.standard_normal((2, h, h + 1, c)).astype(np.float32)
    w = rng.standard_normal((k, k, c // g, o)).astype(np.float32)
    pads = ((p, p), (p, p))
    ref = direct(x, w, (s, s), pads, (d, d), g)
    scale = np.abs(ref).max()
    for form in (*forms, "auto"):
        y = np.asarray(conv_ops.conv2d(jnp.asarray(x), jnp.asarray(w), s, pads, d, g, impl=form))
        assert y.shape == ref.shape, form
        np.testing.assert_allclose(y / scale, ref / scale, atol=1e-5, err_msg=form)


@pytest.mark.parametrize("m, r", [(2, 3), (4, 3), (2, 5), (4, 5)])
def test_winograd_matrices_compute_a_correlation(m, r):
    """A^T [(G g) * (B^T d)] is the VALID correlation of a tile d [m + r - 1] with g [r] (its definition)."""
    at, g, bt = conv_ops.winograd_matrices(m, r)
    rng = np.random.default_rng(m * 10 + r)
    d, k = rng.standard_normal(m + r - 1), rng.standard_normal(r)
    np.testing.assert_allclose(at @ ((g @ k) * (bt @ d)), [d[i:i + r] @ k for i in range(m)], atol=1e-12)


@pytest.mark.parametrize("m, r, rms", [(2, 3, 4e-7), (4, 3, 9e-7), (2, 5, 1.3e-6), (4, 5, 3.5e-6)])
def test_winograd_float32_error(m, r, rms):
    """F(m, r) in float32 on tiles of post-ReLU-like inputs against a float64 direct correlation: RMS error over
    the output's RMS. The bounds hold with `POINTS`' order, not with 0, +-1, +-2, +-1/2 (F(4, 3): 1.1e-6,
    F(2, 5): 1.6e-6; here 0.76e-6 and 1.08e-6)."""
    at, g, bt = (a.astype(np.float32) for a in conv_ops.winograd_matrices(m, r))
    rng, n, c, o = np.random.default_rng(m * r), m + r - 1, 128, 32
    d = rng.random((300, n, n, c)).astype(np.float32)
    w = (rng.standard_normal((r, r, c, o)) / np.sqrt(r * r * c)).astype(np.float32)
    u = np.einsum("ik,klco,jl->ijco", g, w, g).astype(np.float32)
    v = np.einsum("ik,tklc,jl->tijc", bt, d, bt).astype(np.float32)
    y = np.einsum("ik,tklo,jl->tijo", at, np.einsum("tijc,ijco->tijo", v, u).astype(np.float32), at)
    ref = np.stack([np.stack([np.einsum("tklc,klco->to", np.float64(d[:, a:a + r, b:b + r]), np.float64(w))
                              for b in range(m)], 1) for a in range(m)], 1)
    assert np.sqrt(np.mean((y - ref) ** 2) / np.mean(ref ** 2)) < rms


def test_winograd_prepared_weights_and_gradient():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((1, 9, 9, 4)), jnp.float32)
    w = jnp.asarray(rng.standard_normal((3, 3, 4, 5)), jnp.float32)
    pads = ((2, 2), (2, 2))
    g = conv_ops.winograd_matrices(4, 3)[1]
    u_ref = np.einsum("ia,abco,jb->ijco", g, np.float64(w), g).reshape(36, 4, 5)  # G w G^T
    np.testing.assert_allclose(conv_ops.winograd_weights(w, 4), u_ref, rtol=1e-6, atol=1e-6)
    a = conv_ops.conv2d(x, w, 1, pads, 2, impl="winograd4", prepared=conv_ops.winograd_weights(w, 4))
    np.testing.assert_allclose(a, direct(x, w, (1, 1), pads, (2, 2), 1), rtol=1e-5, atol=1e-5)
    loss = lambda impl: lambda x, w: jnp.sum(jnp.sin(conv_ops.conv2d(x, w, 1, pads, 2, impl=impl)))
    for got, want in zip(jax.grad(loss("winograd"), (0, 1))(x, w), jax.grad(loss("xla"), (0, 1))(x, w)):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_bad_inputs_name_the_problem():
    x, w = jnp.zeros((1, 8, 8, 4)), jnp.zeros((3, 3, 4, 4))
    with pytest.raises(ValueError, match="unknown impl='fast'"):
        conv_ops.conv2d(x, w, impl="fast")
    with pytest.raises(ValueError, match="square odd kernels >= 3, stride 1"):
        conv_ops.conv2d(x, w, 2, impl="winograd")
    with pytest.raises(ValueError, match="depthwise"):
        conv_ops.conv2d(x, w, impl="shift")
    with pytest.raises(ValueError, match=r"w \[kh, kw, C // groups, O\]"):
        conv_ops.conv2d(x, jnp.zeros((3, 3, 3, 4)))


def test_auto_forms():
    assert conv_ops.auto_form((3, 3, 1, 64), (1, 1), 64, backend="cpu") == "shift"
    assert conv_ops.auto_form((3, 3, 64, 64), (1, 1), 1, backend="cpu") == "winograd"
    assert conv_ops.auto_form((5, 5, 64, 64), (1, 1), 1, backend="cpu") == "winograd"
    assert conv_ops.auto_form((3, 3, 64, 64), (2, 2), 1, backend="cpu") == "im2col"
    assert conv_ops.auto_form((1, 1, 64, 64), (1, 1), 1, backend="cpu") == "im2col"
    assert conv_ops.auto_form((7, 7, 3, 64), (2, 2), 1, backend="cpu") == "xla"
    assert conv_ops.auto_form((3, 3, 64, 64), (1, 1), 1, backend="gpu") == "xla"
    small = conv_ops.MIN_AUTO_FLOPS / (2 * 9 * 64 * 64)  # output pixels at the threshold
    assert conv_ops.auto_form((3, 3, 64, 64), (1, 1), 1, backend="cpu", out_pixels=int(small) - 1) == "xla"
    assert conv_ops.auto_form((1, 1, 64, 64), (1, 1), 1, backend="cpu", out_pixels=1) == "im2col"  # one dot
    assert conv_ops.auto_form((3, 3, 64, 64), (1, 1), 1, backend="cpu", out_pixels=int(small) + 1) == "winograd"
    large = conv_ops.WINOGRAD4_FLOPS / (2 * 25 * 96 * 256)  # AlexNet's conv2 is 5.2 GFLOP at 65x65 outputs
    assert conv_ops.auto_form((5, 5, 96, 256), (1, 1), 1, backend="cpu", out_pixels=int(large) - 1) == "winograd"
    assert conv_ops.auto_form((5, 5, 96, 256), (1, 1), 1, backend="cpu", out_pixels=65 * 65) == "winograd4"


class Pair(nn.Module):
    """A 3x3 (winograd at inference), a depthwise and a strided conv, built by `make` (nn.Conv or models.Conv)."""

    make: type

    @nn.compact
    def __call__(self, x, train: bool = False):
        kw = {} if self.make is nn.Conv else {"train": train}
        x = self.make(6, (3, 3), padding=[(2, 2)] * 2, kernel_dilation=2)(x, **kw)
        x = self.make(6, (3, 3), padding=1, feature_group_count=6, use_bias=False)(x, **kw)
        return self.make(4, (3, 3), 2, padding="VALID")(x, **kw)


def test_conv_module_is_nn_conv(monkeypatch):
    monkeypatch.setattr(conv_ops, "MIN_AUTO_FLOPS", 0)  # the tiny convs take the forms they would at full size
    x = jnp.asarray(np.random.default_rng(1).standard_normal((2, 11, 11, 5)), jnp.float32)
    ours, theirs = Pair(conv_module.Conv), Pair(nn.Conv)
    variables = ours.init(jax.random.key(0), x)
    assert jax.tree.map(np.shape, variables) == jax.tree.map(np.shape, theirs.init(jax.random.key(0), x))
    for a, b in zip(jax.tree.leaves(variables), jax.tree.leaves(theirs.init(jax.random.key(0), x))):
        np.testing.assert_array_equal(a, b)
    want = theirs.apply(variables, x)
    prepared = conv_module.prepare(ours, variables, x)
    assert set(prepared) == {"params", "prepared"} and list(prepared["prepared"]) == ["Conv_0"]
    for v in (variables, prepared):
        np.testing.assert_allclose(ours.apply(v, x), want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.apply(variables, x, train=True), want, rtol=1e-6, atol=1e-6)
