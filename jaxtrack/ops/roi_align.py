"""RoI Align (Mask R-CNN) with the semantics of torchvision's `roi_align`, on NHWC features.

    roi_align(features [B, H, W, C], boxes [B, N, 4], out_size, *, spatial_scale, sampling_ratio, aligned)
        -> [B, N, Ho, Wo, C]          (box n of example b pools from features[b])

Boxes are corners `x1, y1, x2, y2` in input-image pixels, as torchvision's, not jaxtrack's canonical `xywh`:
`jaxtrack.boxes.xywh_to_xyxy` converts. jaxtrack's pixel i covers [i, i + 1), which is what `aligned=True`
assumes (continuous coordinates, pixel centres at i + 0.5); `aligned=False` is the legacy Mask R-CNN rule.
torchvision's `rois[k] = (b, x1, y1, x2, y2)` is `boxes[b, n]` here. The rules, as its CPU kernel
(`torchvision/csrc/ops/cpu/roi_align_kernel.cpp`, `roi_align_common.h`):

- On the map the box is `box * spatial_scale`, minus 0.5 with `aligned`. Without `aligned` its height and
  width are raised to at least 1; with `aligned` a box of size <= 0 has no adaptive samples and pools to 0.
- Bin (i, j) of the Ho x Wo grid averages gh x gw samples at `y = y1 + i * bin_h + (iy + 0.5) * bin_h / gh`
  (x likewise), gh = `sampling_ratio` if > 0, else `ceil(roi_height / Ho)` per box (gw likewise); the sum is
  divided by gh * gw (by 1 where that is 0).
- A sample with y < -1 or y > H (or x outside [-1, W]) is 0. Otherwise y is clamped to [0, H - 1] (y <= 0 reads
  row 0, y >= H - 1 reads row H - 1) and bilinear interpolation weighs the four neighbours.

Gradients: with respect to features, torchvision's backward; with respect to boxes (torchvision has none), the
derivative of the same piecewise-smooth function (clamped coordinates and sample counts are constant pieces).
Any float dtype in; float32 accumulation (float64 for float64 inputs); the result has the features' dtype.

Implementations (`impl=`):
- "reference" (`roi_align_reference`): loops over boxes, bins and samples, one bilinear read at a time. With
  adaptive sampling it runs eagerly only (sample counts become Python ints): `jax.grad` works, `jit` and `vmap`
  need another impl.
- "separable": interpolation weights and the bin average factor into y and x, so
  `out[b, n, i, j] = sum_{h, w} Ay[b, n, i, h] Ax[b, n, j, w] F[b, h, w]`: two small weight tensors, then the
  rows as one matmul with the map and the columns as a fused sum over w. A weight is a sum of tents over the
  bin's samples within 1 of the row; adaptive sample counts differ per box, so each (bin, row) visits a static
  7 sample slots from its first sample at or after row - 1 (the spacing exceeds 1/2 whenever a bin has two
  samples or more, so at most 4 fall within 1 of a row).
- "dense": the same weights as one `[Ho * Wo, H * W]` matrix per box, then one matmul with the map.
- "auto": the fastest measured for the backend (`registry`), else "separable".
"""

from __future__ import annotations

import math

import jax.numpy as jnp
from jax import lax

from jaxtrack.ops.checks import acc_dtype, check_pool_size, check_rois
from jaxtrack.ops.registry import register, resolve


def _check(op, features, boxes, out_size, spatial_scale, sampling_ratio) -> tuple[int, int]:
    check_rois(op, features, boxes)
    if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, (int, float)) or not (
            math.isfinite(spatial_scale) and spatial_scale > 0):
        raise ValueError(f"{op}: spatial_scale must be a finite number > 0 (1 / feature stride), "
                         f"got {spatial_scale!r}")
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, int):
        raise ValueError(f"{op}: sampling_ratio must be an int (<= 0: adaptive), got {sampling_ratio!r}")
    return check_pool_size(op, out_size)


