"""The SiamMask tracker (STVIR/pysot `tracker/siammask_tracker.py`): SiamRPN++'s box plus the best window's mask.

Per frame, one jitted call (`mask_step`) runs pysot's SiamRPN++ step (`track.siamese`: crop, anchor decoding,
penalties, cosine window, size smoothing, clipping) on a `models.siammask.SiamMask`, and also returns the mask of
the window under the penalised best anchor: its cell (row, col) of the R x R grid, the refined S x S logits (or the
head's mask_size^2 map without the refine module) through a sigmoid. On the host, as pysot:
- the window's square (exemplar-sized in the search crop, top-left `origin + stride * (col, row)` crop pixels with
  `origin = ((X - E) - stride * (R - 1)) / 2`, pysot's `(delta - BASE_SIZE / 2) * stride`) is mapped back into the
  frame by `_crop_back`'s affine warp (cv2.warpAffine, bilinear, 0 outside), thresholded at MASK_THRESHOLD (0.15);
- the rotated box is cv2.minAreaRect of the largest external contour when its area exceeds MIN_CONTOUR_AREA (100
  px), else the axis-aligned box's corners, as a [4, 2] polygon (cv2.boxPoints order).

    tracker = MaskTracker("siammask", model, rpn_config, variables)
    tracker.init(frame, box); box, score = tracker.track(frame)
    tracker.last_mask     # [H, W] uint8, 1 = target (pysot's `mask > MASK_THERSHOLD`)
    tracker.last_polygon  # [4, 2] float32 (x, y) corners of the rotated box
"""

from __future__ import annotations

import functools

import cv2
import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack import boxes
from jaxtrack.models.preprocess import normalize
from jaxtrack.track import crop as crop_lib
from jaxtrack.track import siamese

MASK_THRESHOLD = 0.15  # pysot cfg.TRACK.MASK_THERSHOLD
MIN_CONTOUR_AREA = 100.0  # pysot `_mask_post_processing`: smaller largest contours fall back to the box


def mask_step(model, config: siamese.RPNConfig, variables, state, frame):
    """One frame -> (state, box [4] xywh, score [], window mask [S, S] probabilities, window [2] (x, y) top-left of
    the mask's window in search-crop pixels, s_x [] the crop's side in frame pixels (rounded, as the crop), crop
    centre [2] (the previous centre)). See the module doc."""
    size = state["size"]
    s_z = boxes.context_size(size[0], size[1], config.context)
    scale_z = config.exemplar_size / s_z
    s_x = jnp.round(s_z * config.instance_size / config.exemplar_size)
    x = crop_lib.crop(frame, state["center"], s_x, config.instance_size, state["avg"], state["image_hw"])
    out = model.apply(variables, normalize(x[None], config.normalize), state["template"], method="track")
    score, pred = siamese.rpn_decode(config, out, config.instance_size)
    offset, new_size, best_score, best = siamese.pysot_select(config, score, pred, size, scale_z)
    cell = jnp.stack(jnp.unravel_index(best, score.shape)[1:]).astype(jnp.int32)  # (row, col) of the best anchor
    logits = model.apply(variables, out, cell[None, None], method="window_masks")[0, 0]
    grid = score.shape[1]
    origin = ((config.instance_size - config.exemplar_size) - config.stride * (grid - 1)) / 2
    window = origin + config.stride * cell[::-1].astype(jnp.float32)
    hw = state["image_hw"].astype(jnp.float32)
    center = jnp.clip(state["center"] + offset, 0.0, hw[::-1])  # pysot `_bbox_clip`
    new_size = jnp.clip(new_size, 10.0, hw[::-1])
    box = jnp.concatenate([center - new_size / 2, new_size])
    new_state = {**state, "center": center, "size": new_size}
    return new_state, box, best_score, jax.nn.sigmoid(logits.astype(jnp.float32)), window, s_x, state["center"]


def paste_mask(window_mask: np.ndarray, window, crop_center, s_x: float, config: siamese.RPNConfig,
               frame_hw) -> np.ndarray:
    """pysot's `_crop_back`: the window's [S, S] probabilities (window top-left (x, y) in crop pixels, crop of side
    `s_x` around `crop_center`) -> [H, W] float32 frame probabilities (0 outside)."""
    out_size = window_mask.shape[0]
    s = float(s_x) / config.instance_size
    sub = (crop_center[0] - s_x / 2 + window[0] * s, crop_center[1] - s_x / 2 + window[1] * s,
           s * config.exemplar_size)
    k = out_size / sub[2]
    im_h, im_w = int(frame_hw[0]), int(frame_hw[1])
    back = (-sub[0] * k, -sub[1] * k, im_w * k, im_h * k)
    a, b = (im_w - 1) / back[2], (im_h - 1) / back[3]
    mapping = np.array([[a, 0, -a * back[0]], [0, b, -b * back[1]]], np.float64)
    return cv2.warpAffine(np.asarray(window_mask, np.float32), mapping, (im_w, im_h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=0)


def rotated_box(mask: np.ndarray, box) -> np.ndarray:
    """[4, 2] float32 corners: cv2.minAreaRect of the largest external contour of the binary `mask` [H, W] when its
    area exceeds MIN_CONTOUR_AREA, else the corners of `box` [4] xywh (clockwise from top-left)."""
    contours, _ = cv2.findContours(np.asarray(mask, np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    areas = [cv2.contourArea(c) for c in contours]
    if contours and max(areas) > MIN_CONTOUR_AREA:
        return cv2.boxPoints(cv2.minAreaRect(contours[int(np.argmax(areas))].reshape(-1, 2))).astype(np.float32)
    return boxes.xywh_to_corners(box)


class MaskTracker:
    """A SiamMask model behind the benchmark interface (`init(frame, box)`, `track(frame) -> (box, score)`, as
    `siamese.Tracker`), with the frame's mask and rotated box of the last `track` in `last_mask` [H, W] uint8 (1 =
    target) and `last_polygon` [4, 2] float32 (None after `init`). `config`: the family's `siamese.RPNConfig`."""

    def __init__(self, name: str, model, config: siamese.RPNConfig, variables):
        if type(config) is not siamese.RPNConfig:
            raise TypeError(f"MaskTracker: config must be an RPNConfig, got {type(config).__name__}")
        self.name, self.model, self.config, self.variables = name, model, config, variables
        self._init = jax.jit(functools.partial(siamese.init_state, model, config))
        self._step = jax.jit(functools.partial(mask_step, model, config))
        self.state = self.last_mask = self.last_polygon = None

    def init(self, frame, box) -> None:
        self.state = self._init(self.variables, jnp.asarray(frame), jnp.asarray(box, jnp.float32))
        self.last_mask = self.last_polygon = None

    def track(self, frame) -> tuple[np.ndarray, float]:
        if self.state is None:
            raise RuntimeError(f"tracker {self.name!r}: track() called before init()")
        frame = jnp.asarray(frame)
        self.state, box, score, mask, window, s_x, centre = self._step(self.variables, self.state, frame)
        box = np.asarray(box)
        probs = paste_mask(np.asarray(mask), np.asarray(window, np.float64), np.asarray(centre, np.float64),
                           float(s_x), self.config, frame.shape[:2])
        self.last_mask = (probs > MASK_THRESHOLD).astype(np.uint8)
        self.last_polygon = rotated_box(self.last_mask, box)
        return box, float(score)
