"""An LSTM cell in `flax.linen.LSTMCell`'s parameter layout with two options: a recurrent projection (the
SVD-compressed cell, `models.lstm_compress`) and the delta trick as an inference mode.

Parameters, as `nn.LSTMCell` (gates i, f, g, o; x [.., D] -> h [.., H]):
  i{i,f,g,o}/kernel [D, H]             input weights W_x (no bias)
  h{i,f,g,o}/kernel [R, H], bias [H]   recurrent weights W_h and the gates' bias; R = H, or `proj` = r
  proj/kernel [H, r]                   only with `proj`: the projection P, y_t = h_t P (Sak et al.'s LSTMP)
Step: z = x_t W_x + y_{t-1} W_h + b (gate blocks i, f, g, o); c_t = s(f) c + s(i) tanh(g); h_t = s(o) tanh(c_t);
y_t = h_t P (or h_t). The carry is (c, y) and the output y: with `proj` the cell feeds back and emits the r-dim
projection only, which is how a shared projection saves work in the recurrence and in the next layer alike.

Delta trick (Neil et al., "Delta Networks for Optimized Recurrent Network Computation", ICML 2017), with
`delta_threshold` = th set; the carry is `DeltaCarry`. Each input keeps a reference x^ (last value sent):
  d_t = x_t - x^_{t-1}, zeroed where |d_t| < th; x^_t = x_t where d_t was kept, else x^_{t-1};
  m_x,t = m_x,t-1 + d_t W_x         (so m_x,t = x^_t W_x: an error of at most th per input entry, no drift build-up)
and the same for y_{t-1} with m_h (which starts at the bias b). z = m_x + m_h. Only the kept (non-zero) delta
entries cost multiply-adds: 4H per entry, against 4H (D + R) per step for the dense cell. th = 0 keeps every
delta and is the dense cell exactly (up to float rounding of the running sums), values and gradients. The outputs
are then {"y": y_t, "nnz_x": [..], "nnz_y": [..]} (counts of non-zero deltas; `delta_macs` turns them into
multiply-adds).
"""

from __future__ import annotations

from typing import NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

GATES = ("i", "f", "g", "o")  # nn.LSTMCell's gate order and parameter names (i<gate> input, h<gate> recurrent)


class DeltaCarry(NamedTuple):
    """The delta mode's carry (leading batch dims ..): c, y [.., H / R]; references x_ref [.., D], y_ref [.., R];
    running products m_x, m_h [.., 4H] (m_h includes the bias)."""

    c: jax.Array
    y: jax.Array
    x_ref: jax.Array
    y_ref: jax.Array
    m_x: jax.Array
    m_h: jax.Array


class Linear(nn.Module):
    """`nn.Dense`'s parameters (kernel [in, out], optional bias [out]) with the input size known up front, so the
    cell can read its matrices outside `__call__`."""

    in_features: int
    features: int
    use_bias: bool
    kernel_init: nn.initializers.Initializer = nn.initializers.lecun_normal()

    def setup(self):
        self.kernel = self.param("kernel", self.kernel_init, (self.in_features, self.features))
        if self.use_bias:
            self.bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))

    def __call__(self, x):
        return x @ self.kernel + self.bias if self.use_bias else x @ self.kernel


