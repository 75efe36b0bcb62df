"""Asymmetric convolution (ACM, "Learning to Fuse Asymmetric Feature Maps in Siamese Trackers", CVPR 2021).

The fusion it replaces: for every window x_i (size Hz x Wz) of the search features, concatenate the
template z and x_i along channels and apply one VALID convolution with theta `[Hz, Wz, 2C, P]`
(`concat_conv_reference`). Splitting theta along its input channels, `theta = [theta_z | theta_x]`:

    conv(concat(z, x_i), theta) = conv(z, theta_z) + conv(x_i, theta_x)

The first term does not depend on i: it is computed once (a 1 x 1 x P vector) and broadcast-added to
the second, which over all i is one ordinary VALID convolution of x (`Ho x Wo x P`). No per-example
kernels are needed at run time, so the operator exports to any runtime that has a plain convolution.

Implementations (`impl=`) differ in the search term: "reference" (explicit windows), "xla_conv", "im2col",
"shift", "fft", each followed by the jnp broadcast add that XLA fuses as it can; "pallas" (`pallas_impls`)
is XLA's conv followed by the fused Pallas epilogue `kernels.acm_epilogue`. `asym_conv_bn_relu` adds an
inference BatchNorm (folded to scale, shift) and ReLU to the same epilogue.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxtrack.ops import forms
from jaxtrack.ops.checks import acc_dtype, check_pair, check_theta, check_vector
from jaxtrack.ops.registry import register, resolve


def concat_conv_reference(x, z, theta, bias=None):
    """The definition: `[B, Hx, Wx, C], [B, Hz, Wz, C], theta [Hz, Wz, 2C, P] -> [B, Ho, Wo, P]`.

    For each window x_i of x, a VALID convolution of `concat([z, x_i], channel)` with theta (+ bias [P]).
    Slow on purpose: every window is materialised and convolved on its own.
    """
    ho, wo = check_pair("concat_conv_reference", x, z)
    b, hz, wz, c = z.shape
    p = check_theta("concat_conv_reference", "theta", theta, z, 2 * c)
    check_vector("concat_conv_reference", "bias", bias, (p,))
    acc = acc_dtype(x, z, theta)
    win = forms.windows(x.astype(acc), hz, wz).reshape(b * ho * wo, hz, wz, c)  # every x_i
    zs = jnp.broadcast_to(z.astype(acc)[:, None], (b, ho * wo, hz, wz, c)).reshape(b * ho * wo, hz, wz, c)
    y = forms.conv_valid(jnp.concatenate([zs, win], axis=-1), theta.astype(acc), acc)  # [B*Ho*Wo, 1, 1, P]
    y = y.reshape(b, ho, wo, p)
    return (y if bias is None else y + bias.astype(acc)).astype(jnp.result_type(x, z, theta))


def asym_conv(x, z, theta_x, theta_z, bias=None, *, box_embed=None, impl: str = "auto"):
    """ACM fusion: `conv(x, theta_x)` (VALID) + broadcast `conv(z, theta_z)` (1x1xP) + bias + box_embed.

    Shapes: x [B, Hx, Wx, C], z [B, Hz, Wz, C], theta_x and theta_z [Hz, Wz, C, P], bias [P],
    box_embed [B, P] (SiamBAN-ACM's template-box encoding) -> [B, Ho, Wo, P] (the inputs' dtype). No activation.
    """
    return _asym("asym_conv", x, z, theta_x, theta_z, bias, box_embed, impl)


def asym_conv_bn_relu(x, z, theta_x, theta_z, bias, scale, shift, *, box_embed=None, impl: str = "auto"):
    """`relu(asym_conv(x, z, theta_x, theta_z, bias, box_embed=box_embed) * scale + shift)`, scale, shift [P]:
    the ACM fusion followed by an inference BatchNorm folded to an affine, then ReLU -> [B, Ho, Wo, P] (dtype
    of all inputs, scale and shift included, as flax's BatchNorm). With `impl="pallas"` the broadcast add,
    affine and ReLU are one Pallas kernel (`kernels.acm_epilogue`) after XLA's search conv."""
    return _asym("asym_conv_bn_relu", x, z, theta_x, theta_z, bias, box_embed, impl, (scale, shift), relu=True)


def _asym(op, x, z, theta_x, theta_z, bias, box_embed, impl, affine=(), relu=False):
    """Validates, computes the template term t [B, P] (conv(z, theta_z) + bias + box_embed, in the
    accumulation dtype) and hands (x, theta_x, t, scale, shift, relu) to the implementation."""
    check_pair(op, x, z)
    b, c = x.shape[0], x.shape[3]
    p = check_theta(op, "theta_x", theta_x, z, c)
    check_theta(op, "theta_z", theta_z, z, c, p=p)
    check_vector(op, "bias", bias, (p,))
    check_vector(op, "box_embed", box_embed, (b, p))
    for name, v in zip(("scale", "shift"), affine, strict=False):
        check_vector(op, name, v, (p,))
    key = {"b": b, "hz": z.shape[1], "hx": x.shape[1], "c": c, "k": p, "dtype": str(x.dtype)}
    acc = acc_dtype(x, z, theta_x, theta_z)
    template = jnp.einsum("buvc,uvcp->bp", z, theta_z.astype(z.dtype), preferred_element_type=acc)
    if bias is not None:
        template = template + bias.astype(acc)
    if box_embed is not None:
        template = template + box_embed.astype(acc)
    scale, shift = affine or (None, None)
    y = resolve("asym_conv", impl, key)(x, theta_x, template, scale, shift, relu)  # [B, Ho, Wo, P]
    return y.astype(jnp.result_type(x, z, theta_x, theta_z, *affine))


def asym_search(x, theta_x, t, scale=None, shift=None, *, impl: str = "auto"):
    """ACM's per-frame step, the template term precomputed once per video: `conv(x, theta_x) + t`, then
    `relu(. * scale + shift)` when `scale` and `shift` [P] are given -> [B, Ho, Wo, P] (the inputs' dtype).
    x [B, Hx, Wx, C], theta_x [Hz, Wz, C, P], t [B, P] (`conv(z, theta_z) + bias + box_embed`: `asym_conv`'s
    template side). Same implementations as `asym_conv`."""
    op = "asym_search"
    if theta_x.ndim != 4:
        raise ValueError(f"{op}: theta_x must be [Hz, Wz, C, P], got shape {tuple(theta_x.shape)}")
    hz, wz, c, p = theta_x.shape
    if x.ndim != 4 or x.shape[3] != c or x.shape[1] < hz or x.shape[2] < wz:
        raise ValueError(f"{op}: x must be [B, Hx >= {hz}, Wx >= {wz}, {c}] for theta_x.shape="
                         f"{tuple(theta_x.shape)}, got x.shape={tuple(x.shape)}")
    check_vector(op, "t", t, (x.shape[0], p))
    affine = () if scale is None and shift is None else (scale, shift)
    for name, v in zip(("scale", "shift"), affine, strict=False):
        if v is None:
            raise ValueError(f"{op}: give both scale and shift [P] or neither, got {name}=None")
        check_vector(op, name, v, (p,))
    key = {"b": x.shape[0], "hz": hz, "hx": x.shape[1], "c": c, "k": p, "dtype": str(x.dtype)}
    y = resolve("asym_conv", impl, key)(x, theta_x, t, scale, shift, bool(affine))
    return y.astype(jnp.result_type(x, theta_x, *affine))


# ----------------------------------------------------------------------------------------------------
# Implementations: fn(x, theta_x, t, scale, shift, relu) -> [B, Ho, Wo, P] (accumulation dtype), with
# t [B, P] the template term and scale, shift [P] or None. The XLA forms below differ only in the search
# term conv(x, theta_x) ([B, Hx, Wx, C], [Hz, Wz, C, P] -> [B, Ho, Wo, P]); XLA fuses the epilogue as it
# can. impl="pallas" (`pallas_impls`) runs the epilogue as one Pallas kernel.


def _epilogue_xla(s, t, scale, shift, relu: bool):
    """`s + t[:, None, None]`, then `* scale + shift` (if given), then ReLU (if `relu`), in jnp."""
    y = s + t[:, None, None, :]
    if scale is not None:
        y = y * scale + shift
    return jax.nn.relu(y) if relu else y


def _register_search(name: str):
    """Registers a search-term form `fn(x, theta_x)` as asym_conv impl `name`, with the jnp epilogue."""

    def deco(fn):
        register("asym_conv", name)(
            lambda x, theta, t, scale, shift, relu: _epilogue_xla(fn(x, theta), t, scale, shift, relu))
        return fn

    return deco


@_register_search("reference")
def _search_reference(x, theta):
    acc = acc_dtype(x, theta)
    win = forms.windows(x.astype(acc), theta.shape[0], theta.shape[1])  # [B, Ho, Wo, Hz, Wz, C]
    return jnp.einsum("bijuvc,uvcp->bijp", win, theta.astype(acc))


@_register_search("xla_conv")
def search_xla_conv(x, theta):
    """XLA's VALID convolution (also the search term of impl="pallas")."""
    return forms.conv_valid(x, theta.astype(x.dtype), acc_dtype(x, theta))


@_register_search("im2col")
def _search_im2col(x, theta):
    hz, wz, c, p = theta.shape
    return jnp.einsum("bijf,fp->bijp", forms.patches(x, hz, wz), theta.reshape(hz * wz * c, p).astype(x.dtype),
                      preferred_element_type=acc_dtype(x, theta))


@_register_search("shift")
def _search_shift(x, theta):
    acc = acc_dtype(x, theta)
    out = 0.0
    for u, v, xs in forms.shifted(x, theta.shape[0], theta.shape[1]):
        out = out + jnp.einsum("bijc,cp->bijp", xs, theta[u, v].astype(x.dtype), preferred_element_type=acc)
    return out


@_register_search("fft")
def _search_fft(x, theta):
    return forms.fft_correlate(x, theta, "bhwc,hwcp->bhwp", acc_dtype(x, theta))
