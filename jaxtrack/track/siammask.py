"""The SiamMask tracker (STVIR/pysot `tracker/siammask_tracker.py`): SiamRPN++'s box plus the best window's mask.

Per frame, one jitted call (`step`, all jnp: batched tracking vmaps it, `--mode=export` serializes it) runs pysot's
SiamRPN++ step (`track.siamese`: crop, anchor decoding, penalties, cosine window, size smoothing, clipping) on a
`models.siammask.SiamMask`, takes the mask of the window under the penalised best anchor (its cell (row, col) of
the R x R grid: the refined S x S logits, or the head's mask_size^2 map without the refine module, through a
sigmoid) and pastes it into the frame as pysot's `_crop_back` does (`paste`):
- the window's square (exemplar-sized in the search crop, top-left `origin + stride * (col, row)` crop pixels with
  `origin = ((X - E) - stride * (R - 1)) / 2`, pysot's `(delta - BASE_SIZE / 2) * stride`) is mapped back into the
  frame by `_crop_back`'s affine map, bilinear, 0 outside (cv2.warpAffine's INTER_LINEAR / BORDER_CONSTANT), and
  thresholded at MASK_THRESHOLD (0.15).
On the host, the rotated box is cv2.minAreaRect of the mask's largest external contour when its area exceeds
MIN_CONTOUR_AREA (100 px), else the axis-aligned box's corners, as a [4, 2] polygon (cv2.boxPoints order).

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
from jaxtrack.models import conv
from jaxtrack.models.preprocess import normalize
from jaxtrack.track import crop as crop_lib
from jaxtrack.track import siamese

MASK_THRESHOLD = 0.15  # pysot cfg.TRACK.MASK_THERSHOLD
MIN_CONTOUR_AREA = 100.0  # pysot `_mask_post_processing`: smaller largest contours fall back to the box


def has_masks(model) -> bool:
    """Whether `model` has SiamMask's mask branch (a `window_masks` method): its per-frame step is `step`, which
    returns the frame's mask as well (batched tracking and export pick the step by this)."""
    return callable(getattr(model, "window_masks", None))


def window_step(model, config: siamese.RPNConfig, variables, state, frame):
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


def paste(window_mask, window, crop_center, s_x, config: siamese.RPNConfig, image_hw, out_hw: tuple[int, int]):
    """pysot's `_crop_back` in jnp: the window's [S, S] probabilities (window top-left (x, y) in crop pixels, crop
    of side `s_x` around `crop_center` (x, y)) -> [H, W] float32 frame probabilities, bilinear, 0 outside the
    window, as cv2.warpAffine(INTER_LINEAR, BORDER_CONSTANT 0) of pysot's map on a frame of `image_hw` (H, W).
    The map is axis-aligned, so frame column x samples window column u(x) = (x W / (W - 1) - left) k, k = S / side
    (pysot's `back_box` scaling), and the paste is `Wy @ mask @ Wx^T` with tent weights max(0, 1 - |u - j|).
    `out_hw` (static, >= `image_hw`): the output's [H', W'], 0 beyond `image_hw` (zero-padded frames)."""
    size = window_mask.shape[0]
    image_hw = jnp.asarray(image_hw)
    s = s_x / config.instance_size
    side = s * config.exemplar_size
    left = jnp.asarray(crop_center, jnp.float32) - s_x / 2 + jnp.asarray(window, jnp.float32) * s  # (x, y)
    k = size / side

    def weights(n, valid, start):  # [n, S]: tent weights of output pixels 0..n-1 (0 at and beyond `valid`)
        valid = valid.astype(jnp.float32)
        u = (jnp.arange(n, dtype=jnp.float32) * valid / (valid - 1) - start) * k
        w = jnp.maximum(0.0, 1.0 - jnp.abs(u[:, None] - jnp.arange(size, dtype=jnp.float32)[None, :]))
        return jnp.where((jnp.arange(n) < valid)[:, None], w, 0.0)

    wy = weights(out_hw[0], image_hw[0], left[1])
    wx = weights(out_hw[1], image_hw[1], left[0])
    return wy @ jnp.asarray(window_mask, jnp.float32) @ wx.T


def prob_step(model, config: siamese.RPNConfig, variables, state, frame):
    """One frame [H, W, 3] -> (state, box [4] xywh, score [], probs [H, W] float32: the pasted window mask, 0
    outside the window and beyond the valid `state["image_hw"]` of a zero-padded frame)."""
    state, box, score, window_mask, window, s_x, centre = window_step(model, config, variables, state, frame)
    return state, box, score, paste(window_mask, window, centre, s_x, config, state["image_hw"], frame.shape[:2])


def step(model, config: siamese.RPNConfig, variables, state, frame):
    """`prob_step` with the mask thresholded: (state, box [4], score [], mask [H, W] uint8, 1 where the
    probabilities exceed MASK_THRESHOLD)."""
    state, box, score, probs = prob_step(model, config, variables, state, frame)
    return state, box, score, (probs > MASK_THRESHOLD).astype(jnp.uint8)


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
    `siamese.Tracker`, on the convolutions' precomputed weights), with the last `track`'s mask probabilities
    `last_probs` [H, W] float32, mask `last_mask` [H, W] uint8 (1 = target, `last_probs > MASK_THRESHOLD`) and
    rotated box `last_polygon` [4, 2] float32 (all None after `init`). `config`: the family's `siamese.RPNConfig`."""

    def __init__(self, name: str, model, config: siamese.RPNConfig, variables):
        if type(config) is not siamese.RPNConfig:
            raise TypeError(f"MaskTracker: config must be an RPNConfig, got {type(config).__name__}")
        self.name, self.model, self.config, self.variables = name, model, config, variables
        self._init = jax.jit(functools.partial(siamese.init_state, model, config))
        self._step = jax.jit(functools.partial(prob_step, model, config))
        z = jnp.zeros((1, config.exemplar_size, config.exemplar_size, 3), jnp.float32)
        x = jnp.zeros((1, config.instance_size, config.instance_size, 3), jnp.float32)
        self._variables = jax.jit(functools.partial(conv.prepare, model))(variables, z, x, jnp.ones((1, 2)))
        self.state = self.last_probs = self.last_mask = self.last_polygon = None

    def init(self, frame, box) -> None:
        self.state = self._init(self._variables, jnp.asarray(frame), jnp.asarray(box, jnp.float32))
        self.last_probs = self.last_mask = self.last_polygon = None

    def track(self, frame) -> tuple[np.ndarray, float]:
        if self.state is None:
            raise RuntimeError(f"tracker {self.name!r}: track() called before init()")
        self.state, box, score, probs = self._step(self._variables, self.state, jnp.asarray(frame))
        box = np.asarray(box)
        self.last_probs = np.asarray(probs)
        self.last_mask = (self.last_probs > MASK_THRESHOLD).astype(np.uint8)
        self.last_polygon = rotated_box(self.last_mask, box)
        return box, float(score)
