"""torchvision's RoI Align CPU kernel (`torchvision/csrc/ops/cpu/roi_align_kernel.cpp`, `roi_align_common.h`)
restated in torch, loop for loop, for `tests/test_ops_roi_align.py`. torchvision itself cannot be installed beside
the CPU build of torch 2.13 here (its wheel's C++ operators do not load: "operator torchvision::nms does not
exist"), so this takes the place of `torchvision.ops.roi_align` and of its `_roi_align_backward`.

    forward(input [B, C, H, W], rois [K, 5] (b, x1, y1, x2, y2), spatial_scale, ph, pw, sampling_ratio, aligned)
        -> [K, C, ph, pw]
    backward(grad [K, C, ph, pw], rois, spatial_scale, ph, pw, (B, C, H, W), sampling_ratio, aligned)
        -> d(sum(grad * forward)) / d(input)   [B, C, H, W]

Scalar geometry runs in Python floats (double, as the kernel's T = double); the channel axis is a torch vector.
"""

from __future__ import annotations

import math

import torch


def _roi_geometry(roi, spatial_scale, ph, pw, sampling_ratio, aligned):
    """(batch index, start_h, start_w, bin_h, bin_w, grid_h, grid_w, count) of one roi row."""
    offset = 0.5 if aligned else 0.0
    b = int(roi[0])
    start_w, start_h, end_w, end_h = (float(v) * spatial_scale - offset for v in roi[1:5])
    roi_w, roi_h = end_w - start_w, end_h - start_h
    if not aligned:  # malformed rois are forced to 1x1
        roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
    bin_h, bin_w = roi_h / ph, roi_w / pw
    grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / ph)
    grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pw)
    return b, start_h, start_w, bin_h, bin_w, grid_h, grid_w, max(grid_h * grid_w, 1)


def _interp(height, width, y, x):
    """The kernel's per-sample bilinear step: ((pos_y, pos_x, weight) x 4), or () outside [-1, H] x [-1, W]."""
    if not (-1.0 <= y <= height and -1.0 <= x <= width):
        return ()
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= height - 1:
        y_high = y_low = height - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= width - 1:
        x_high = x_low = width - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    return ((y_low, x_low, hy * hx), (y_low, x_high, hy * lx), (y_high, x_low, ly * hx), (y_high, x_high, ly * lx))


def _samples(height, width, geometry, i, j):
    """Every (pos_y, pos_x, weight) that bin (i, j) reads, before the division by count."""
    _, start_h, start_w, bin_h, bin_w, grid_h, grid_w, _ = geometry
    for iy in range(grid_h):
        y = start_h + i * bin_h + (iy + 0.5) * bin_h / grid_h
        for ix in range(grid_w):
            x = start_w + j * bin_w + (ix + 0.5) * bin_w / grid_w
            yield from _interp(height, width, y, x)


def forward(input, rois, spatial_scale, ph, pw, sampling_ratio, aligned):
    _, channels, height, width = input.shape
    out = torch.zeros((rois.shape[0], channels, ph, pw), dtype=input.dtype)
    for k in range(rois.shape[0]):
        geometry = _roi_geometry(rois[k].tolist(), spatial_scale, ph, pw, sampling_ratio, aligned)
        b, count = geometry[0], geometry[-1]
        for i in range(ph):
            for j in range(pw):
                for y, x, w in _samples(height, width, geometry, i, j):
                    out[k, :, i, j] += w * input[b, :, y, x]
                out[k, :, i, j] /= count
    return out


def backward(grad, rois, spatial_scale, ph, pw, input_shape, sampling_ratio, aligned):
    _, _, height, width = input_shape
    grad_input = torch.zeros(input_shape, dtype=grad.dtype)
    for k in range(rois.shape[0]):
        geometry = _roi_geometry(rois[k].tolist(), spatial_scale, ph, pw, sampling_ratio, aligned)
        b, count = geometry[0], geometry[-1]
        for i in range(ph):
            for j in range(pw):
                for y, x, w in _samples(height, width, geometry, i, j):
                    grad_input[b, :, y, x] += grad[k, :, i, j] * w / count
    return grad_input
