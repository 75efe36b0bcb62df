"""Losses of the Siamese trackers and their per-model combinations (jnp, jit-able, scalar float32 results).

Labels are the `jaxtrack.train.targets` ones: int32, 1 positive, 0 negative, -1 ignored. Every reduction runs
over the whole batch, as in the reference code (siamfc-pytorch `BalancedLoss`, pysot / siamban `loss.py`), and an
empty selection contributes 0 (so batches of negative pairs only stay finite).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from jaxtrack import anchors, boxes
from jaxtrack.train.targets import AnchorTargets, PointTargets


@dataclasses.dataclass(frozen=True)
class LossWeights:
    """Weights of the classification, localisation (and SiamMask's mask) terms: total = cls * cls_loss + loc *
    loc_loss (+ mask * mask_loss)."""

    cls: float = 1.0
    loc: float = 1.0
    mask: float = 1.0


SIAMRPN_WEIGHTS = LossWeights(cls=1.0, loc=1.2)  # pysot TRAIN.CLS_WEIGHT / LOC_WEIGHT (SiamRPN++)
SIAMBAN_WEIGHTS = LossWeights(cls=1.0, loc=1.0)  # SiamBAN paper (lambda_1 = lambda_2 = 1), siamban config
SIAMMASK_WEIGHTS = LossWeights(cls=1.0, loc=1.2, mask=1.0)  # pysot TRAIN.CLS / LOC / MASK_WEIGHT (foolwood: 36 mask)


def _check_shape(name: str, shape, expected) -> None:
    if tuple(shape) != tuple(expected):
        raise ValueError(f"{name}: expected shape {tuple(expected)}, got {tuple(shape)}")


def _masked_mean(x, mask):
    """Mean of `x` over `mask` (0 where the mask is empty); masked-out entries never reach values or gradients."""
    return jnp.where(mask, x, 0).sum() / jnp.maximum(mask.sum(), 1)


def balanced_bce(logits, cls, neg_weight: float = 1.0) -> jax.Array:
    """Balanced logistic loss (siamfc-pytorch `BalancedLoss`): logits [...], cls broadcastable to [...].

    Element weights 1 / num_pos on positives and `neg_weight` / num_neg on negatives, normalised to sum 1; so
    `(mean_pos + neg_weight * mean_neg) / (1 + neg_weight)`, or the mean over the one class present.
    """
    logits = jnp.asarray(logits, jnp.float32)
    try:
        cls = jnp.broadcast_to(cls, logits.shape)
    except ValueError as e:
        raise ValueError(f"cls: expected a shape broadcastable to logits {logits.shape}, got {jnp.shape(cls)}") from e
    pos, neg = cls == 1, cls == 0
    bce = optax.sigmoid_binary_cross_entropy(logits, pos.astype(jnp.float32))
    has_pos, has_neg = pos.any().astype(jnp.float32), neg.any().astype(jnp.float32)
    total = has_pos * _masked_mean(bce, pos) + neg_weight * has_neg * _masked_mean(bce, neg)
    return total / jnp.maximum(has_pos + neg_weight * has_neg, 1e-12)


def select_cross_entropy(logits, cls) -> jax.Array:
    """pysot `select_cross_entropy_loss`: 2-way logits [..., 2] (index 1 = target), cls [...].

    `0.5 * mean_pos + 0.5 * mean_neg` of the negative log-softmax; an empty class contributes 0. Already
    log-softmaxed inputs (pysot heads) give the same value.
    """
    logits = jnp.asarray(logits, jnp.float32)
    _check_shape("logits", logits.shape, (*jnp.shape(cls), 2))
    nll = -jax.nn.log_softmax(logits, axis=-1)
    return 0.5 * _masked_mean(nll[..., 1], cls == 1) + 0.5 * _masked_mean(nll[..., 0], cls == 0)


def weighted_l1(pred, target, weight) -> jax.Array:
    """pysot `weight_l1_loss`: pred, target [B, ..., 4], weight [B, ...]: sum(weight * |pred - target|_1) / B.

    Entries with weight 0 are left out, so non-finite targets there are harmless.
    """
    pred = jnp.asarray(pred, jnp.float32)
    _check_shape("target", jnp.shape(target), pred.shape)
    _check_shape("weight", jnp.shape(weight), pred.shape[:-1])
    l1 = jnp.abs(pred - target).sum(-1)
    return jnp.where(weight > 0, l1 * weight, 0).sum() / pred.shape[0]


def ltrb_iou(pred, target) -> jax.Array:
    """IoU [...] of boxes given as distances (left, top, right, bottom) [..., 4] from a common point."""
    to_xywh = lambda d: jnp.stack([-d[..., 0], -d[..., 1], d[..., 0] + d[..., 2], d[..., 1] + d[..., 3]], -1)
    return boxes.iou(to_xywh(jnp.asarray(pred, jnp.float32)), to_xywh(jnp.asarray(target, jnp.float32)))


def linear_iou_loss(pred, target, mask) -> jax.Array:
    """SiamBAN `linear_iou`: mean of `1 - IoU` over `mask` [...] of ltrb boxes pred, target [..., 4] (0 if empty).

    Unlike siamban's IOULoss, no +1 smoothing of intersection and union (boxes are in pixels).
    """
    _check_shape("target", jnp.shape(target), jnp.shape(pred))
    _check_shape("mask", jnp.shape(mask), jnp.shape(pred)[:-1])
    return _masked_mean(1 - ltrb_iou(pred, target), mask)


def siamfc_loss(response, cls, neg_weight: float = 1.0) -> tuple[jax.Array, dict[str, jax.Array]]:
    """SiamFC: balanced logistic loss of the score map [B, H, W, 1] (or [B, H, W]) against `siamfc_labels`
    [B, H, W] (or [H, W], shared). Returns (loss, {"cls_loss"})."""
    response = jnp.asarray(response)
    if response.ndim == 4:
        _check_shape("response", response.shape, (*response.shape[:3], 1))
        response = response[..., 0]
    loss = balanced_bce(response, cls, neg_weight)
    return loss, {"cls_loss": loss}


def siamrpn_loss(cls_logits, loc, targets: AnchorTargets,
                 weights: LossWeights = SIAMRPN_WEIGHTS) -> tuple[jax.Array, dict[str, jax.Array]]:
    """SiamRPN / SiamRPN++ (pysot): the RPN head's cls_logits [B, H, W, 2K] and loc deltas [B, H, W, 4K] (pysot
    channel order, see `anchor_major`), targets from `anchor_targets` (batched, [B, H, W, K]).
    Returns (loss, {"cls_loss", "loc_loss"})."""
    *grid, k = targets.cls.shape
    _check_shape("cls_logits", jnp.shape(cls_logits), (*grid, 2 * k))
    _check_shape("loc", jnp.shape(loc), (*grid, 4 * k))
    cls_loss = select_cross_entropy(anchors.anchor_major(cls_logits, k), targets.cls)
    loc_loss = weighted_l1(anchors.anchor_major(loc, k), targets.delta, targets.delta_weight)
    return weights.cls * cls_loss + weights.loc * loc_loss, {"cls_loss": cls_loss, "loc_loss": loc_loss}


def siamban_loss(cls_logits, loc, targets: PointTargets,
                 weights: LossWeights = SIAMBAN_WEIGHTS) -> tuple[jax.Array, dict[str, jax.Array]]:
    """SiamBAN (and the ACM heads on it): cls_logits [B, H, W, 2], loc ltrb [B, H, W, 4] in search pixels (the
    head's exp'd output), targets from `point_targets` (batched); the IoU loss runs over the sampled positives.
    Returns (loss, {"cls_loss", "loc_loss"})."""
    _check_shape("cls_logits", jnp.shape(cls_logits), (*targets.cls.shape, 2))
    _check_shape("loc", jnp.shape(loc), targets.ltrb.shape)
    cls_loss = select_cross_entropy(cls_logits, targets.cls)
    loc_loss = linear_iou_loss(loc, targets.ltrb, targets.cls == 1)
    return weights.cls * cls_loss + weights.loc * loc_loss, {"cls_loss": cls_loss, "loc_loss": loc_loss}