class LSTMCell(nn.RNNCellBase):
    """LSTM cell (module docstring): `features` H, `in_features` D, `proj` r (0: none), `delta_threshold` th
    (None: the dense cell; >= 0: the delta trick)."""

    features: int
    in_features: int
    proj: int = 0
    delta_threshold: float | None = None

    def setup(self):
        if self.proj < 0 or self.proj > self.features:
            raise ValueError(f"LSTMCell.proj must be in [0, features={self.features}], got {self.proj}")
        if self.delta_threshold is not None and not self.delta_threshold >= 0:
            raise ValueError(f"LSTMCell.delta_threshold must be None or >= 0, got {self.delta_threshold}")
        r = self.proj or self.features
        self.wx = {g: Linear(self.in_features, self.features, False, name=f"i{g}") for g in GATES}
        self.wh = {g: Linear(r, self.features, True, nn.initializers.orthogonal(), name=f"h{g}") for g in GATES}
        if self.proj:
            self.wp = Linear(self.features, self.proj, False, name="proj")

    def matrices(self) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(W_x [D, 4H], W_h [R, 4H], b [4H]), gate blocks in order i, f, g, o."""
        cat = lambda xs: jnp.concatenate(xs, -1)
        return (cat([self.wx[g].kernel for g in GATES]), cat([self.wh[g].kernel for g in GATES]),
                cat([self.wh[g].bias for g in GATES]))

    def project(self, h: jax.Array) -> jax.Array:
        """h [.., H] -> y [.., R]: h P with `proj`, else h."""
        return self.wp(h) if self.proj else h

    def carry(self, c0: jax.Array, h0: jax.Array) -> tuple | DeltaCarry:
        """The initial carry from a state (c0, h0) [.., H]: (c0, y0) with y0 = project(h0), or in delta mode a
        `DeltaCarry` with zero references (the first step's deltas are the whole input and y0) and m_h = b."""
        y0 = self.project(h0)
        if self.delta_threshold is None:
            return c0, y0
        b = self.matrices()[2]
        batch = c0.shape[:-1]
        return DeltaCarry(c0, y0, jnp.zeros((*batch, self.in_features), c0.dtype), jnp.zeros_like(y0),
                          jnp.zeros((*batch, 4 * self.features), c0.dtype), jnp.broadcast_to(b, (*batch, b.size)))

    def _gates(self, c, z):
        i, f, g, o = jnp.split(z, 4, axis=-1)
        c = nn.sigmoid(f) * c + nn.sigmoid(i) * jnp.tanh(g)
        return c, self.project(nn.sigmoid(o) * jnp.tanh(c))

    def __call__(self, carry, x):
        wx, wh, b = self.matrices()
        if self.delta_threshold is None:
            c, y = carry
            c, y = self._gates(c, x @ wx + y @ wh + b)
            return (c, y), y
        th = self.delta_threshold
        dx, x_ref = _delta(x, carry.x_ref, th)
        dy, y_ref = _delta(carry.y, carry.y_ref, th)
        m_x, m_h = carry.m_x + dx @ wx, carry.m_h + dy @ wh
        c, y = self._gates(carry.c, m_x + m_h)
        nnz = lambda d: (d != 0).sum(-1).astype(jnp.int32)
        return DeltaCarry(c, y, x_ref, y_ref, m_x, m_h), {"y": y, "nnz_x": nnz(dx), "nnz_y": nnz(dy)}

    def initialize_carry(self, rng, input_shape):
        zeros = jnp.zeros((*input_shape[:-1], self.features))
        return self.carry(zeros, zeros)

    @property
    def num_feature_axes(self) -> int:
        return 1


def _delta(v: jax.Array, ref: jax.Array, th: float) -> tuple[jax.Array, jax.Array]:
    """(delta sent, new reference): entries with |v - ref| >= th are sent (th = 0: all) and become the reference."""
    d = v - ref
    keep = jnp.abs(d) >= th
    return jnp.where(keep, d, 0.0), jnp.where(keep, v, ref)


def dense_macs(in_features: int, features: int, proj: int = 0) -> int:
    """Multiply-adds of one dense step: 4H (D + R) for the gates, plus H r for the projection."""
    return 4 * features * (in_features + (proj or features)) + features * proj


def delta_macs(nnz_x, nnz_y, features: int, proj: int = 0):
    """Multiply-adds of delta steps with `nnz_x` / `nnz_y` non-zero deltas (arrays or ints): 4H per entry, plus
    H r for the projection."""
    return 4 * features * (nnz_x + nnz_y) + features * proj
