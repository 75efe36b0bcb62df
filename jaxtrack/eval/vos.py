"""Video object segmentation measures with the conventions of the official DAVIS evaluation code
(davisvideochallenge/davis2017-evaluation: `davis2017/metrics.py`, `utils.db_statistics`, `evaluation.py`).

Masks are boolean, `[T, H, W]` (per-frame results) or `[H, W]`; `void` marks pixels left out (DAVIS label 255).
- `j_measure`: region similarity, the IoU of the masks outside void; 1 when both are empty.
- `f_measure`: contour accuracy. Boundary maps (`boundary_map`: a pixel differs from its right, lower or
  lower-right neighbour, the maps offset half a pixel towards the origin) of both masks outside void; each is
  dilated by a disk of radius `ceil(bound_th * image diagonal)` (`bound_th < 1`) or `bound_th` pixels; precision is
  the fraction of predicted boundary pixels within the dilated ground-truth boundary, recall the converse, F their
  harmonic mean. Empty boundaries: none predicted and none true gives F = 1; only one of them empty gives 0.
- `statistics(per_frame)`: (mean, recall, decay): the NaN-ignoring mean, the fraction of frames above 0.5 (NaN
  frames count as not above), and the mean of the first quarter minus the mean of the last, with DAVIS's 4 bins
  (`round(linspace(1, n, 5)) - 1` bin edges, inclusive; DAVIS casts these to uint8, which wraps for sequences of
  more than 256 frames; jaxtrack keeps integers).
- `evaluate_sequence`: the semi-supervised protocol, per object, over the frames between the first (given) and
  the last, both excluded; an object absent from a frame has an empty ground-truth mask there.
- `global_table` / `sequence_csv`: DAVIS's CSV layouts (`J&F-Mean,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,
  F-Decay` averaged over objects, and `Sequence,J-Mean,F-Mean` per object named `<seq>_<id>`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import cv2
import numpy as np

GLOBAL_COLUMNS = ("J&F-Mean", "J-Mean", "J-Recall", "J-Decay", "F-Mean", "F-Recall", "F-Decay")


def _frames(pred, gt, void):
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape or pred.ndim not in (2, 3):
        raise ValueError(f"pred and gt must be masks of one shape [T, H, W] or [H, W], got {pred.shape} and "
                         f"{gt.shape}")
    void = np.zeros_like(gt) if void is None else np.asarray(void, bool)
    if void.shape != gt.shape:
        raise ValueError(f"void must have the masks' shape {gt.shape}, got {void.shape}")
    shape = (-1, *gt.shape[-2:])
    return pred.reshape(shape), gt.reshape(shape), void.reshape(shape), pred.ndim == 2


def j_measure(pred, gt, void=None):
    """Region similarity per frame: float64 [T] (or a float for [H, W] masks)."""
    pred, gt, void, single = _frames(pred, gt, void)
    keep = ~void
    inter = (pred & gt & keep).sum((1, 2))
    union = ((pred | gt) & keep).sum((1, 2))
    j = np.where(union == 0, 1.0, inter / np.maximum(union, 1))
    return float(j[0]) if single else j


def boundary_map(mask: np.ndarray) -> np.ndarray:
    """[H, W] bool: pixels that differ from the right, lower or lower-right neighbour; the last row compares with
    the right neighbour only, the last column with the lower one only, and the corner pixel is never a boundary."""
    m = np.asarray(mask, bool)
    right, down, diag = np.zeros_like(m), np.zeros_like(m), np.zeros_like(m)
    right[:, :-1], down[:-1, :], diag[:-1, :-1] = m[:, 1:], m[1:, :], m[1:, 1:]
    b = (m ^ right) | (m ^ down) | (m ^ diag)
    b[-1, :] = m[-1, :] ^ right[-1, :]
    b[:, -1] = m[:, -1] ^ down[:, -1]
    b[-1, -1] = False
    return b


def disk(radius: int) -> np.ndarray:
    """[2r+1, 2r+1] uint8 disk: x^2 + y^2 <= r^2 (scikit-image's `morphology.disk`)."""
    y, x = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return (x * x + y * y <= radius * radius).astype(np.uint8)


def _f_frame(pred, gt, void, bound_th):
    radius = bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(*gt.shape))
    pred_b, gt_b = boundary_map(pred & ~void), boundary_map(gt & ~void)
    kernel = disk(int(radius))
    pred_dil = cv2.dilate(pred_b.astype(np.uint8), kernel).astype(bool)
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel).astype(bool)
    n_pred, n_gt = pred_b.sum(), gt_b.sum()
    if n_pred == 0 or n_gt == 0:
        return 1.0 if n_pred == n_gt else 0.0
    precision = (pred_b & gt_dil).sum() / n_pred
    recall = (gt_b & pred_dil).sum() / n_gt
    return 0.0 if precision + recall == 0 else float(2 * precision * recall / (precision + recall))


