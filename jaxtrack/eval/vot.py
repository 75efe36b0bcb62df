"""VOT short-term (supervised) protocol and its measures, as the VOT toolkit (votchallenge/toolkit,
`vot/experiment/multirun.py::SupervisedExperiment`, `vot/analysis/supervised.py`) defines them.

Protocol (`run_vot`): the tracker is initialised on frame 0; a tracked frame whose overlap (between polygons clipped
to the frame, `polygon_overlap`) with a valid ground truth is <= 0 is a failure, and the tracker is re-initialised
`skip` (5) frames later. Frames in between are "unknown"; a failure within the last `skip` frames ends the sequence
without re-initialisation.

Measures (one run per sequence: jaxtrack trackers are deterministic, so the toolkit's repetitions collapse):
- accuracy: per sequence, the mean overlap over tracked frames, excluding failure frames, unknown frames and the
  `burnin` frames that start at every (re)initialisation (the initialisation frame included); 0 for a sequence
  with no such frame (shorter than the burn-in). Averaged over sequences **weighted by sequence length** (toolkit
  `AverageAccuracyRobustness`; pysot instead pools the frames of all sequences).
- robustness: per sequence the number of failures, averaged over sequences weighted by sequence length
  (toolkit); `failures` is the plain total.
- EAO curve: one segment per (re)initialisation, from the initialisation frame up to the next failure
  **excluded** (or to the end of the sequence). Phi[Ns] is the mean over segments of the mean overlap of frames
  1..Ns (frame 0 is the initialisation, overlap 0); a failed segment counts at every Ns with zeros after its end,
  a completed one only up to its own length. Special frames (initialisation, no ground truth) count as overlap 0.
- EAO: the mean of Phi over [lo, hi] inclusive (the part of it the curve reaches). The named VOT stacks fix the
  interval (`STACK_INTERVALS`, from the toolkit's stack files); other datasets use `eao_interval`, an estimate
  from the sequence lengths (not a toolkit definition).
Frames whose ground truth is missing (NaN / non-positive size; not a VOT case) are never failures and are
excluded from accuracy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from jaxtrack import boxes
from jaxtrack.data.video import Video
from jaxtrack.eval.benchmark import frames

# EAOScore low/high of the toolkit's stack files (vot/stack/vot20xx.yaml)
STACK_INTERVALS = {"vot2015": (114, 378), "vot2016": (108, 371), "vot2017": (100, 356), "vot2018": (100, 356),
                   "vot2019": (46, 291)}


@dataclasses.dataclass(frozen=True)
class VOTRun:
    """One sequence under the re-initialisation protocol: overlaps [T] (0 on failure frames; NaN on
    initialisation frames, unknown frames and frames without ground truth), inits / failures: frame indices."""

    overlaps: np.ndarray
    inits: tuple[int, ...]
    failures: tuple[int, ...]


def polygon_area(p: np.ndarray) -> float:
    """Area of a simple polygon [N, 2] (shoelace); 0 for fewer than 3 vertices."""
    if len(p) < 3:
        return 0.0
    x, y = p[:, 0], p[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def _convex(p: np.ndarray) -> bool:
    d = np.roll(p, -1, 0) - p
    cross = d[:, 0] * np.roll(d[:, 1], -1) - d[:, 1] * np.roll(d[:, 0], -1)
    return bool((cross >= -1e-9).all() or (cross <= 1e-9).all())


def clip_polygon(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: the part [K, 2] of polygon `subject` inside the convex polygon `clip` (either
    orientation)."""
    orient = np.sign(np.dot(clip[:, 0], np.roll(clip[:, 1], -1)) - np.dot(clip[:, 1], np.roll(clip[:, 0], -1)))
    out = list(subject)
    for a, b in zip(clip, np.roll(clip, -1, 0), strict=True):
        side = [orient * ((b[0] - a[0]) * (q[1] - a[1]) - (b[1] - a[1]) * (q[0] - a[0])) for q in out]
        pts, out = out, []
        for i, (p, sp) in enumerate(zip(pts, side, strict=True)):
            q, sq = pts[i - 1], side[i - 1]
            if (sp >= 0) != (sq >= 0):
                out.append(q + (p - q) * (sq / (sq - sp)))
            if sp >= 0:
                out.append(p)
        if not out:
            break
    return np.array(out, np.float64).reshape(-1, 2)


