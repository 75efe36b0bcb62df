"""Kernel temporal segmentation (KTS, Potapov et al. ECCV 2014), the shot detector of the summarization papers.

For a kernel (Gram) matrix K [n, n] of per-frame features, a segment [a, b] costs its within-segment scatter
`sum_t K[t, t] - sum_{s,t} K[s, t] / (b - a + 1)`. `segment` finds the m change points of minimal total cost by
dynamic programming over prefix sums (O(m n^2)); `segment_auto` picks m by the standard penalty
`cost/n + vmax * m/(2n) * (log(n/m) + 1)`, as in the KTS release and DSNet's `cpd_auto`.
"""

from __future__ import annotations

import numpy as np


def scatter_matrix(kernel) -> np.ndarray:
    """[n, n] -> J [n, n] with J[a, b] = scatter of frames a..b (inclusive) for a <= b, 0 below the diagonal."""
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"kernel must be a square [n, n] Gram matrix, got shape {k.shape}")
    n = len(k)
    diag = np.concatenate([[0.0], np.cumsum(np.diag(k))])  # diag[b+1] - diag[a] = sum_{t=a..b} K[t, t]
    box = np.zeros((n + 1, n + 1))
    box[1:, 1:] = k.cumsum(0).cumsum(1)  # box[i, j] = sum_{s<i, t<j} K[s, t]
    a, b = np.arange(n)[:, None], np.arange(n)[None, :]
    block = box[b + 1, b + 1] - box[a, b + 1] - box[b + 1, a] + box[a, a]  # sum over [a..b] x [a..b]
    with np.errstate(divide="ignore", invalid="ignore"):
        j = diag[b + 1] - diag[a] - block / (b - a + 1)
    return np.where(b >= a, j, 0.0)


def segment(kernel, n_change_points: int, *, min_len: int = 1) -> tuple[np.ndarray, float]:
    """(change points [m] ascending: the first frame of each new segment, total scatter) for m change points."""
    scatter = scatter_matrix(kernel)
    n, m = len(scatter), int(n_change_points)
    if not 0 <= m <= n // min_len - 1:
        raise ValueError(f"n_change_points must be in [0, {n // min_len - 1}] for n={n}, min_len={min_len}; got {m}")
    cost, back = _program(scatter, m, min_len)
    cps, end = [], n
    for k in range(m, 0, -1):
        end = int(back[k, end])
        cps.append(end)
    return np.array(cps[::-1], np.int64), float(cost[m, n])


def _program(scatter, m: int, min_len: int):
    """cost[k, l]: best scatter of frames 0..l-1 split in k+1 segments; back[k, l]: start of the last segment."""
    n = len(scatter)
    cost = np.full((m + 1, n + 1), np.inf)
    back = np.zeros((m + 1, n + 1), np.int64)
    ends = np.arange(min_len, n + 1)
    cost[0, ends] = scatter[0, ends - 1]
    start, stop = np.arange(n + 1)[:, None], np.arange(n + 1)[None, :]
    allowed = (stop - start >= min_len) & (stop >= 1) & (start >= min_len)
    # seg[t, l]: scatter of frames t..l-1 as the last segment
    seg = np.where(allowed, scatter[np.minimum(start, n - 1), np.maximum(stop - 1, 0)], np.inf)
    for k in range(1, m + 1):
        total = cost[k - 1][:, None] + seg
        back[k] = np.argmin(total, axis=0)
        cost[k] = total[back[k], np.arange(n + 1)]
    return cost, back


def segment_auto(kernel, max_change_points: int, vmax: float = 1.0, *, min_len: int = 1) -> np.ndarray:
    """Change points [m*] with m* = argmin_m cost_m/n + vmax * m/(2n) * (log(n/m) + 1), m <= max_change_points."""
    scatter = scatter_matrix(kernel)
    n = len(scatter)
    m_max = min(int(max_change_points), n // min_len - 1)
    cost, _ = _program(scatter, m_max, min_len)
    ms = np.arange(m_max + 1)
    penalty = np.zeros(m_max + 1)
    penalty[1:] = vmax * ms[1:] / (2.0 * n) * (np.log(n / ms[1:]) + 1)
    best = int(np.argmin(cost[:, n] / n + penalty))
    return segment(kernel, best, min_len=min_len)[0]


def shots_from_change_points(change_points, n_frames: int) -> np.ndarray:
    """Change points (first frames of new segments) -> [S, 2] inclusive shot ranges covering [0, n_frames)."""
    starts = np.concatenate([[0], np.asarray(change_points, np.int64)])
    ends = np.concatenate([starts[1:] - 1, [n_frames - 1]])
    return np.stack([starts, ends], 1)
