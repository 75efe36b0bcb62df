"""One-pass tracking metrics, defined as the official toolkits compute them (got-10k/toolkit `ExperimentOTB`,
`ExperimentGOT10k`, and its LaSOT normalised precision).

Boxes are `[T, 4]` xywh arrays (0-based pixels). A predicted box that is NaN (no output) scores IoU 0 and an
infinite centre error.
- OTB / LaSOT: frame 0 is the initialisation, so the prediction there is replaced by the ground truth
  (`boxes[0] = anno[0]`). Frames whose ground truth is NaN (target absent, not annotated) are left out, as
  the toolkit's LaSOT evaluation does.
- GOT-10k: frame 0 is excluded, and so are frames with `cover == 0` (target fully occluded or out of view).
  Both boxes are clipped to the image first when `image_size` is given (the toolkit's `bound`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxtrack import boxes

OTB_IOU_THRESHOLDS = np.linspace(0, 1, 21)  # success curve: fraction of frames with IoU > threshold
OTB_CE_THRESHOLDS = np.arange(0, 51)  # precision curve: fraction with centre error <= threshold (px)
NORM_CE_THRESHOLDS = np.linspace(0, 0.5, 51)  # normalised precision: error / GT size <= threshold
GOT_IOU_THRESHOLDS = np.linspace(0, 1, 101)


@dataclasses.dataclass(frozen=True)
class OTBResult:
    """Per-sequence OTB-style result; curves are fractions of the evaluated frames."""

    success_curve: np.ndarray  # [21]
    success_auc: float  # mean of the success curve (the toolkit's "success score")
    precision_curve: np.ndarray  # [51], thresholds 0..50 px
    precision_20: float
    norm_precision_curve: np.ndarray  # [51], thresholds 0..0.5
    norm_precision: float  # at 0.2
    ious: np.ndarray  # [N] evaluated frames
    center_errors: np.ndarray  # [N] pixels


@dataclasses.dataclass(frozen=True)
class GOT10kResult:
    ao: float  # average overlap
    sr50: float  # success rate, IoU > 0.5
    sr75: float  # success rate, IoU > 0.75
    success_curve: np.ndarray  # [101]
    ious: np.ndarray  # [N] evaluated frames


def _check(pred, gt, name: str = "pred_boxes"):
    pred, gt = np.array(pred, np.float64), np.array(gt, np.float64)
    if gt.ndim != 2 or gt.shape[1] != 4:
        raise ValueError(f"gt_boxes must be [T, 4] xywh, got shape {gt.shape}")
    if pred.shape != gt.shape:
        raise ValueError(f"{name} must have the ground truth's shape {gt.shape}, got {pred.shape}")
    if not len(gt):
        raise ValueError("gt_boxes is empty (a sequence needs at least one frame)")
    return pred, gt


def _overlaps(pred, gt):
    """(IoU, centre error, normalised centre error) per frame; NaN predictions -> 0, inf, inf."""
    missing = ~np.isfinite(pred).all(1)
    pred = np.where(missing[:, None], 0.0, pred)
    iou = np.where(missing, 0.0, np.clip(boxes.iou(pred, gt), 0.0, 1.0))
    delta = boxes.xywh_to_cxcywh(pred)[:, :2] - boxes.xywh_to_cxcywh(gt)[:, :2]
    ce = np.where(missing, np.inf, np.sqrt((delta**2).sum(1)))
    nce = np.where(missing, np.inf, np.sqrt(((delta / np.maximum(1.0, gt[:, 2:])) ** 2).sum(1)))
    return iou, ce, nce


def otb(pred_boxes, gt_boxes) -> OTBResult:
    """OTB-100 / LaSOT / UAV123 metrics of one sequence: `[T, 4]`, `[T, 4]` xywh -> OTBResult."""
    pred, gt = _check(pred_boxes, gt_boxes)
    pred[0] = gt[0]
    valid = np.isfinite(gt).all(1)
    if not valid.any():
        raise ValueError("gt_boxes has no finite box: nothing to evaluate")
    iou, ce, nce = _overlaps(pred[valid], gt[valid])
    succ = (iou[:, None] > OTB_IOU_THRESHOLDS).mean(0)
    prec = (ce[:, None] <= OTB_CE_THRESHOLDS).mean(0)
    norm = (nce[:, None] <= NORM_CE_THRESHOLDS).mean(0)
    return OTBResult(succ, float(succ.mean()), prec, float(prec[20]), norm, float(norm[20]), iou, ce)


def _clip_to_image(b, image_size):
    w, h = image_size
    x = np.clip(b[:, 0], 0, w)
    y = np.clip(b[:, 1], 0, h)
    return np.stack([x, y, np.clip(b[:, 2], 0, w - x), np.clip(b[:, 3], 0, h - y)], 1)


def got10k(pred_boxes, gt_boxes, covered=None, *, image_size=None) -> GOT10kResult:
    """GOT-10k metrics of one sequence. `covered`: [T] cover labels (0 = invisible, 1..8 visible ratio class);
    `image_size`: (width, height) for the toolkit's box clipping. Frame 0 and `cover == 0` frames excluded."""
    pred, gt = _check(pred_boxes, gt_boxes)
    keep = np.ones(len(gt), bool)
    keep[0] = False
    if covered is not None:
        covered = np.asarray(covered)
        if covered.shape != (len(gt),):
            raise ValueError(f"covered must be [T]=[{len(gt)}] cover labels, got shape {covered.shape}")
        keep &= covered > 0
    if image_size is not None:
        pred, gt = _clip_to_image(pred, image_size), _clip_to_image(gt, image_size)
    iou = _overlaps(pred[keep], gt[keep])[0] if keep.any() else np.zeros(0)
    return aggregate_got10k([iou])


def aggregate_got10k(ious) -> GOT10kResult:
    """AO / SR over the frames of several sequences (the toolkit concatenates frames, it does not average
    per sequence): `ious` is a list of per-sequence `[N_i]` arrays."""
    iou = np.concatenate([np.asarray(i, np.float64) for i in ious])
    if not len(iou):
        raise ValueError("no frame to evaluate (all excluded: frame 0, cover == 0)")
    curve = (iou[:, None] > GOT_IOU_THRESHOLDS).mean(0)
    return GOT10kResult(float(iou.mean()), float((iou > 0.5).mean()), float((iou > 0.75).mean()), curve, iou)