def polygon_overlap(a, b, bounds: tuple[float, float] | None = None) -> float:
    """IoU of polygons a [N, 2] and b [M, 2] (x, y; one of them convex, as a rotated box is), both clipped to the
    image [0, W] x [0, H] when `bounds` = (W, H) is given, as the VOT toolkit bounds its overlaps; 0 when either
    is empty (inside the image)."""
    a, b = np.asarray(a, np.float64).reshape(-1, 2), np.asarray(b, np.float64).reshape(-1, 2)
    if bounds is not None:
        w, h = bounds
        frame = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float64)
        a, b = clip_polygon(a, frame), clip_polygon(b, frame)
    area_a, area_b = polygon_area(a), polygon_area(b)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    if _convex(b):
        inter = polygon_area(clip_polygon(a, b))
    elif _convex(a):
        inter = polygon_area(clip_polygon(b, a))
    else:
        raise ValueError(f"polygon_overlap: neither polygon is convex ({a.tolist()}, {b.tolist()})")
    return inter / (area_a + area_b - inter)


def _corners(box) -> np.ndarray:
    """[4, 2] float64 corners of an xywh box (`boxes.xywh_to_corners` in float64)."""
    x0, y0, x1, y1 = boxes.xywh_to_xyxy(np.asarray(box, np.float64))
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def run_vot(tracker, video: Video, *, skip: int = 5) -> VOTRun:
    """Tracks `video`, re-initialising on the ground-truth box `skip` frames after each failure (overlap <= 0 with
    a valid ground truth); frames without a valid ground truth are never an initialisation (it moves to the next
    valid frame) or a failure. Overlaps are between polygons clipped to the frame (`polygon_overlap`): the
    tracker's rotated box when it reports one (`last_polygon`, SiamMask), else its box's corners, against the
    ground truth's polygon (`video.polygons`, VOT's rotated boxes) or its box's corners."""
    gt = video.boxes
    overlaps = np.full(len(gt), np.nan)
    inits, failures, next_init = [], [], 0
    for t, frame in enumerate(frames(video)):
        valid = bool(np.isfinite(gt[t]).all() and (gt[t, 2:] > 0).all())
        if t < next_init or (t == next_init and not valid):
            next_init += t == next_init
            continue
        if t == next_init:
            tracker.init(frame, gt[t])
            inits.append(t)
            continue
        box, _ = tracker.track(frame)
        if valid:
            pred = getattr(tracker, "last_polygon", None)
            pred = _corners(box) if pred is None else pred
            truth = _corners(gt[t]) if video.polygons is None else video.polygons[t]
            overlaps[t] = polygon_overlap(pred, truth, (frame.shape[1], frame.shape[0])) \
                if np.isfinite(pred).all() else 0.0
            if overlaps[t] <= 0:
                failures.append(t)
                next_init = t + skip
    return VOTRun(overlaps, tuple(inits), tuple(failures))


def sequence_accuracy(run: VOTRun, *, burnin: int = 10) -> float:
    """Mean overlap over the frames the toolkit keeps (see the module docstring); 0 when none is kept. With
    `burnin=0` the initialisation frames are kept with overlap 0, as the toolkit's special regions."""
    overlaps = run.overlaps.copy()
    overlaps[list(run.inits)] = 0.0
    keep = np.isfinite(overlaps)
    keep[list(run.failures)] = False
    for i in run.inits:
        keep[i:i + burnin] = False
    return float(overlaps[keep].mean()) if keep.any() else 0.0


