"""MDNet's sample generator (`modules/sample_generator.py`): boxes drawn around a target, kept by IoU, in fixed
counts (numpy; shared by DAT's offline RoI batches and its online tracker).

Boxes are xywh (jaxtrack's convention). A draw moves the centre by `trans * mean(w, h) * d` and scales the size by
`scale ** s` (both sides, times `aspect ** a` on w and its inverse on h):
- "gaussian": d ~ clip(0.5 * N(0, 1), -1, 1) per axis, s ~ clip(0.5 * N(0, 1), -1, 1) (candidates, positives);
- "uniform": d, s ~ U(-1, 1) (negatives, box-regression samples).
Sizes are clipped to [10, image - 10] px and centres into the image (MDNet's `valid` rule).
MDNet's settings: positives gaussian(0.1, 1.3) with IoU >= 0.7, negatives uniform(1, 1.6) with IoU < 0.5 (offline
and on the first frame; online also "whole"-image negatives), candidates gaussian(0.6, 1.05), box-regression
samples uniform(0.3, 1.6, aspect 1.1) with IoU >= 0.6.
"""

from __future__ import annotations

import numpy as np

from jaxtrack import boxes

KINDS = ("gaussian", "uniform")


def draw(rng: np.random.Generator, box, n: int, kind: str, trans: float, scale: float, image_wh, *,
         aspect: float | None = None) -> np.ndarray:
    """[n, 4] float64 xywh boxes around `box` [4] xywh in an image of `image_wh` (w, h); see the docstring."""
    if kind not in KINDS:
        raise ValueError(f"box_samples.draw: kind must be one of {KINDS}, got {kind!r}")
    box = np.asarray(box, np.float64)
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    if kind == "gaussian":
        d = np.clip(0.5 * rng.standard_normal((n, 3)), -1, 1)
    else:
        d = rng.uniform(-1, 1, (n, 3))
    a = rng.uniform(-1, 1, n) if aspect is not None else np.zeros(n)
    mean_side = (box[2] + box[3]) / 2
    w = box[2] * scale ** d[:, 2] * (aspect or 1.0) ** a
    h = box[3] * scale ** d[:, 2] / (aspect or 1.0) ** a
    iw, ih = (float(v) for v in image_wh)
    w = np.clip(w, 10, max(iw - 10, 10))
    h = np.clip(h, 10, max(ih - 10, 10))
    cx = np.clip(cx + trans * mean_side * d[:, 0], w / 2, iw - w / 2)
    cy = np.clip(cy + trans * mean_side * d[:, 1], h / 2, ih - h / 2)
    return np.stack([cx - w / 2, cy - h / 2, w, h], axis=1)


def sample(rng: np.random.Generator, box, n: int, kind: str, trans: float, scale: float, image_wh, *,
           iou_range: tuple[float, float] = (0.0, 1.0), aspect: float | None = None, tries: int = 8) -> np.ndarray:
    """Exactly [n, 4] xywh boxes with IoU against `box` in [lo, hi] (hi inclusive for 1.0, else exclusive, as
    MDNet's `>= pos_thr` / `< neg_thr`): draws of `tries * n` until n are kept, then repeats kept ones. With none
    kept after `tries` rounds, positives (lo > 0) fall back to `box` itself and negatives to the widest draws."""
    lo, hi = iou_range
    kept = []
    total = 0
    for _ in range(tries):
        cand = draw(rng, box, tries * n, kind, trans, scale, image_wh, aspect=aspect)
        ov = boxes.iou(cand, np.asarray(box, np.float64)[None])
        ok = (ov >= lo) & ((ov <= hi) if hi >= 1.0 else (ov < hi))
        kept.append(cand[ok])
        total += int(ok.sum())
        if total >= n:
            break
    kept = np.concatenate(kept)
    if not len(kept):
        kept = np.asarray(box, np.float64)[None] if lo > 0 else draw(rng, box, n, "uniform", 3.0, 2.0, image_wh)
    if len(kept) >= n:
        return kept[rng.permutation(len(kept))[:n]]
    return kept[rng.integers(len(kept), size=n)]
