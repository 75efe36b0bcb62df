"""Input validation shared by every operator: clear `ValueError`s naming the argument and both shapes.

`acc_dtype` (float32 accumulation, float64 for float64 inputs) is defined once, in `kernels.common`, and
re-exported here: the Pallas kernels follow the same rule and may not import jaxtrack.
"""

from __future__ import annotations

import jax.numpy as jnp

from kernels.common import acc_dtype as acc_dtype


def _rank4(op: str, name: str, a, layout: str) -> None:
    if a.ndim != 4:
        raise ValueError(f"{op}: {name} must be rank 4 {layout}, got shape {tuple(a.shape)} (rank {a.ndim})")
    if not jnp.issubdtype(a.dtype, jnp.floating):
        raise ValueError(f"{op}: {name} must be a floating dtype, got {a.dtype}")


def check_pair(op: str, x, z, *, z_channels: str = "same") -> tuple[int, int]:
    """Validates search `x` [B, Hx, Wx, C] against template `z` [B, Hz, Wz, C'].

    `z_channels`: "same" (C' == C) or "multiple" (C' == K*C). Returns (Ho, Wo).
    """
    _rank4(op, "x", x, "[B, Hx, Wx, C]")
    _rank4(op, "z", z, "[B, Hz, Wz, C]")
    shapes = f"x.shape={tuple(x.shape)}, z.shape={tuple(z.shape)}"
    if x.shape[0] != z.shape[0]:
        raise ValueError(f"{op}: x and z must have the same batch size B; {shapes}")
    if z.shape[1] > x.shape[1] or z.shape[2] > x.shape[2]:
        raise ValueError(f"{op}: template z (Hz, Wz) must not be larger than search x (Hx, Wx); {shapes}")
    c, cz = x.shape[3], z.shape[3]
    if z_channels == "same" and cz != c:
        raise ValueError(f"{op}: x and z must have the same channel count C; {shapes}")
    if z_channels == "multiple" and (cz == 0 or cz % c):
        raise ValueError(f"{op}: z channels must be a multiple K*C of x's C={c}; {shapes}")
    return x.shape[1] - z.shape[1] + 1, x.shape[2] - z.shape[2] + 1


def check_theta(op: str, name: str, theta, z, channels: int, *, p: int | None = None) -> int:
    """Validates an ACM kernel `theta` [Hz, Wz, channels, P] against template z; returns P."""
    want = f"[{z.shape[1]}, {z.shape[2]}, {channels}, P]"
    if theta.ndim != 4 or tuple(theta.shape[:3]) != (z.shape[1], z.shape[2], channels):
        raise ValueError(
            f"{op}: {name} must have shape {want} (template size x channels x P), "
            f"got {name}.shape={tuple(theta.shape)} with z.shape={tuple(z.shape)}")
    if p is not None and theta.shape[3] != p:
        raise ValueError(f"{op}: {name} must have P={p} output channels, got {name}.shape={tuple(theta.shape)}")
    return theta.shape[3]


def check_vector(op: str, name: str, v, shape: tuple[int, ...]) -> None:
    """Validates an optional additive term (bias [P] or box embedding [B, P])."""
    if v is not None and tuple(v.shape) != shape:
        raise ValueError(f"{op}: {name} must have shape {list(shape)}, got {name}.shape={tuple(v.shape)}")


def check_rois(op: str, features, boxes) -> None:
    """Validates RoI Align's `features` [B, H, W, C] (H, W >= 1) against `boxes` [B, N, 4] (x1, y1, x2, y2)."""
    _rank4(op, "features", features, "[B, H, W, C]")
    shapes = f"features.shape={tuple(features.shape)}, boxes.shape={tuple(boxes.shape)}"
    if features.shape[1] < 1 or features.shape[2] < 1:
        raise ValueError(f"{op}: features must have H, W >= 1; {shapes}")
    if boxes.ndim != 3 or boxes.shape[2] != 4:
        raise ValueError(f"{op}: boxes must have shape [B, N, 4] (x1, y1, x2, y2); {shapes}")
    if boxes.shape[0] != features.shape[0]:
        raise ValueError(f"{op}: features and boxes must have the same batch size B; {shapes}")
    if not jnp.issubdtype(boxes.dtype, jnp.floating):
        raise ValueError(f"{op}: boxes must be a floating dtype, got {boxes.dtype}")


def check_pool_size(op: str, out_size) -> tuple[int, int]:
    """`out_size`: an int or a pair of ints, each >= 1; returns (Ho, Wo)."""
    pair = (out_size, out_size) if isinstance(out_size, int) else tuple(out_size) if isinstance(
        out_size, (tuple, list)) else ()
    if len(pair) != 2 or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 1 for s in pair):
        raise ValueError(f"{op}: out_size must be an int >= 1 or a pair (Ho, Wo) of them, got {out_size!r}")
    return pair