def f_measure(pred, gt, void=None, bound_th: float = 0.008):
    """Contour accuracy per frame: float64 [T] (or a float for [H, W] masks)."""
    pred, gt, void, single = _frames(pred, gt, void)
    f = np.array([_f_frame(p, g, v, bound_th) for p, g, v in zip(pred, gt, void, strict=True)])
    return float(f[0]) if single else f


def statistics(per_frame) -> tuple[float, float, float]:
    """(mean, recall, decay) of per-frame values [N], DAVIS's `db_statistics`."""
    v = np.asarray(per_frame, np.float64)
    if v.ndim != 1 or not len(v):
        raise ValueError(f"per_frame must be a non-empty [N] array, got shape {v.shape}")
    mean = float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")
    recall = float(np.mean(v > 0.5))
    ids = (np.round(np.linspace(1, len(v), 5) + 1e-10) - 1).astype(int)
    first, last = v[ids[0]:ids[1] + 1], v[ids[3]:ids[4] + 1]
    decay = float(np.nanmean(first) - np.nanmean(last)) \
        if np.isfinite(first).any() and np.isfinite(last).any() else float("nan")
    return mean, recall, decay


def evaluate_sequence(pred: np.ndarray, gt: np.ndarray, void=None, bound_th: float = 0.008):
    """Per-object (J [O, T-2], F [O, T-2]) over frames 1..T-2 of `pred`, `gt` [O, T, H, W] bool (one mask per object
    id 1..O; `void` [T, H, W])."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape or gt.ndim != 4:
        raise ValueError(f"pred and gt must be [objects, T, H, W] of one shape, got {pred.shape} and {gt.shape}")
    if gt.shape[1] < 3:
        raise ValueError(f"a sequence needs >= 3 frames (the first and last are not scored), got {gt.shape[1]}")
    v = None if void is None else np.asarray(void, bool)[1:-1]
    j = np.stack([j_measure(p[1:-1], g[1:-1], v) for p, g in zip(pred, gt, strict=True)])
    f = np.stack([f_measure(p[1:-1], g[1:-1], v, bound_th) for p, g in zip(pred, gt, strict=True)])
    return j, f


def global_table(results: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """{column: value} of DAVIS's global CSV over every object of `results` {sequence: (J [O, N], F [O, N])}."""
    js = [statistics(row) for j, _ in results.values() for row in j]
    fs = [statistics(row) for _, f in results.values() for row in f]
    jm, jr, jd = np.mean(js, 0)
    fm, fr, fd = np.mean(fs, 0)
    return dict(zip(GLOBAL_COLUMNS, map(float, ((jm + fm) / 2, jm, jr, jd, fm, fr, fd)), strict=True))


def global_csv(results: Mapping[str, tuple[np.ndarray, np.ndarray]]) -> str:
    row = global_table(results)
    return ",".join(GLOBAL_COLUMNS) + "\n" + ",".join(f"{row[c]:.3f}" for c in GLOBAL_COLUMNS) + "\n"


def sequence_csv(results: Mapping[str, tuple[np.ndarray, np.ndarray]],
                 ids: Mapping[str, list[int]] | None = None) -> str:
    """`Sequence,J-Mean,F-Mean` with one row per object `<seq>_<id>` (ids from 1, or `ids[seq]`, one per row)."""
    lines = ["Sequence,J-Mean,F-Mean"]
    for seq, (j, f) in results.items():
        names = ids[seq] if ids is not None else range(1, len(j) + 1)
        for k, jr, fr in zip(names, j, f, strict=True):
            lines.append(f"{seq}_{k},{statistics(jr)[0]:.3f},{statistics(fr)[0]:.3f}")
    return "\n".join(lines) + "\n"