def roi_align(features, boxes, out_size, *, spatial_scale: float = 1.0, sampling_ratio: int = -1,
              aligned: bool = False, impl: str = "auto"):
    """RoI Align: `[B, H, W, C], [B, N, 4] (x1, y1, x2, y2 image pixels) -> [B, N, Ho, Wo, C]`.

    `out_size`: int or (Ho, Wo); `spatial_scale`: feature-map pixels per image pixel (1 / stride);
    `sampling_ratio`: samples per bin along each axis, <= 0 for `ceil(roi_size / out_size)` per box; `aligned`:
    the half-pixel shift (see the module docstring). Defaults are torchvision's.
    """
    ho, wo = _check("roi_align", features, boxes, out_size, spatial_scale, sampling_ratio)
    b, h, _, c = features.shape
    shape = {"b": b, "hz": ho, "hx": h, "c": c, "k": boxes.shape[1], "dtype": str(features.dtype)}
    fn = resolve("roi_align", impl, shape)
    return fn(features, boxes, (ho, wo), float(spatial_scale), sampling_ratio, bool(aligned)).astype(features.dtype)


def roi_align_reference(features, boxes, out_size, *, spatial_scale: float = 1.0, sampling_ratio: int = -1,
                        aligned: bool = False):
    """The loop definition of `roi_align` (same arguments and result); slow on purpose."""
    ho, wo = _check("roi_align_reference", features, boxes, out_size, spatial_scale, sampling_ratio)
    return _reference(features, boxes, (ho, wo), float(spatial_scale), sampling_ratio, bool(aligned))


def _bilinear(fmap, y, x):
    """torchvision's `bilinear_interpolate` at one point of `fmap` [H, W, C] -> [C]."""
    h, w = fmap.shape[:2]
    if not (-1.0 <= y <= h and -1.0 <= x <= w):
        return jnp.zeros(fmap.shape[2:], fmap.dtype)
    if y <= 0:
        y = jnp.zeros_like(y)
    if x <= 0:
        x = jnp.zeros_like(x)
    y_low, x_low = int(y), int(x)
    if y_low >= h - 1:
        y_low = y_high = h - 1
        y = jnp.asarray(y_low, fmap.dtype)
    else:
        y_high = y_low + 1
    if x_low >= w - 1:
        x_low = x_high = w - 1
        x = jnp.asarray(x_low, fmap.dtype)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * fmap[y_low, x_low] + hy * lx * fmap[y_low, x_high]
            + ly * hx * fmap[y_high, x_low] + ly * lx * fmap[y_high, x_high])


@register("roi_align", "reference")
def _reference(features, boxes, out_hw, spatial_scale, sampling_ratio, aligned):
    acc = acc_dtype(features, boxes)
    fmaps, boxes = features.astype(acc), boxes.astype(acc)
    ho, wo = out_hw
    offset = 0.5 if aligned else 0.0
    out = []
    for b in range(fmaps.shape[0]):
        for n in range(boxes.shape[1]):
            x1, y1, x2, y2 = (boxes[b, n, k] * spatial_scale - offset for k in range(4))
            roi_h, roi_w = y2 - y1, x2 - x1
            if not aligned:
                roi_h, roi_w = jnp.maximum(roi_h, 1.0), jnp.maximum(roi_w, 1.0)
            bin_h, bin_w = roi_h / ho, roi_w / wo
            gh = sampling_ratio if sampling_ratio > 0 else int(jnp.ceil(roi_h / ho))
            gw = sampling_ratio if sampling_ratio > 0 else int(jnp.ceil(roi_w / wo))
            count = max(gh * gw, 1)
            for i in range(ho):
                for j in range(wo):
                    total = jnp.zeros(fmaps.shape[3:], acc)
                    for iy in range(gh):
                        y = y1 + i * bin_h + (iy + 0.5) * bin_h / gh
                        for ix in range(gw):
                            x = x1 + j * bin_w + (ix + 0.5) * bin_w / gw
                            total = total + _bilinear(fmaps[b], y, x)
                    out.append(total / count)
    shape = (fmaps.shape[0], boxes.shape[1], ho, wo, fmaps.shape[3])
    return jnp.stack(out).reshape(shape).astype(features.dtype)


# ----------------------------------------------------------------------------------------------------
# Separable forms.

_SLOTS = 7  # adaptive samples that can fall in [h - 1, h + 1]: at most 4 (spacing > 1/2), + rounding slack


