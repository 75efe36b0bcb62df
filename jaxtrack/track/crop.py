"""pysot's context crop (`SiameseTracker.get_subwindow`, STVIR/pysot `tracker/base_tracker.py`) as a jit-able warp.

pysot takes the integer window of side `sz = original_sz` whose top-left is
`xmin = floor(cx - (sz + 1) / 2 + 0.5)` (likewise y), pads the frame with the per-channel mean colour (stored in a
uint8 image, so the mean is truncated) where the window leaves the frame, and resizes the `sz x sz` patch to
`out_size` with cv2's INTER_LINEAR: output pixel j samples patch coordinate `(j + 0.5) * sz / out_size - 0.5`,
clamped to [0, sz - 1]. Here every output pixel is gathered from the frame directly (4 taps, mean colour outside
the frame), so the crop is one fused jnp gather: no padded copy, no host round trip, and `center`, `sz` and the
frame's valid size may be traced. It differs from cv2 only by cv2's 11-bit fixed-point weights (<= 1 grey level).

Centres follow pysot: `cx = x + (w - 1) / 2` for a 0-based `xywh` box.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def window_origin(center, sz):
    """pysot's integer window top-left (x, y): `floor(center - (sz + 1) / 2 + 0.5)`; center [..., 2], sz [...]."""
    return jnp.floor(center - (sz[..., None] + 1) / 2 + 0.5)


def _taps(origin, sz, out_size: int):
    """1-D bilinear taps of one axis: (i0, i1, w1) [out_size] frame indices and the weight of i1 (cv2 INTER_LINEAR
    on the `sz` patch starting at `origin`, with cv2's border clamp inside the patch)."""
    u = (jnp.arange(out_size, dtype=jnp.float32) + 0.5) * (sz / out_size) - 0.5
    u = jnp.clip(u, 0.0, sz - 1.0)
    u0 = jnp.floor(u)
    i0 = origin + u0
    i1 = origin + jnp.minimum(u0 + 1, sz - 1.0)
    return i0.astype(jnp.int32), i1.astype(jnp.int32), u - u0


def crop(frame, center, sz, out_size: int, avg, image_hw=None):
    """One context crop. frame [H, W, 3] (any real dtype), center [2] (cx, cy) pysot centre, sz [] window side in
    frame pixels (pysot's `original_sz`; rounded to an integer here as pysot's callers do with `round`),
    avg [3] the padding colour (truncated as pysot's uint8 padding), image_hw [2] the frame's valid size (rows
    and columns beyond it count as outside; default the array's size, for frames padded to a common shape).
    Returns [out_size, out_size, 3] float32."""
    if frame.ndim != 3 or frame.shape[-1] != 3:
        raise ValueError(f"frame must be [H, W, 3], got shape {frame.shape}")
    frame = jnp.asarray(frame)
    sz = jnp.maximum(jnp.round(jnp.asarray(sz, jnp.float32)), 1.0)
    center = jnp.asarray(center, jnp.float32)
    hw = jnp.asarray(frame.shape[:2] if image_hw is None else image_hw, jnp.int32)
    x0, y0 = window_origin(center, sz)
    xi0, xi1, wx = _taps(x0, sz, out_size)
    yi0, yi1, wy = _taps(y0, sz, out_size)
    fill = jnp.floor(jnp.asarray(avg, jnp.float32))

    def sample(yi, xi):  # [out, out, 3]: frame pixels, `fill` outside the valid frame
        inside = ((yi >= 0) & (yi < hw[0]))[:, None] & ((xi >= 0) & (xi < hw[1]))[None, :]
        pix = frame[jnp.clip(yi, 0, frame.shape[0] - 1)[:, None], jnp.clip(xi, 0, frame.shape[1] - 1)[None, :]]
        return jnp.where(inside[..., None], pix.astype(jnp.float32), fill)

    wx, wy = wx[None, :, None], wy[:, None, None]
    top = sample(yi0, xi0) * (1 - wx) + sample(yi0, xi1) * wx
    bottom = sample(yi1, xi0) * (1 - wx) + sample(yi1, xi1) * wx
    return top * (1 - wy) + bottom * wy


def crops(frame, center, sizes, out_size: int, avg, image_hw=None):
    """Several crops of one frame around one centre (SiamFC's scale pyramid): sizes [S] -> [S, out, out, 3]."""
    return jax.vmap(lambda s: crop(frame, center, s, out_size, avg, image_hw))(jnp.asarray(sizes, jnp.float32))
