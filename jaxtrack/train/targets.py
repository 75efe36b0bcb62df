"""Training targets of the Siamese trackers: SiamFC score labels, SiamRPN(++) anchor targets, SiamBAN point targets.

Conventions (all shapes static, so every function jits; leading batch dims `...` broadcast, and vmap works too):
  gt_box     [..., 4]  target box `xywh` in search-crop pixels (the pipeline's `search_box`)
  negative   [...]     bool, the search crop shows another video (pipeline `negative`)
  cls        int32, 1 positive, 0 negative, -1 ignored
The search crop centre is `(search_size - 1) / 2` (127 for 255, where the pair pipeline puts the target before
the shift augmentation); grid cell (i, j) of a response of side R sits at `centre + (j - R // 2) * stride`
horizontally and `centre + (i - R // 2) * stride` vertically (pysot's anchor / point grids).

Random sampling (pysot: at most `pos_num` positives and `total_num - pos_num` negatives, or `neg_num` near the
target for negative pairs) keeps, within each eligible set, the members with the smallest uniform numbers
`u [..., grid]` (ties to the lower index): a uniform random subset. The jnp functions draw
`u = jax.random.uniform(key, gt_box.shape[:-1] + config.grid_shape)`; the `*_np` host twins take `u` (for example
`rng.random(...)`) and return the same targets for the same `u`: labels, weights and ltrb bit-identical, anchor
deltas to float32 rounding (XLA's division and log differ from numpy's in the last bit).
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack import anchors, boxes


@dataclasses.dataclass(frozen=True)
class AnchorConfig:
    """SiamRPN / SiamRPN++ anchors and sampling; defaults are pysot's (`ANCHOR.*`, `TRAIN.*`).

    Anchor k (ratio r = h / w, scale s): `ws = int(sqrt(stride^2 / r))`, `hs = int(ws * r)`, size
    `(ws * s, hs * s)`; positives IoU > `thr_high`, negatives IoU < `thr_low`; negative pairs: negatives only in
    the (2 * `neg_window` + 1)^2 cells around the target's nearest cell, `floor(offset / stride + 0.5)` (pysot
    writes `ceil(offset / stride + 0.5)`, one cell right / down of the nearest for most offsets).
    """

    stride: int = 8
    ratios: tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    scales: tuple[float, ...] = (8.0,)
    output_size: int = 25
    search_size: int = 255
    thr_high: float = 0.6
    thr_low: float = 0.3
    pos_num: int = 16
    total_num: int = 64
    neg_num: int = 16
    neg_window: int = 3

    def __post_init__(self):
        _check_sampling("AnchorConfig", self.pos_num, self.total_num, self.neg_num)
        if not 0.0 <= self.thr_low <= self.thr_high <= 1.0:
            raise ValueError(f"AnchorConfig needs 0 <= thr_low <= thr_high <= 1, got {self.thr_low}, {self.thr_high}")

    @property
    def num_anchors(self) -> int:
        return len(self.ratios) * len(self.scales)

    @property
    def grid_shape(self) -> tuple[int, int, int]:
        return (self.output_size, self.output_size, self.num_anchors)


@dataclasses.dataclass(frozen=True)
class PointConfig:
    """SiamBAN points and sampling; defaults are hqucv/siamban's (`POINT.STRIDE`, `TRAIN.*`).

    Positives: points inside the ellipse with semi-axes (w/4, h/4) around the target centre; negatives: outside
    the ellipse (w/2, h/2); between: ignored. Negative pairs: negatives only inside the (w/4, h/4) ellipse.
    """

    stride: int = 8
    output_size: int = 25
    search_size: int = 255
    pos_num: int = 16
    total_num: int = 64
    neg_num: int = 16

    def __post_init__(self):
        _check_sampling("PointConfig", self.pos_num, self.total_num, self.neg_num)

    @property
    def grid_shape(self) -> tuple[int, int]:
        return (self.output_size, self.output_size)


class AnchorTargets(NamedTuple):
    cls: jax.Array  # [..., H, W, K] int32
    delta: jax.Array  # [..., H, W, K, 4] float32: (tcx - cx) / w, (tcy - cy) / h, log(tw / w), log(th / h)
    delta_weight: jax.Array  # [..., H, W, K] float32: 1 / num_pos on the sampled positives, else 0


class PointTargets(NamedTuple):
    cls: jax.Array  # [..., H, W] int32
    ltrb: jax.Array  # [..., H, W, 4] float32: distances point -> left, top, right, bottom box sides (pixels)


def _check_sampling(name: str, pos_num: int, total_num: int, neg_num: int) -> None:
    if not (0 <= pos_num <= total_num and neg_num >= 0):
        raise ValueError(f"{name} needs 0 <= pos_num <= total_num and neg_num >= 0, "
                         f"got pos_num={pos_num}, total_num={total_num}, neg_num={neg_num}")


def _check_inputs(gt_box, negative, u, grid_shape) -> None:
    if gt_box.shape[-1:] != (4,):
        raise ValueError(f"gt_box: expected shape [..., 4], got {tuple(gt_box.shape)}")
    if tuple(negative.shape) != tuple(gt_box.shape[:-1]):
        raise ValueError(f"negative: expected shape {tuple(gt_box.shape[:-1])} (gt_box's batch dims), "
                         f"got {tuple(negative.shape)}")
    if u is not None and tuple(u.shape) != tuple(gt_box.shape[:-1]) + tuple(grid_shape):
        raise ValueError(f"u: expected shape {tuple(gt_box.shape[:-1]) + tuple(grid_shape)}, got {tuple(u.shape)}")


def _cols(a, grid_ndim: int):
    """The last-axis columns of `a` [..., n], each with `grid_ndim` trailing unit axes (to broadcast on a grid)."""
    return tuple(a[(..., i) + (None,) * grid_ndim] for i in range(a.shape[-1]))


def _smallest(xp, mask, u, keep, max_keep: int):
    """[M, N] mask of the `keep` [M] (<= `max_keep`) members of `mask` [M, N] with the smallest `u` [M, N]; ties go
    to the lower index (`lax.top_k` in jax, a stable argsort in numpy: the same choice)."""
    k = min(max_keep, mask.shape[-1])
    score = xp.where(mask, u, 2.0)
    if xp is np:
        idx = np.argsort(score, axis=-1, kind="stable")[:, :k]
    else:
        idx = jax.lax.top_k(-score, k)[1]
    take = xp.take_along_axis(mask, idx, -1) & (xp.arange(k) < keep[:, None])
    if xp is np:
        out = np.zeros(mask.shape, bool)
        np.put_along_axis(out, idx, take, -1)
        return out
    return jnp.zeros(mask.shape, bool).at[jnp.arange(mask.shape[0])[:, None], idx].set(take)


def _sample(xp, pos, neg, u, negative, config, grid_ndim: int):
    """Keeps at most `config.pos_num` of `pos` and `config.total_num - pos_num` of `neg` (`neg_num` for negative
    pairs), the members with the smallest `u`; masks and `u` [..., *grid], `negative` [...].
    Returns (pos_kept, neg_kept, num_pos [...])."""
    shape, batch = pos.shape, pos.shape[: pos.ndim - grid_ndim]
    pos, neg, u = (a.reshape((math.prod(batch), -1)) for a in (pos, neg, u))
    neg_keep = xp.where(negative, config.neg_num, config.total_num - config.pos_num).reshape(-1)
    pos = _smallest(xp, pos, u, xp.full(pos.shape[:1], config.pos_num), config.pos_num)
    neg = _smallest(xp, neg, u, neg_keep, max(config.neg_num, config.total_num - config.pos_num))
    return pos.reshape(shape), neg.reshape(shape), pos.sum(-1).reshape(batch)


def _anchor_targets(xp, gt_box, negative, u, config: AnchorConfig) -> AnchorTargets:
    anc = anchors.anchor_boxes(config.stride, config.ratios, config.scales, config.output_size, config.search_size)
    iou = boxes.iou(xp.asarray(anc), gt_box[..., None, None, None, :])
    anc = xp.asarray(boxes.xywh_to_cxcywh(anc))
    tc = boxes.xywh_to_cxcywh(gt_box)
    t = tc[..., None, None, None, :]
    neg_pair = negative[..., None, None, None]
    cell = xp.floor((tc[..., :2] - (config.search_size - 1) / 2) / config.stride + 0.5) + config.output_size // 2
    idx = xp.arange(config.output_size)
    near_x = xp.abs(idx - cell[..., 0:1]) <= config.neg_window
    near_y = xp.abs(idx - cell[..., 1:2]) <= config.neg_window
    near = near_y[..., :, None, None] & near_x[..., None, :, None] & xp.ones(config.grid_shape, bool)
    pos, neg, num_pos = _sample(
        xp, ~neg_pair & (iou > config.thr_high), xp.where(neg_pair, near, iou < config.thr_low), u, negative, config, 3)
    t_wh = xp.maximum(t[..., 2:], 1e-6)
    delta = xp.concatenate([(t[..., :2] - anc[..., :2]) / anc[..., 2:], xp.log(t_wh / anc[..., 2:])], -1)
    weight = 1 / (num_pos.astype(xp.float32) + 1e-6)
    return AnchorTargets(
        cls=xp.where(pos, 1, xp.where(neg, 0, -1)).astype(xp.int32),
        delta=xp.where(neg_pair[..., None], 0, delta).astype(xp.float32),
        delta_weight=xp.where(pos, weight[..., None, None, None], 0).astype(xp.float32))


def _point_targets(xp, gt_box, negative, u, config: PointConfig) -> PointTargets:
    px, py = _cols(xp.asarray(anchors.points(config.stride, config.output_size, config.search_size)), 0)
    x1, y1, x2, y2 = _cols(boxes.xywh_to_xyxy(gt_box), 2)
    tcx, tcy, tw, th = _cols(boxes.xywh_to_cxcywh(gt_box), 2)
    inner = ((tcx - px) / (tw / 4)) ** 2 + ((tcy - py) / (th / 4)) ** 2 < 1
    outer = ((tcx - px) / (tw / 2)) ** 2 + ((tcy - py) / (th / 2)) ** 2 > 1
    neg_pair = negative[..., None, None]
    pos, neg, _ = _sample(xp, ~neg_pair & inner, xp.where(neg_pair, inner, outer), u, negative, config, 2)
    ltrb = xp.stack([px - x1, py - y1, x2 - px, y2 - py], -1)
    return PointTargets(cls=xp.where(pos, 1, xp.where(neg, 0, -1)).astype(xp.int32),
                        ltrb=xp.where(neg_pair[..., None], 0, ltrb).astype(xp.float32))


def anchor_targets(gt_box, negative, key, config: AnchorConfig = AnchorConfig()) -> AnchorTargets:
    """SiamRPN(++) anchor targets (pysot `AnchorTarget`), jnp: gt_box [..., 4], negative [...], a PRNG key.

    Positive pairs: IoU(anchor, gt) > thr_high positive, < thr_low negative, at most pos_num positives and
    total_num - pos_num negatives, deltas for every anchor (target sides clamped at 1e-6 px, so always finite),
    delta_weight 1 / num_pos on the kept positives. Negative pairs: at most neg_num negatives among the anchors
    near the target, the rest ignored, deltas 0.
    """
    gt_box, negative = jnp.asarray(gt_box, jnp.float32), jnp.asarray(negative, bool)
    _check_inputs(gt_box, negative, None, config.grid_shape)
    u = jax.random.uniform(key, gt_box.shape[:-1] + config.grid_shape)
    return _anchor_targets(jnp, gt_box, negative, u, config)


def anchor_targets_np(gt_box, negative, u, config: AnchorConfig = AnchorConfig()) -> AnchorTargets:
    """Host (numpy) twin of `anchor_targets`: `u` [..., H, W, K] uniforms in [0, 1) replace the key."""
    gt_box, negative, u = np.asarray(gt_box, np.float32), np.asarray(negative, bool), np.asarray(u, np.float32)
    _check_inputs(gt_box, negative, u, config.grid_shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _anchor_targets(np, gt_box, negative, u, config)


def point_targets(gt_box, negative, key, config: PointConfig = PointConfig()) -> PointTargets:
    """SiamBAN point targets (hqucv/siamban `PointTarget`), jnp: gt_box [..., 4], negative [...], a PRNG key.

    Positive pairs: points in the inner ellipse positive (at most pos_num), outside the outer ellipse negative (at
    most total_num - pos_num); ltrb for every point. Negative pairs: at most neg_num negatives inside the inner
    ellipse, the rest ignored, ltrb 0. Degenerate boxes (w or h 0) give no positives.
    """
    gt_box, negative = jnp.asarray(gt_box, jnp.float32), jnp.asarray(negative, bool)
    _check_inputs(gt_box, negative, None, config.grid_shape)
    u = jax.random.uniform(key, gt_box.shape[:-1] + config.grid_shape)
    return _point_targets(jnp, gt_box, negative, u, config)


def point_targets_np(gt_box, negative, u, config: PointConfig = PointConfig()) -> PointTargets:
    """Host (numpy) twin of `point_targets`: `u` [..., H, W] uniforms in [0, 1) replace the key."""
    gt_box, negative, u = np.asarray(gt_box, np.float32), np.asarray(negative, bool), np.asarray(u, np.float32)
    _check_inputs(gt_box, negative, u, config.grid_shape)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _point_targets(np, gt_box, negative, u, config)


def siamfc_labels(response_size: int = 17, gt_box=None, negative=None, *, total_stride: int = 8,
                  search_size: int = 255, r_pos: float = 16.0, r_neg: float = 0.0) -> jax.Array:
    """SiamFC score labels (siamfc-pytorch `_create_labels`) [..., R, R] int32, R = `response_size`.

    A cell is positive when its block (L1) distance to the target centre is <= `r_pos` search pixels, ignored
    when below `r_neg` (siamfc-pytorch's 0.5 label), else negative; negative pairs are all negative.
    `gt_box` [..., 4] defaults to a target centred in the search crop, `negative` [...] to False.
    """
    centre = (search_size - 1) / 2
    gt_box = jnp.asarray([centre, centre, 0.0, 0.0] if gt_box is None else gt_box, jnp.float32)
    negative = jnp.zeros(gt_box.shape[:-1], bool) if negative is None else jnp.asarray(negative, bool)
    _check_inputs(gt_box, negative, None, ())
    x, y = anchors.grid_xy(response_size, total_stride, search_size)
    tcx, tcy, _, _ = _cols(boxes.xywh_to_cxcywh(gt_box), 2)
    dist = jnp.abs(tcx - x) + jnp.abs(tcy - y)
    cls = jnp.where(dist <= r_pos, 1, jnp.where(dist < r_neg, -1, 0))
    return jnp.where(negative[..., None, None], 0, cls).astype(jnp.int32)
