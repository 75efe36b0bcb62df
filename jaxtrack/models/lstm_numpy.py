"""One LSTM direction as a numpy loop over time, dense or with the delta trick in sparse form: each step multiplies
only the weight rows of the non-zero deltas (`W[idx].T @ d[idx]`). It is how the delta trick saves time on a CPU,
if it does (BENCHMARKS.md measures it); `lstm_cells.LSTMCell` is the JAX cell it computes.

    y, nnz = run(cell_params, x, c0, h0, threshold=0.1)    # x [T, D]; y [T, R]; nnz [T, 2] (input, recurrent)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from jaxtrack.models.lstm_cells import GATES


def matrices(cell: Mapping) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(W_x [D, 4H], W_h [R, 4H], b [4H], P [H, r] or None) of a cell's parameters (`lstm_cells` layout)."""
    cat = lambda key, name: np.concatenate([np.asarray(cell[f"{key}{g}"][name]) for g in GATES], -1)
    return cat("i", "kernel"), cat("h", "kernel"), cat("h", "bias"), (
        np.asarray(cell["proj"]["kernel"]) if "proj" in cell else None)


def _sigmoid(v):
    return 0.5 * (np.tanh(0.5 * v) + 1.0)


def run(cell: Mapping, x: np.ndarray, c0: np.ndarray, h0: np.ndarray, threshold: float | None = None,
        sparse: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Outputs y [T, R] and non-zero delta counts [T, 2] of one direction over x [T, D] from (c0, h0) [H].
    `threshold` None: the dense cell (counts D, R); else the delta trick (`lstm_cells`), skipping zero deltas
    when `sparse` (else multiplying the whole masked delta)."""
    wx, wh, b, wp = matrices(cell)
    hidden = b.size // 4
    c = np.asarray(c0, np.float32)
    y = np.asarray(h0, np.float32) if wp is None else np.asarray(h0, np.float32) @ wp
    ys, nnz = np.empty((len(x), y.size), np.float32), np.empty((len(x), 2), np.int64)
    x_ref, y_ref = np.zeros(x.shape[1], np.float32), np.zeros_like(y)
    m_x, m_h = np.zeros(4 * hidden, np.float32), b.astype(np.float32)
    for t, xt in enumerate(np.asarray(x, np.float32)):
        if threshold is None:
            z = xt @ wx + y @ wh + b
            nnz[t] = xt.size, y.size
        else:
            for v, ref, w, m, k in ((xt, x_ref, wx, m_x, 0), (y, y_ref, wh, m_h, 1)):
                idx = np.flatnonzero(np.abs(v - ref) >= threshold)
                d = v[idx] - ref[idx]
                idx, d = idx[d != 0], d[d != 0]
                if sparse:
                    m += d @ w[idx]
                else:
                    full = np.zeros_like(v)
                    full[idx] = d
                    m += full @ w
                ref[idx] = v[idx]
                nnz[t, k] = idx.size
            z = m_x + m_h
        i, f, g, o = np.split(z, 4)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        y = h if wp is None else h @ wp
        ys[t] = y
    return ys, nnz
