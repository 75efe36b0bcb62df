"""SiamMask's training task: SiamRPN++'s anchor targets and losses plus the mask loss (foolwood/SiamMask
`select_mask_logistic_loss`; pysot's model builder leaves it a TODO).

Positive windows: grid cells with at least one positive anchor, in pairs that carry a mask (batch key `search_mask`
[B, Hx, Wx], 1 = target pixel, aligned with `search`; absent key: no mask term, as foolwood's datasets without
masks) and are not negative pairs. Each window's label is the exemplar-sized (E = template side: 127 / 63) square
of the search mask at top-left `(X - E) / 2 + stride * ((i, j) - R // 2)` (outside the crop: background), as +1 /
-1. Its prediction is the model's window mask (`models.siammask.SiamMask.window_masks`: refined [E, E], or the
head's [m, m] upsampled bilinearly with aligned corners to [E, E] as foolwood's `UpsamplingBilinear2d`). The loss
is torch's `soft_margin_loss`, the mean of `log(1 + exp(-y * x))` over the positive windows' pixels (0 without any).
Total: `cls * CE + loc * L1 + mask * mask_loss` with the family's weights (pysot TRAIN.CLS_WEIGHT 1.0,
LOC_WEIGHT 1.2, MASK_WEIGHT 1).

At most `pos_num` cells are positive per pair (one positive anchor each at worst), so the refine runs on a fixed
`pos_num` windows per pair, the unused ones masked out.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from jaxtrack.train import losses, targets
from jaxtrack.train.tasks import AnchorTask


def window_origin(output_size: int, search_size: int, exemplar: int, stride: int) -> int:
    """Search-crop coordinate of window 0's top-left (the same for rows and columns): `(X - E) / 2 - stride * (R //
    2)` (-32 at 25 / 255 / 127, -8 at 11 / 127 / 63)."""
    twice = search_size - exemplar - 2 * stride * (output_size // 2)
    if twice % 2:
        raise ValueError(f"mask windows: search {search_size} - exemplar {exemplar} must be even")
    return twice // 2


def window_labels(search_mask, pos, exemplar: int, origin: int, stride: int):
    """search_mask [B, X, X] (1 = target), pos [B, N, 2] (row, col) -> [B, N, E, E] float32 +1 / -1 labels."""
    pad = max(0, -origin)
    padded = jnp.pad(jnp.asarray(search_mask) > 0, ((0, 0), (pad, pad + exemplar), (pad, pad + exemplar)))

    def cut(img, p):
        top = origin + pad + p * stride
        return jax.lax.dynamic_slice(img, (top[0], top[1]), (exemplar, exemplar))

    labels = jax.vmap(jax.vmap(cut, (None, 0)))(padded, pos)
    return jnp.where(labels, 1.0, -1.0)


def upsample_aligned(x, size: int):
    """[..., m, m] -> [..., size, size] bilinear with aligned corners (torch `UpsamplingBilinear2d`)."""
    m = x.shape[-1]
    if m == size:
        return x
    u = jnp.arange(size, dtype=jnp.float32) * ((m - 1) / (size - 1))
    i0 = jnp.clip(jnp.floor(u).astype(jnp.int32), 0, m - 1)
    i1 = jnp.minimum(i0 + 1, m - 1)
    w = u - i0
    rows = x[..., i0, :] * (1 - w)[:, None] + x[..., i1, :] * w[:, None]
    return rows[..., i0] * (1 - w) + rows[..., i1] * w


def positive_windows(cls, has_mask, n: int):
    """cls [B, R, R, K] anchor labels, has_mask [B] -> (pos [B, n, 2] int32 cells, valid [B, n] bool): the cells with
    a positive anchor (row-major first), padded with cell (0, 0) marked invalid."""
    b, r = cls.shape[0], cls.shape[1]
    positive = (cls == 1).any(-1).reshape(b, r * r) & has_mask[:, None]
    order = jnp.argsort(~positive, axis=1, stable=True)[:, :n]
    valid = jnp.take_along_axis(positive, order, axis=1)
    order = jnp.where(valid, order, 0)
    return jnp.stack([order // r, order % r], -1).astype(jnp.int32), valid


def mask_loss(logits, labels, valid):
    """Soft-margin loss of window logits [B, N, E, E] vs +1 / -1 labels over `valid` [B, N] windows (0 if none),
    and the windows' mean IoU of `logits > 0` vs the labels (foolwood's `iou_measure`)."""
    per_pixel = jax.nn.softplus(-labels * logits)
    weight = valid[..., None, None].astype(jnp.float32)
    count = jnp.maximum(valid.sum(), 1) * logits.shape[-1] * logits.shape[-2]
    loss = (jnp.where(weight > 0, per_pixel, 0.0)).sum() / count
    pred, gt = logits > 0, labels > 0
    iou = (pred & gt).sum((-1, -2)) / jnp.maximum((pred | gt).sum((-1, -2)), 1)
    return loss, jnp.where(valid, iou, 0).sum() / jnp.maximum(valid.sum(), 1)


class MaskTask(AnchorTask):
    """SiamMask (-ACM): AnchorTask's targets and losses on out["cls"] / out["loc"], plus the mask loss (module doc).
    The windows are picked from the targets after the forward pass; the refine (or the head's mask pick) runs on
    them in a second call on the pass's search features (`SiamMask.window_masks`)."""

    def loss_fn(self, params, batch_stats, batch, key):
        variables = {"params": params, "batch_stats": batch_stats}
        out, updates = self.model.apply(variables, *self.inputs(batch), train=True, mutable=["batch_stats"])
        loss, metrics = self.with_reg(*self._loss(variables, out, batch, key), variables, batch)
        return loss, (metrics, updates.get("batch_stats", {}))

    def eval_fn(self, params, batch_stats, batch) -> dict:
        variables = {"params": params, "batch_stats": batch_stats}
        out = self.model.apply(variables, *self.inputs(batch))
        loss, metrics = self.with_reg(*self._loss(variables, out, batch, jax.random.key(0)), variables, batch)
        return {"loss": loss, **metrics}

    def _loss(self, variables, out, batch, key):
        config = targets.AnchorConfig(output_size=out["cls"].shape[1], search_size=batch["search"].shape[1],
                                      **self.options)
        t = targets.anchor_targets(batch["search_box"], batch["negative"], key, config)
        has_mask = jnp.full(batch["search"].shape[:1], "search_mask" in batch) & ~jnp.asarray(batch["negative"], bool)
        pos, valid = positive_windows(t.cls, has_mask, config.pos_num)
        logits = self.model.apply(variables, out, pos, method="window_masks")
        rpn, metrics = losses.siamrpn_loss(out["cls"], out["loc"], t, self.weights)
        e = batch["template"].shape[1]
        origin = window_origin(config.output_size, config.search_size, e, config.stride)
        masks = batch.get("search_mask", jnp.zeros(batch["search"].shape[:3], jnp.uint8))
        labels = window_labels(masks, pos, e, origin, config.stride)
        m_loss, iou = mask_loss(upsample_aligned(logits.astype(jnp.float32), e), labels, valid)
        return rpn + self.weights.mask * m_loss, {**metrics, "mask_loss": m_loss, "mask_iou": iou,
                                                   "num_pos": jnp.mean(jnp.sum(t.cls == 1, axis=(1, 2, 3))),
                                                   "mask_windows": valid.sum() / valid.shape[0]}
