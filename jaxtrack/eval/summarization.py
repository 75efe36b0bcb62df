"""Video-summarization evaluation: keyshot summaries by 0/1 knapsack, F-score, rank correlation, and greedy DPP
MAP selection (dppLSTM's inference, on `jaxtrack.train.dpp.kernel_matrix`).

The definitions follow the canonical code:
- `f_score`: KaiyangZhou/pytorch-vsumm-reinforce `vsum_tools.evaluate_summary`.
- `keyshot_summary`: its `generate_summary`, with an exact knapsack.
- `rank_correlation`: mayu-ot/rethinking-evs (Otani et al., CVPR 2019).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

F_MODES = ("max", "avg")  # SumMe: best-matching user; TVSum: mean over users


def f_score(machine_summary, user_summary, mode: str) -> tuple[float, float, float]:
    """(F, precision, recall) of a 0/1 frame summary `[N]` against users' summaries `[U, N']`.

    Both are binarised (> 0). The machine summary is cut or zero-padded to N' frames. `mode="max"` takes the
    best user (SumMe) and `"avg"` the mean over users (TVSum). A user with no overlap scores F = 0.
    """
    if mode not in F_MODES:
        raise ValueError(f"f_score: mode must be one of {F_MODES}, got {mode!r}")
    users = (np.asarray(user_summary) > 0).astype(np.float64)
    if users.ndim != 2:
        raise ValueError(f"f_score: user_summary must be [U, N], got shape {users.shape}")
    machine = (np.asarray(machine_summary).ravel() > 0).astype(np.float64)[: users.shape[1]]
    machine = np.pad(machine, (0, users.shape[1] - len(machine)))
    overlap = users @ machine
    precision = overlap / (machine.sum() + 1e-8)
    recall = overlap / (users.sum(1) + 1e-8)
    both = precision + recall
    f = np.where(both > 0, 2 * precision * recall / np.where(both > 0, both, 1), 0.0)
    i = int(np.argmax(f)) if mode == "max" else None
    if mode == "max":
        return float(f[i]), float(precision[i]), float(recall[i])
    return float(f.mean()), float(precision.mean()), float(recall.mean())


def rank_correlation(pred_scores, user_scores) -> tuple[float, float]:
    """(Kendall tau, Spearman rho) of frame scores `[N]` against each annotator's scores `[U, N]`, averaged over
    annotators (Otani et al.: tau on the ranks of -score). Constant scores give NaN, as in scipy."""
    pred = np.asarray(pred_scores, np.float64).ravel()
    users = np.asarray(user_scores, np.float64)
    if users.ndim != 2 or users.shape[1] != len(pred):
        raise ValueError(f"rank_correlation: user_scores must be [U, {len(pred)}], got shape {users.shape}")
    taus = [stats.kendalltau(stats.rankdata(-pred), stats.rankdata(-u))[0] for u in users]
    rhos = [stats.spearmanr(pred, u)[0] for u in users]
    return float(np.mean(taus)), float(np.mean(rhos))


def knapsack(values, weights, capacity: int) -> np.ndarray:
    """Exact 0/1 knapsack: indices of the items that maximise the total value within `capacity`.

    Integer weights, dynamic programming in O(n * capacity). Among optimal selections it prefers, item by item
    from the last one down, leaving an item out: the result is deterministic and independent of float noise
    below 1e-12 in the values.
    """
    values, weights = np.asarray(values, np.float64), np.asarray(weights)
    if values.shape != weights.shape or values.ndim != 1:
        raise ValueError(f"knapsack: values and weights must be equal-length vectors, got {values.shape}, "
                         f"{weights.shape}")
    if np.any(weights < 0) or not np.all(weights == np.round(weights)):
        raise ValueError("knapsack: weights must be non-negative integers")
    weights = weights.astype(np.int64)
    n, cap = len(values), max(int(capacity), 0)
    best = np.zeros((n + 1, cap + 1))
    for i in range(n):
        take = np.full(cap + 1, -np.inf)
        if weights[i] <= cap:
            take[weights[i]:] = best[i, : cap + 1 - weights[i]] + values[i]
        best[i + 1] = np.maximum(best[i], take)
    chosen, c = [], cap
    for i in range(n - 1, -1, -1):
        if best[i + 1, c] > best[i, c] + 1e-12:  # item i is needed for the optimum
            chosen.append(i)
            c -= weights[i]
    return np.array(sorted(chosen), np.int64)


def upsample_scores(scores, picks, n_frames: int) -> np.ndarray:
    """Scores on sampled frames `picks` [N] (increasing) -> every frame [n_frames]: each pick's score holds until
    the next pick; frames before the first pick score 0 (as `vsum_tools.generate_summary`)."""
    scores, picks = np.asarray(scores, np.float64), np.asarray(picks, np.int64)
    if scores.shape != picks.shape or not len(picks) or np.any(np.diff(picks) <= 0) or picks[-1] >= n_frames:
        raise ValueError(f"upsample_scores: need increasing picks within [0, {n_frames}) matching scores; got "
                         f"scores {scores.shape}, picks {picks.shape} ending at {picks[-1] if len(picks) else None}")
    out = np.zeros(n_frames)
    out[picks[0]:] = np.repeat(scores, np.diff(np.append(picks, n_frames)))
    return out


def keyshot_summary(frame_scores, change_points, proportion: float = 0.15) -> np.ndarray:
    """0/1 frame summary `[n_frames]`: shots (`change_points` [S, 2] inclusive ranges) scored by their mean
    frame score, chosen by knapsack under `floor(n_frames * proportion)` frames."""
    frame_scores = np.asarray(frame_scores, np.float64)
    cps = np.asarray(change_points, np.int64)
    n = len(frame_scores)
    if cps.ndim != 2 or cps.shape[1] != 2 or cps[0, 0] != 0 or cps[-1, 1] != n - 1:
        raise ValueError(f"keyshot_summary: change_points must be [S, 2] inclusive shots covering [0, {n - 1}], "
                         f"got {cps.tolist() if cps.size < 20 else cps.shape}")
    lengths = cps[:, 1] - cps[:, 0] + 1
    values = np.array([frame_scores[a:b + 1].mean() for a, b in cps])
    summary = np.zeros(n, np.uint8)
    for s in knapsack(values, lengths, int(np.floor(n * proportion))):
        summary[cps[s, 0]:cps[s, 1] + 1] = 1
    return summary


def greedy_map(kernel, max_size: int | None = None) -> np.ndarray:
    """Greedy DPP MAP: indices (in selection order) of a subset with large det(L_Y).

    Each step adds the item with the largest gain det(L_{Y+i}) / det(L_Y) (the Schur complement d_i^2, updated by
    incremental Cholesky as in Chen et al., NeurIPS 2018: O(T |Y|^2)); it stops before a gain <= 1 (det would not
    increase) or at `max_size` items. The first item is the exact argmax of L_ii; later ones are greedy.

    Args:
      kernel: [T, T] symmetric positive semi-definite L.
      max_size: cap on |Y| (default T).
    """
    L = np.asarray(kernel, np.float64)
    if L.ndim != 2 or L.shape[0] != L.shape[1]:
        raise ValueError(f"greedy_map: kernel must be a square [T, T] matrix, got shape {L.shape}")
    n = len(L)
    cap = n if max_size is None else min(int(max_size), n)
    d2 = np.diag(L).copy()  # gain of adding each item
    c = np.zeros((cap, n))  # rows: incremental Cholesky factors of the chosen items against all items
    chosen: list[int] = []
    while len(chosen) < cap:
        gains = np.where(np.isin(np.arange(n), chosen), -np.inf, d2)
        j = int(np.argmax(gains))
        if gains[j] <= 1.0:
            break
        k = len(chosen)
        e = (L[j] - c[:k, j] @ c[:k]) / np.sqrt(d2[j])
        c[k] = e
        d2 = d2 - e ** 2
        chosen.append(j)
    return np.array(chosen, np.int64)