def _axis_weights(start, bin_size, grid, n_out: int, size: int, sampling_ratio: int):
    """`[B, N, n_out, size]`: bin-averaged interpolation weights along one axis (rows or columns).

    start, bin_size: the box's first coordinate and bin size on the map; grid: samples per bin (float,
    `ceil(roi_size / n_out)` when adaptive, may be <= 0: no samples); all `[B, N]`. Row h weighs each sample y
    of the bin by the tent `max(0, 1 - |y' - h|)` of its clamped coordinate y' (torchvision's bilinear weights,
    0 outside [-1, size]); only samples with y in [h - 1, h + 1] reach it.
    """
    dt = start.dtype
    base = (start[..., None] + jnp.arange(n_out, dtype=dt) * bin_size[..., None])[..., None, None]  # [B,N,n_out,1,1]
    rows = jnp.arange(size, dtype=dt)[:, None]  # [size, 1]
    bin_size, grid = bin_size[..., None, None, None], grid[..., None, None, None]
    if sampling_ratio <= 0:  # per-box counts: the first sample at or after h - 1 (one earlier, for rounding) on
        spacing = jnp.where(grid >= 1, bin_size / jnp.maximum(grid, 1), 1.0)
        first = jnp.floor((rows - 1.0 - base) / spacing - 0.5) - 1
        first = lax.stop_gradient(jnp.clip(first, 0, jnp.maximum(grid - 1, 0)))
        index = first + jnp.arange(_SLOTS, dtype=dt)  # [B, N, n_out, size, _SLOTS]
    else:
        index = jnp.arange(sampling_ratio, dtype=dt)  # every sample, broadcast over rows
    y = base + (index + 0.5) * bin_size / jnp.maximum(grid, 1)
    used = (index < grid) & (y >= -1.0) & (y <= size)
    y = jnp.where(used, y, 0.0)
    y = jnp.where(y <= 0, 0.0, jnp.where(y >= size - 1, size - 1.0, y))
    tent = jnp.maximum(0.0, 1.0 - jnp.abs(y - rows)) * used
    return tent.sum(axis=-1) / jnp.maximum(grid[..., 0], 1)


def _weights(features, boxes, out_hw, spatial_scale, sampling_ratio, aligned):
    """(Ay [B, N, Ho, H], Ax [B, N, Wo, W], features in the accumulation dtype)."""
    acc = acc_dtype(features, boxes)
    _, h, w, _ = features.shape
    ho, wo = out_hw
    x1, y1, x2, y2 = jnp.moveaxis(boxes.astype(acc) * spatial_scale - (0.5 if aligned else 0.0), -1, 0)
    roi_h, roi_w = y2 - y1, x2 - x1
    if not aligned:
        roi_h, roi_w = jnp.maximum(roi_h, 1.0), jnp.maximum(roi_w, 1.0)
    axes = []
    for start, roi, n_out, size in ((y1, roi_h, ho, h), (x1, roi_w, wo, w)):
        grid = lax.stop_gradient(jnp.ceil(roi / n_out)) if sampling_ratio <= 0 else jnp.full_like(roi, sampling_ratio)
        axes.append(_axis_weights(start, roi / n_out, grid, n_out, size, sampling_ratio))
    return axes[0], axes[1], features.astype(acc)


@register("roi_align", "separable")
def _separable(features, boxes, out_hw, spatial_scale, sampling_ratio, aligned):
    ay, ax, f = _weights(features, boxes, out_hw, spatial_scale, sampling_ratio, aligned)
    rows = jnp.einsum("bnih,bhwc->bniwc", ay, f, precision=lax.Precision.HIGHEST)  # one matmul per example
    out = 0.0
    for w in range(rows.shape[3]):  # columns as a sum over w: XLA:CPU's per-box batched matmul is 20x slower
        out = out + ax[:, :, None, :, w, None] * rows[:, :, :, None, w, :]
    return out


@register("roi_align", "dense")
def _dense(features, boxes, out_hw, spatial_scale, sampling_ratio, aligned):
    ay, ax, f = _weights(features, boxes, out_hw, spatial_scale, sampling_ratio, aligned)
    a = jnp.einsum("bnih,bnjw->bnijhw", ay, ax, precision=lax.Precision.HIGHEST)
    return jnp.einsum("bnijhw,bhwc->bnijc", a, f, precision=lax.Precision.HIGHEST)
