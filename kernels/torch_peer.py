"""pysot's PyTorch formulations (NCHW, grouped conv), for the `--vs_torch` benchmark column.

Only imported when torch is installed (it is never a dependency: `pip install torch==2.13.0`).
"""

from __future__ import annotations

import numpy as np


def torch_ops():
    """name -> (fn(*tensors), to_torch(*numpy NHWC arrays) -> tensors); None if torch is missing."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None

    def nchw(a):
        return torch.from_numpy(np.ascontiguousarray(np.asarray(a, np.float32).transpose(0, 3, 1, 2)))

    def oihw(theta):  # [Hz, Wz, C, P] -> [P, C, Hz, Wz]
        return torch.from_numpy(np.ascontiguousarray(np.asarray(theta, np.float32).transpose(3, 2, 0, 1)))

    def xcorr(x, z):  # pysot/core/xcorr.py: xcorr_fast (also UP-XCorr: z has K*C channels)
        b = z.shape[0]
        out = F.conv2d(x.reshape(1, -1, *x.shape[2:]), z.reshape(-1, x.shape[1], *z.shape[2:]), groups=b)
        return out.reshape(b, -1, *out.shape[2:])

    def dw_xcorr(x, z):  # pysot/core/xcorr.py: xcorr_depthwise
        b, c = z.shape[:2]
        out = F.conv2d(x.reshape(1, b * c, *x.shape[2:]), z.reshape(b * c, 1, *z.shape[2:]), groups=b * c)
        return out.reshape(b, c, *out.shape[2:])

    def asym_conv(x, z, theta_x, theta_z, bias):  # SiamBAN-ACM: xorr_search(x) + xorr_kernel(z)
        return F.conv2d(x, theta_x) + F.conv2d(z, theta_z, bias)

    def corr_inputs(x, z):
        return nchw(x), nchw(z)

    def asym_inputs(x, z, theta_x, theta_z, bias):
        return nchw(x), nchw(z), oihw(theta_x), oihw(theta_z), torch.from_numpy(np.asarray(bias, np.float32))

    return {
        "xcorr": (xcorr, corr_inputs), "up_xcorr": (xcorr, corr_inputs), "dw_xcorr": (dw_xcorr, corr_inputs),
        "asym_conv": (asym_conv, asym_inputs), "_torch": torch,
    }
