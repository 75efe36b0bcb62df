"""Anchor and point geometry of the Siamese heads, shared by the training targets and the trackers' decoding.

A head's response of side R (stride s) is centred in the search crop of side S: grid cell (i, j) sits at
`(S - 1) / 2 + (j - R // 2) * s` horizontally and `(S - 1) / 2 + (i - R // 2) * s` vertically (pysot's anchor
and point grids). Anchor k (ratio r = h / w, scale c; K ordered ratio-major, then scale) has the size
`(ws * c, int(ws * r) * c)` with `ws = int(sqrt(s^2 / r))`. RPN heads lay their outputs out anchor-minor:
channel `c * K + k` (`anchor_major` undoes it).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack import boxes


def offsets(size: int, stride: int) -> np.ndarray:
    """[size] float32 cell positions relative to the crop centre: `(arange(size) - size // 2) * stride`."""
    return ((np.arange(size) - size // 2) * stride).astype(np.float32)


def grid_xy(size: int, stride: int, search_size: int) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres in search-crop pixels: x [1, size], y [size, 1] (float32)."""
    pos = ((search_size - 1) / 2 + (np.arange(size) - size // 2) * stride).astype(np.float32)
    return pos[None, :], pos[:, None]


@functools.cache
def anchor_boxes(stride: int, ratios: tuple[float, ...], scales: tuple[float, ...], output_size: int,
                 search_size: int) -> np.ndarray:
    """Anchor boxes `xywh` [R, R, K, 4] float32 (read-only) in search-crop pixels."""
    wh = []
    for r in ratios:
        ws = int(np.sqrt(stride**2 / r))
        wh += [(ws * s, int(ws * r) * s) for s in scales]
    wh = np.asarray(wh, np.float32)
    x, y = grid_xy(output_size, stride, search_size)
    shape = (output_size, output_size, len(wh))
    cx, cy = np.broadcast_to(x[..., None], shape), np.broadcast_to(y[..., None], shape)
    cxcywh = np.stack([cx, cy, np.broadcast_to(wh[:, 0], shape), np.broadcast_to(wh[:, 1], shape)], -1)
    return _read_only(boxes.cxcywh_to_xywh(cxcywh).astype(np.float32))


@functools.cache
def points(stride: int, output_size: int, search_size: int) -> np.ndarray:
    """Point grid [R, R, 2] float32 (read-only), (x, y) in search-crop pixels."""
    x, y = grid_xy(output_size, stride, search_size)
    return _read_only(np.stack(np.broadcast_arrays(x, y), -1))


def anchor_major(x, num_anchors: int) -> jax.Array:
    """pysot channel layout [..., n * K] (channel `c * K + k`, RPN head outputs) -> [..., K, n]."""
    x = jnp.asarray(x)
    if x.shape[-1] % num_anchors:
        raise ValueError(f"x: expected a last axis divisible by num_anchors={num_anchors}, got shape {x.shape}")
    return jnp.moveaxis(x.reshape(*x.shape[:-1], -1, num_anchors), -2, -1)


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a
