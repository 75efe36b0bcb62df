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
