"""Building blocks shared by the correlation and fusion implementations.

Every correlation here is the deep-learning "convolution" (cross-correlation, no kernel flip), VALID:
`y[b, i, j] = sum_{u, v} x[b, i+u, j+v] * k[u, v]` for `0 <= i < Hx-Hz+1`, `0 <= j < Wx-Wz+1`.
"""

from __future__ import annotations

import jax.numpy as jnp
from jax import lax


def windows(x, hz: int, wz: int):
    """Every output window: [B, Hx, Wx, C] -> [B, Ho, Wo, Hz, Wz, C] with `w[b, i, j, u, v] = x[b, i+u, j+v]`."""
    ho, wo = x.shape[1] - hz + 1, x.shape[2] - wz + 1
    rows = jnp.arange(ho)[:, None, None, None] + jnp.arange(hz)[None, None, :, None]  # i + u, [Ho, 1, Hz, 1]
    cols = jnp.arange(wo)[None, :, None, None] + jnp.arange(wz)[None, None, None, :]  # j + v, [1, Wo, 1, Wz]
    return jnp.asarray(x)[:, rows, cols, :]


def shifted(x, hz: int, wz: int):
    """Yields (u, v, x[:, u:u+Ho, v:v+Wo, :]) for each kernel tap (u, v): the shift-and-accumulate form."""
    ho, wo = x.shape[1] - hz + 1, x.shape[2] - wz + 1
    for u in range(hz):
        for v in range(wz):
            yield u, v, x[:, u:u + ho, v:v + wo, :]


def patches(x, hz: int, wz: int):
    """im2col: [B, Hx, Wx, C] -> [B, Ho, Wo, Hz*Wz*C], features ordered (u, v, c) like a flattened HWC kernel."""
    return jnp.concatenate([s for _, _, s in shifted(x, hz, wz)], axis=-1)


def fft_correlate(x, k, spec: str, acc):
    """VALID correlation through the FFT: circular correlation at size (Hx, Wx) has no wrap-around on the
    valid region, so `irfft2(X * conj(K))[:Ho, :Wo]` is exact up to rounding.

    x: [B, Hx, Wx, C]; k: kernel whose spatial axes are named `h`, `w` in `spec` (an einsum spec
    `"<x>,<k>-><out>"` over the frequency-domain arrays, e.g. "bhwc,bhwc->bhwc" for depth-wise).
    """
    hx, wx = x.shape[1], x.shape[2]
    k_spec = spec.split(",")[1].split("->")[0]
    k_axes = (k_spec.index("h"), k_spec.index("w"))
    ho, wo = hx - k.shape[k_axes[0]] + 1, wx - k.shape[k_axes[1]] + 1
    xf = jnp.fft.rfft2(x.astype(acc), axes=(1, 2))
    kf = jnp.fft.rfft2(k.astype(acc), s=(hx, wx), axes=k_axes)
    y = jnp.fft.irfft2(jnp.einsum(spec, xf, jnp.conj(kf)), s=(hx, wx), axes=(1, 2))
    return y[:, :ho, :wo]


def conv_valid(x, kernel, acc, *, groups: int = 1):
    """lax VALID convolution, NHWC input, HWIO kernel, accumulating in `acc`."""
    return lax.conv_general_dilated(
        x, kernel, window_strides=(1, 1), padding="VALID", dimension_numbers=("NHWC", "HWIO", "NHWC"),
        feature_group_count=groups, preferred_element_type=acc)


def fold_batch_into_channels(x):
    """[B, H, W, C] -> [1, H, W, B*C] (channel index b*C + c): pysot's batch-as-groups trick."""
    b, h, w, c = x.shape
    return jnp.transpose(x, (1, 2, 0, 3)).reshape(1, h, w, b * c)


def unfold_channels_into_batch(y, b: int):
    """[1, H, W, B*K] -> [B, H, W, K], the inverse of `fold_batch_into_channels`."""
    _, h, w, bk = y.shape
    return jnp.transpose(y.reshape(h, w, b, bk // b), (2, 0, 1, 3))
