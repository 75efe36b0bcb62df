"""Annotations of a rendered synthetic video: GOT-10k cover classes, OTB attributes, simulated annotators.

Attribute definitions (OTB, Wu et al. TPAMI 2015, thresholds as there where it gives one), each measured on
what was actually rendered or annotated in the video:
  IV   illumination gain (mean over channels, flashes included) leaves [1/1.5, 1.5] of frame 0's
  SV   sqrt(box area) ratio to frame 0's leaves [0.5, 2] (on fully visible frames: cover 8)
  OCC  occluders hide > 30% of the target on some frame
  DEF  the target's x/y stretch ratio varies by > 1.5x (non-rigid squash-and-stretch)
  MB   motion-blur kernel of >= 8 px on the target
  FM   ground-truth centre moves > 20 px between consecutive annotated frames
  IPR  in-plane rotation > 30 degrees away from frame 0's angle
  OPR  out-of-plane rotation (yaw) > 60 degrees
  OV   < 90% of the target inside the frame on some frame
  BC   a shot whose background holds look-alike decoys of the target, with the target visible in it
  LR   a ground-truth box smaller than 400 px (on fully visible frames: cover 8)
"""

from __future__ import annotations

import numpy as np

from jaxtrack.data.synthetic_plan import Plan

OCC_RATIO = 0.3
OV_INSIDE = 0.9
FM_PIXELS = 20.0
SV_RANGE = (0.5, 2.0)
LR_AREA = 400.0
MB_PIXELS = 8.0
IV_RATIO = 1.5
IPR_DEGREES = 30.0
OPR_DEGREES = 60.0
DEF_RATIO = 1.5


def cover_class(ratio: np.ndarray) -> np.ndarray:
    """[T] int8 GOT-10k cover class of visible ratios [T]: 0 none visible, 1..7 for (0, 15%], (15, 30%], ...,
    (75, 90%], (90, 100%), 8 fully visible."""
    c = np.clip(np.ceil(ratio / 0.15), 0, 7)
    c[ratio >= 1] = 8
    c[ratio <= 0] = 0
    return c.astype(np.int8)


def centre_motion(boxes: np.ndarray) -> np.ndarray:
    """[T - 1] centre displacement (px) between consecutive boxes [T, 4] xywh; NaN where either is missing."""
    centres = boxes[:, :2] + boxes[:, 2:] / 2
    return np.hypot(*np.diff(centres, axis=0).T)


def attributes(plan: Plan, boxes: np.ndarray, cover: np.ndarray, inside: np.ndarray, occluded: np.ndarray,
               blur: np.ndarray) -> dict[str, bool]:
    """OTB flags from the plan and the rendered measurements.

    Args:
      boxes: [T, 4] ground truth (NaN where none); cover: [T] int8 GOT-10k cover classes.
      inside: [T] fraction of the target inside the frame; occluded: [T] fraction hidden by occluders.
      blur: [T] motion-blur length on the target in px.
    """
    area = np.where(cover == 8, boxes[:, 2] * boxes[:, 3], np.nan)
    scale = np.sqrt(area / area[np.flatnonzero(cover == 8)[0]])
    gain = plan.gain.mean(1) + plan.offset.mean(1) / 128
    shot_visible = np.bincount(plan.shot_of, weights=cover > 0, minlength=len(plan.shots)) > 0
    return {
        "IV": bool(np.abs(np.log(gain / gain[0])).max() > np.log(IV_RATIO)),
        "SV": bool(np.any((scale < SV_RANGE[0]) | (scale > SV_RANGE[1]))),
        "OCC": bool(occluded.max() > OCC_RATIO),
        "DEF": bool(plan.target.aspect.max() / plan.target.aspect.min() > DEF_RATIO),
        "MB": bool(blur.max() >= MB_PIXELS),
        "FM": bool(np.nanmax(centre_motion(boxes), initial=0) > FM_PIXELS),
        "IPR": bool(np.abs(plan.target.angle - plan.target.angle[0]).max() > IPR_DEGREES),
        "OPR": bool(np.abs(plan.target.yaw - plan.target.yaw[0]).max() > OPR_DEGREES),
        "OV": bool(inside.min() < OV_INSIDE),
        "BC": bool(np.any(plan.clutter & shot_visible)),
        "LR": bool(np.nanmin(area) < LR_AREA),
    }


def user_scores(rng: np.random.Generator, plan: Plan, n_users: int) -> np.ndarray:
    """[U, T] float32 TVSum-like importance scores 1..5: each user's gain/bias + shot- and frame-level noise
    on the plan's interest."""
    t_n, s_n = len(plan.interest), len(plan.shots)
    gain = rng.uniform(0.6, 1.4, (n_users, 1))
    bias = rng.normal(0, 0.1, (n_users, 1))
    shot_noise = rng.normal(0, 0.15, (n_users, s_n))[:, plan.shot_of]
    frame_noise = np.apply_along_axis(np.convolve, 1, rng.normal(0, 0.25, (n_users, t_n)), np.ones(3) / 3, "same")
    v = gain * plan.interest[None] + bias + shot_noise + frame_noise
    return (1 + np.rint(4 * np.clip(v, 0, 1))).astype(np.float32)


def segments(rng: np.random.Generator, shots: np.ndarray) -> np.ndarray:
    """[G, 2] inclusive sub-shot segments of 4..8 frames (KTS-like) that tile every shot."""
    out = []
    for a, b in shots:
        t = int(a)
        while t <= b:
            end = min(int(b), t + int(rng.integers(4, 9)) - 1)
            if b - end < 3:
                end = int(b)
            out.append((t, end))
            t = end + 1
    return np.array(out, np.int32)


def user_summaries(rng: np.random.Generator, plan: Plan, n_users: int, ratio: float) -> np.ndarray:
    """[U, T] uint8 SumMe-like keyshot selections: each user ranks the segments by the interest they perceive
    (mean interest + personal noise) and takes them in that order within a personal budget of about
    `ratio` * T frames; the first segment that does not fit contributes its middle to fill the budget."""
    t_n = len(plan.interest)
    segs = segments(rng, plan.shots)
    lengths = segs[:, 1] - segs[:, 0] + 1
    means = np.array([plan.interest[a:b + 1].mean() for a, b in segs])
    out = np.zeros((n_users, t_n), np.uint8)
    for u in range(n_users):
        budget = max(1, round(t_n * ratio * rng.uniform(0.8, 1.2)))
        used = 0
        for g in np.argsort(-(means + rng.normal(0, 0.12, len(segs)))):
            a, b = segs[g]
            if used + lengths[g] > budget:  # the best segment left does not fit: its middle fills the budget
                start = (a + b + 1 - (budget - used)) // 2
                out[u, start:start + budget - used] = 1
                break
            out[u, a:b + 1] = 1
            used += lengths[g]
    return out
