"""VOT short-term (supervised) protocol and its measures, as the VOT toolkit (votchallenge/toolkit,
`vot/experiment/multirun.py::SupervisedExperiment`, `vot/analysis/supervised.py`) defines them.

Protocol (`run_vot`): the tracker is initialised on frame 0; a tracked frame whose overlap with a valid ground
truth is <= 0 is a failure, and the tracker is re-initialised `skip` (5) frames later. Frames in between are
"unknown"; a failure within the last `skip` frames ends the sequence without re-initialisation.

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


def run_vot(tracker, video: Video, *, skip: int = 5) -> VOTRun:
    """Tracks `video` against its xywh boxes, re-initialising on the ground truth `skip` frames after each failure
    (IoU <= 0 with a valid ground truth); frames without a valid ground truth are never an initialisation (it
    moves to the next valid frame) or a failure."""
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
            overlaps[t] = float(boxes.iou(np.asarray(box, np.float64), gt[t].astype(np.float64))) \
                if np.isfinite(box).all() else 0.0
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
