"""Box conversions, IoU and crop geometry: the one place for them (numpy and jax.numpy alike).

Canonical box: `[x, y, w, h]` in pixels, 0-based top-left (`xywh`). Other layouts: `xyxy`
(`[x1, y1, x2, y2]`, x2 = x + w) and `cxcywh` (`[cx, cy, w, h]`, centre at x + w/2). Every function
takes `[..., 4]` arrays and works on numpy or jax arrays (the array's own namespace is used).
"""

from __future__ import annotations

import numpy as np


def _xp(a):
    """The array namespace of `a` (jax.numpy for jax arrays and tracers, else numpy)."""
    if type(a).__module__.startswith(("jax", "jaxlib")):
        import jax.numpy as jnp

        return jnp
    return np


def _stack(xp, *cols):
    return xp.stack(cols, axis=-1)


def xywh_to_xyxy(b):
    xp = _xp(b)
    return _stack(xp, b[..., 0], b[..., 1], b[..., 0] + b[..., 2], b[..., 1] + b[..., 3])


def xyxy_to_xywh(b):
    xp = _xp(b)
    return _stack(xp, b[..., 0], b[..., 1], b[..., 2] - b[..., 0], b[..., 3] - b[..., 1])


def xywh_to_cxcywh(b):
    xp = _xp(b)
    return _stack(xp, b[..., 0] + b[..., 2] / 2, b[..., 1] + b[..., 3] / 2, b[..., 2], b[..., 3])


def cxcywh_to_xywh(b):
    xp = _xp(b)
    return _stack(xp, b[..., 0] - b[..., 2] / 2, b[..., 1] - b[..., 3] / 2, b[..., 2], b[..., 3])


def iou(a, b):
    """IoU of `xywh` boxes `[..., 4]` (broadcasting); 0 where the union is empty."""
    xp = _xp(a) if _xp(a) is not np else _xp(b)
    ax1, ay1, ax2, ay2 = (xywh_to_xyxy(a)[..., i] for i in range(4))
    bx1, by1, bx2, by2 = (xywh_to_xyxy(b)[..., i] for i in range(4))
    iw = xp.clip(xp.minimum(ax2, bx2) - xp.maximum(ax1, bx1), 0, None)
    ih = xp.clip(xp.minimum(ay2, by2) - xp.maximum(ay1, by1), 0, None)
    inter = iw * ih
    union = a[..., 2] * a[..., 3] + b[..., 2] * b[..., 3] - inter
    return xp.where(union > 0, inter / xp.where(union > 0, union, 1), 0.0)


def context_size(w, h, context: float = 0.5):
    """pysot / SiamFC template side: `s_z = sqrt((w + p)(h + p))`, `p = context * (w + h)`."""
    xp = _xp(w)
    p = context * (w + h)
    return xp.sqrt((w + p) * (h + p))


def crop_affine(center, side, out_size: int):
    """2x3 affine matrix mapping the square of side `side` centred at `center` (cx, cy) onto
    `[0, out_size)^2` (pixel centres; cv2.warpAffine convention). Works batched over `center [..., 2]`.
    """
    xp = _xp(center)
    scale = out_size / side
    tx = (out_size - 1) / 2 - scale * center[..., 0]
    ty = (out_size - 1) / 2 - scale * center[..., 1]
    zero = xp.zeros_like(tx)
    row0 = _stack(xp, scale + zero, zero, tx)
    row1 = _stack(xp, zero, scale + zero, ty)
    return xp.stack([row0, row1], axis=-2)


def transform_box(box, affine):
    """Maps an `xywh` box [..., 4] through an axis-aligned affine [..., 2, 3] (scale + translation; a negative
    scale mirrors): both corners are mapped and re-ordered."""
    xp = _xp(box)
    x1, y1, x2, y2 = (xywh_to_xyxy(box)[..., i] for i in range(4))
    xa, xb = affine[..., 0, 0] * x1 + affine[..., 0, 2], affine[..., 0, 0] * x2 + affine[..., 0, 2]
    ya, yb = affine[..., 1, 1] * y1 + affine[..., 1, 2], affine[..., 1, 1] * y2 + affine[..., 1, 2]
    return xyxy_to_xywh(_stack(xp, xp.minimum(xa, xb), xp.minimum(ya, yb), xp.maximum(xa, xb), xp.maximum(ya, yb)))


