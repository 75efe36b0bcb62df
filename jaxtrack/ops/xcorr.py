"""Siamese correlation operators: XCorr (SiamFC), UP-XCorr (SiamRPN), DW-Corr (SiamRPN++).

Shapes: x `[B, Hx, Wx, C]` (search), z `[B, Hz, Wz, C]` (template, per-example kernel),
`Ho = Hx-Hz+1`, `Wo = Wx-Wz+1`. Inputs of any float dtype; accumulation in float32 (float64 for
float64 inputs); the result has the inputs' dtype. Implementations (`impl=`):

- "reference": an explicit loop over output windows, then a plain sum (obviously right, slow).
- "xla_conv": pysot's trick, the batch folded into channels and one grouped convolution.
- "shift": shift-and-accumulate over the Hz*Wz kernel taps (XLA fuses it into one loop).
- "im2col": (xcorr, up_xcorr) window patches and one batched matmul.
- "fft": correlation theorem at size (Hx, Wx); the channel sum happens in frequency space.
- "pallas": (xcorr, dw_xcorr) the Pallas kernels in `kernels/` (GPU/TPU; interpret mode on CPU).
- "auto": the fastest measured form for the backend and shape (see `registry`).
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax

from jaxtrack.ops import forms
from jaxtrack.ops.checks import acc_dtype, check_pair
from jaxtrack.ops.registry import register, resolve


def _shape_key(x, z, k: int) -> dict:
    return {"b": x.shape[0], "hz": z.shape[1], "hx": x.shape[1], "c": x.shape[3], "k": k, "dtype": str(x.dtype)}


def xcorr(x, z, *, impl: str = "auto"):
    """SiamFC cross-correlation summed over channels: `[B, Hx, Wx, C], [B, Hz, Wz, C] -> [B, Ho, Wo, 1]`."""
    check_pair("xcorr", x, z)
    return resolve("xcorr", impl, _shape_key(x, z, 1))(x, z).astype(jnp.result_type(x, z))


def up_xcorr(x, z, *, impl: str = "auto"):
    """SiamRPN up-channel correlation: `[B, Hx, Wx, C], [B, Hz, Wz, K*C] -> [B, Ho, Wo, K]`.

    Kernel k is z's channels `k*C:(k+1)*C` (pysot's `xcorr_fast` layout).
    """
    check_pair("up_xcorr", x, z, z_channels="multiple")
    k = z.shape[3] // x.shape[3]
    return resolve("up_xcorr", impl, _shape_key(x, z, k))(x, z).astype(jnp.result_type(x, z))


def dw_xcorr(x, z, *, impl: str = "auto"):
    """SiamRPN++ depth-wise correlation: `[B, Hx, Wx, C], [B, Hz, Wz, C] -> [B, Ho, Wo, C]`."""
    check_pair("dw_xcorr", x, z)
    return resolve("dw_xcorr", impl, _shape_key(x, z, 1))(x, z).astype(jnp.result_type(x, z))


# ----------------------------------------------------------------------------------------------------
# Full (multi-output) correlation with a per-example kernel w [B, Hz, Wz, K, C]: xcorr is K = 1.


def _kernels(x, z):
    """z [B, Hz, Wz, K*C] -> [B, Hz, Wz, K, C] (kernel k = channels k*C:(k+1)*C)."""
    b, hz, wz, kc = z.shape
    return z.reshape(b, hz, wz, kc // x.shape[3], x.shape[3])


def _full_reference(x, w):
    acc = acc_dtype(x, w)
    win = forms.windows(x.astype(acc), w.shape[1], w.shape[2])  # [B, Ho, Wo, Hz, Wz, C]
    return jnp.einsum("bijuvc,buvkc->bijk", win, w.astype(acc))


def _full_xla_conv(x, w):
    b, hz, wz, k, c = w.shape
    kernel = jnp.transpose(w, (1, 2, 4, 0, 3)).reshape(hz, wz, c, b * k)  # HWIO, O index = b*K + k
    y = forms.conv_valid(forms.fold_batch_into_channels(x), kernel.astype(x.dtype), acc_dtype(x, w), groups=b)
    return forms.unfold_channels_into_batch(y, b)


def _full_im2col(x, w):
    b, hz, wz, k, c = w.shape
    cols = forms.patches(x, hz, wz)  # [B, Ho, Wo, Hz*Wz*C], (u, v, c) order
    wk = jnp.transpose(w, (0, 1, 2, 4, 3)).reshape(b, hz * wz * c, k)
    return jnp.einsum("bijf,bfk->bijk", cols, wk.astype(x.dtype), preferred_element_type=acc_dtype(x, w))


def _full_shift(x, w):
    acc = acc_dtype(x, w)
    out = 0.0
    for u, v, xs in forms.shifted(x, w.shape[1], w.shape[2]):
        out = out + jnp.einsum("bijc,bkc->bijk", xs, w[:, u, v].astype(x.dtype), preferred_element_type=acc)
    return out


def _full_fft(x, w):
    return forms.fft_correlate(x, w, "bhwc,bhwkc->bhwk", acc_dtype(x, w))


for _name, _fn in [("reference", _full_reference), ("xla_conv", _full_xla_conv),
                   ("im2col", _full_im2col), ("fft", _full_fft)]:
    register("up_xcorr", _name)(lambda x, z, f=_fn: f(x, _kernels(x, z)))
    register("xcorr", _name)(lambda x, z, f=_fn: f(x, z[:, :, :, None, :]))
register("up_xcorr", "shift")(lambda x, z: _full_shift(x, _kernels(x, z)))


# ----------------------------------------------------------------------------------------------------
# Depth-wise correlation.


@register("dw_xcorr", "reference")
def _dw_reference(x, z):
    acc = acc_dtype(x, z)
    win = forms.windows(x.astype(acc), z.shape[1], z.shape[2])  # [B, Ho, Wo, Hz, Wz, C]
    return jnp.einsum("bijuvc,buvc->bijc", win, z.astype(acc))


@register("dw_xcorr", "xla_conv")
def _dw_xla_conv(x, z):
    b, hz, wz, c = z.shape
    kernel = jnp.transpose(z, (1, 2, 0, 3)).reshape(hz, wz, 1, b * c)  # HWIO, O index = b*C + c
    y = forms.conv_valid(forms.fold_batch_into_channels(x), kernel.astype(x.dtype), acc_dtype(x, z),
                         groups=b * c)
    return forms.unfold_channels_into_batch(y, b)


@register("dw_xcorr", "shift")
def _dw_shift(x, z):
    acc = acc_dtype(x, z)
    xa, za = x.astype(acc), z.astype(acc)
    out = 0.0
    for u, v, xs in forms.shifted(xa, z.shape[1], z.shape[2]):
        out = out + xs * za[:, u:u + 1, v:v + 1, :]
    return out


@register("dw_xcorr", "fft")
def _dw_fft(x, z):
    return forms.fft_correlate(x, z, "bhwc,bhwc->bhwc", acc_dtype(x, z))


@register("xcorr", "shift")
def _xcorr_shift(x, z):
    """Depth-wise shift-and-accumulate, then the channel sum (xcorr = dw_xcorr summed over C) as a matvec
    with ones: XLA:CPU's last-axis reduce fused into the shift loop is 7-15x slower (BENCHMARKS.md)."""
    dw = _dw_shift(x, z)
    ones = jnp.ones((dw.shape[-1], 1), dw.dtype)
    return jnp.einsum("bijc,ck->bijk", dw, ones, precision=lax.Precision.HIGHEST)