def accuracy_robustness(runs: Sequence[VOTRun], *, burnin: int = 10) -> dict[str, float]:
    """{"accuracy", "robustness", "failures"}: length-weighted means over sequences of the per-sequence accuracy
    and failure count (the toolkit's averaging), and the total number of failures."""
    weights = np.array([len(r.overlaps) for r in runs], np.float64)
    acc = np.array([sequence_accuracy(r, burnin=burnin) for r in runs])
    fails = np.array([len(r.failures) for r in runs], np.float64)
    total = weights.sum()
    if not total:
        return {"accuracy": float("nan"), "robustness": float("nan"), "failures": 0.0}
    return {"accuracy": float(weights @ acc / total), "robustness": float(weights @ fails / total),
            "failures": float(fails.sum())}


def segments(run: VOTRun) -> list[tuple[np.ndarray, bool]]:
    """(overlaps from a (re)initialisation up to the next failure excluded, or to the end; failed) per
    initialisation; NaN (initialisation frame, no ground truth) counts as 0, as the toolkit's special regions."""
    out = []
    for start in run.inits:
        fail = next((f for f in run.failures if f > start), None)
        end = len(run.overlaps) if fail is None else fail
        out.append((np.nan_to_num(run.overlaps[start:end], nan=0.0), fail is not None))
    return out


def eao_curve(segs: Sequence[tuple[np.ndarray, bool]], weights=None) -> np.ndarray:
    """Expected-overlap curve Phi[Ns], Ns = 0..max_len-1 (max_len: the longest segment): Phi[0] is the mean
    initialisation-frame overlap, Phi[Ns >= 1] the weighted mean over counted segments of the mean overlap of
    frames 1..Ns; a failed segment counts at every Ns (zero-padded), a completed one up to its own length."""
    max_len = max(len(s) for s, _ in segs)
    over = np.zeros((len(segs), max_len))
    mask = np.ones((len(segs), max_len))
    for i, (s, failed) in enumerate(segs):
        over[i, :len(s)] = s
        if not failed:
            mask[i, len(s):] = 0
    w = np.ones(len(segs)) if weights is None else np.asarray(weights, np.float64)
    csum = np.cumsum(over[:, 1:], 1)
    means = np.concatenate([over[:, :1], csum / np.arange(1, max_len)], 1)
    return (w[:, None] * means * mask).sum(0) / (mask * w[:, None]).sum(0)  # > 0: the longest segment counts


def eao_interval(lengths: Sequence[int]) -> tuple[int, int]:
    """An estimate of the sequence-length interval [N_lo, N_hi] for datasets without a VOT stack: the
    highest-density region holding half the mass of a Gaussian KDE of the lengths (Silverman bandwidth)."""
    x = np.asarray(lengths, np.float64)
    bw = max(1.06 * x.std() * len(x) ** -0.2, 1.0)
    grid = np.arange(max(1, int(x.min() - 3 * bw)), int(x.max() + 3 * bw) + 1)
    pdf = np.exp(-0.5 * ((grid[:, None] - x[None]) / bw) ** 2).sum(1)
    pdf /= pdf.sum()
    order = np.argsort(-pdf, kind="stable")
    region = grid[order[:np.searchsorted(np.cumsum(pdf[order]), 0.5) + 1]]
    return int(region.min()), int(region.max())


def eao(runs: Sequence[VOTRun], interval: tuple[int, int] | None = None) -> float:
    """Expected average overlap: the mean of `eao_curve` over Ns in `interval` (inclusive; `STACK_INTERVALS` for
    the VOT stacks; default `eao_interval` of the sequence lengths); NaN when the curve ends before `lo`."""
    lo, hi = eao_interval([len(r.overlaps) for r in runs]) if interval is None else interval
    segs = [s for r in runs for s in segments(r)]
    curve = eao_curve(segs)[lo:hi + 1] if segs else np.zeros(0)
    return float(curve.mean()) if curve.size else float("nan")