def mask_to_xywh(masks) -> np.ndarray:
    """Tight [..., 4] float32 xywh boxes of boolean masks [..., H, W] (pixel-inclusive: a one-pixel mask is
    1 x 1); NaN where a mask is empty (target absent)."""
    m = np.asarray(masks, bool)
    rows, cols = m.any(-1), m.any(-2)
    empty = ~rows.any(-1)
    h, w = m.shape[-2:]
    y0, x0 = rows.argmax(-1), cols.argmax(-1)
    y1, x1 = h - 1 - rows[..., ::-1].argmax(-1), w - 1 - cols[..., ::-1].argmax(-1)
    out = np.stack([x0, y0, x1 - x0 + 1, y1 - y0 + 1], -1).astype(np.float32)
    out[empty] = np.nan
    return out


def xywh_to_corners(b) -> np.ndarray:
    """[..., 4] xywh -> [..., 4, 2] float32 corners (x, y) clockwise from the top-left: (x, y), (x + w, y),
    (x + w, y + h), (x, y + h) (pysot's polygon of an axis-aligned box)."""
    x, y, w, h = np.moveaxis(np.asarray(b, np.float32), -1, 0)
    return np.stack([np.stack([x, y], -1), np.stack([x + w, y], -1), np.stack([x + w, y + h], -1),
                     np.stack([x, y + h], -1)], -2)


def box_masks(b, image_hw):
    """[B, H, W] float32 masks of boxes `b` [B, 4] xywh (numpy, or jnp inside jit): 1 on the pixels whose centres
    (pixel i at i + 0.5) lie strictly inside the box."""
    x, y, w, h = (b[:, i, None] for i in range(4))
    rows, cols = np.arange(image_hw[0]) + 0.5, np.arange(image_hw[1]) + 0.5
    r = (y < rows) & (rows < y + h)
    c = (x < cols) & (cols < x + w)
    return (r[:, :, None] & c[:, None, :]).astype(np.float32)


def box_mask(b, image_hw) -> np.ndarray:
    """[H, W] uint8 mask of a box [4] xywh (`box_masks` of one box)."""
    return box_masks(np.asarray(b, np.float64).reshape(1, 4), image_hw)[0].astype(np.uint8)


def check_init_box(box, where: str, image_hw=None) -> np.ndarray:
    """The [4] float32 `xywh` box a tracker starts from, validated (every entry point calls this one check):
    4 finite numbers with w, h > 0 and, with `image_hw` (H, W), overlapping the frame [0, W) x [0, H).
    ValueError naming `where`, the rule and the box."""
    try:
        b = np.asarray(box, np.float64).reshape(-1)
    except (TypeError, ValueError):
        b = np.zeros(0)
    shown = ",".join(f"{v:g}" for v in b) if b.size else repr(box)
    if b.shape != (4,) or not np.isfinite(b).all():
        raise ValueError(f"{where}: the initial box must be 4 finite numbers x,y,w,h, got {shown}")
    if b[2] <= 0 or b[3] <= 0:
        raise ValueError(f"{where}: the initial box x,y,w,h={shown} needs w > 0 and h > 0")
    if image_hw is not None:
        h, w = (int(v) for v in image_hw)
        if b[0] >= w or b[1] >= h or b[0] + b[2] <= 0 or b[1] + b[3] <= 0:
            raise ValueError(f"{where}: the initial box x,y,w,h={shown} misses the {w}x{h} (WxH) frame; it must "
                             f"overlap [0, {w}) x [0, {h})")
    return b.astype(np.float32)
