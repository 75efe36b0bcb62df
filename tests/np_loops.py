"""Independent numpy loop references for the operator tests (float64, one output element at a time)."""

import numpy as np


def dw_xcorr(x, z):
    b, hx, wx, c = x.shape
    _, hz, wz, _ = z.shape
    out = np.zeros((b, hx - hz + 1, wx - wz + 1, c))
    for n in range(b):
        for i in range(hx - hz + 1):
            for j in range(wx - wz + 1):
                for ch in range(c):
                    out[n, i, j, ch] = np.sum(x[n, i:i + hz, j:j + wz, ch] * z[n, :, :, ch])
    return out


def xcorr(x, z):
    return dw_xcorr(x, z).sum(-1, keepdims=True)


def up_xcorr(x, z):
    c = x.shape[3]
    k = z.shape[3] // c
    return np.concatenate([xcorr(x, z[..., g * c:(g + 1) * c]) for g in range(k)], axis=-1)


def conv_valid(x, theta):
    """x [B, Hx, Wx, C], theta [Hz, Wz, C, P] -> [B, Ho, Wo, P]."""
    b, hx, wx, _ = x.shape
    hz, wz, _, p = theta.shape
    out = np.zeros((b, hx - hz + 1, wx - wz + 1, p))
    for n in range(b):
        for i in range(hx - hz + 1):
            for j in range(wx - wz + 1):
                out[n, i, j] = np.einsum("uvc,uvcp->p", x[n, i:i + hz, j:j + wz], theta)
    return out


def concat_conv(x, z, theta, bias=None):
    """For each window x_i: sum over (u, v, channel) of concat([z, x_i]) * theta."""
    b, hx, wx, _ = x.shape
    hz, wz = z.shape[1:3]
    out = np.zeros((b, hx - hz + 1, wx - wz + 1, theta.shape[3]))
    for n in range(b):
        for i in range(hx - hz + 1):
            for j in range(wx - wz + 1):
                cat = np.concatenate([z[n], x[n, i:i + hz, j:j + wz]], axis=-1)
                out[n, i, j] = np.einsum("uvc,uvcp->p", cat, theta)
    return out if bias is None else out + bias
