"""Siamese tracker inference: SiamFC (huanglianghua/siamfc-pytorch), SiamRPN / SiamRPN++ (STVIR/pysot
`siamrpn_tracker.py`), SiamBAN (hqucv/siamban `siamban_tracker.py`) and the ACM variants (template box passed to
the head), with the published hyper-parameters.

Functional core, all jnp (per-frame step = crop + network + decode, ONE jitted function):
    state = init_state(model, config, variables, frame, box)           # frame [H, W, 3], box [4] xywh 0-based
    state, box, score = step(model, config, variables, state, frame)   # box [4] xywh, score []
`state` is a dict pytree: center [2] (pysot centre `x + (w - 1) / 2`), size [2] (w, h), avg [3] padding colour,
image_hw [2] int32 valid frame size (frames may be zero-padded to a common shape), template (the model's
template state: the heads' kernels / ACM template terms, computed once by `init_state`; the per-frame step runs
the search branch only).
`Tracker(name, model, config, variables)` wraps it behind the `init(frame, box)` / `track(frame) -> (box, score)`
interface every benchmark tracker has. Output boxes follow each reference: pysot `cx - w / 2`, SiamFC
`cx - (w - 1) / 2`.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack import anchors, boxes
from jaxtrack.models import conv
from jaxtrack.models.preprocess import normalize
from jaxtrack.track import crop as crop_lib


@dataclasses.dataclass(frozen=True)
class SiamFCConfig:
    """siamfc-pytorch `TrackerSiamFC.parse_args` defaults."""

    normalize: str = "none"  # input normalisation (models.preprocess): the one the model was trained with
    exemplar_size: int = 127
    instance_size: int = 255
    context: float = 0.5
    scale_num: int = 3
    scale_step: float = 1.0375
    scale_penalty: float = 0.9745
    scale_lr: float = 0.59
    window_influence: float = 0.176
    response_up: int = 16
    total_stride: int = 8

    @property
    def scale_factors(self) -> np.ndarray:
        half = self.scale_num // 2
        return (self.scale_step ** np.linspace(-half, half, self.scale_num)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class RPNConfig:
    """pysot `TRACK.*` / `ANCHOR.*`; defaults of `experiments/siamrpn_r50_l234_dwxcorr/config.yaml`."""

    normalize: str = "none"  # input normalisation (models.preprocess): the one the model was trained with
    exemplar_size: int = 127
    instance_size: int = 255
    context: float = 0.5
    penalty_k: float = 0.05
    window_influence: float = 0.42
    lr: float = 0.38
    stride: int = 8
    ratios: tuple[float, ...] = (0.33, 0.5, 1.0, 2.0, 3.0)
    scales: tuple[float, ...] = (8.0,)


@dataclasses.dataclass(frozen=True)
class BANConfig:
    """hqucv/siamban `TRACK.*`; defaults of `experiments/siamban_r50_l234/config.yaml`."""

    normalize: str = "none"  # input normalisation (models.preprocess): the one the model was trained with
    exemplar_size: int = 127
    instance_size: int = 255
    context: float = 0.5
    penalty_k: float = 0.08513642556896711
    window_influence: float = 0.4632532824922313
    lr: float = 0.44418184746462425
    stride: int = 8


# ---------------------------------------------------------------------------------------------------------- init
def _mean_colour(frame, image_hw):
    """[3] mean colour over the valid `image_hw` part of a (possibly zero-padded) frame."""
    rows = jnp.arange(frame.shape[0]) < image_hw[0]
    cols = jnp.arange(frame.shape[1]) < image_hw[1]
    mask = (rows[:, None] & cols[None, :]).astype(jnp.float32)
    return (frame.astype(jnp.float32) * mask[..., None]).sum((0, 1)) / mask.sum()


def init_state(model, config, variables, frame, box, image_hw=None) -> dict:
    """Template of `box` [4] (xywh, 0-based) in `frame` [H, W, 3] -> tracker state (see module doc)."""
    box = jnp.asarray(box, jnp.float32)
    image_hw = jnp.asarray(frame.shape[:2] if image_hw is None else image_hw, jnp.int32)
    center = box[:2] + (box[2:] - 1) / 2
    avg = _mean_colour(frame, image_hw)
    s_z = jnp.round(boxes.context_size(box[2], box[3], config.context))
    z = crop_lib.crop(frame, center, s_z, config.exemplar_size, avg, image_hw)
    box_wh = (box[2:] * config.exemplar_size / s_z)[None]
    template = model.apply(variables, normalize(z[None], config.normalize), box_wh, method="template")
    return {"center": center, "size": box[2:], "avg": avg, "image_hw": image_hw, "template": template}


# ------------------------------------------------------------------------------------------------------- SiamFC
@functools.cache
def cubic_matrix(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] cv2 INTER_CUBIC resize as a matrix (a = -0.75, half-pixel centres, replicated border)."""
    a = -0.75
    fx = (np.arange(n_out) + 0.5) * (n_in / n_out) - 0.5
    sx = np.floor(fx)
    t = fx - sx
    w = np.stack([((a * (t + 1) - 5 * a) * (t + 1) + 8 * a) * (t + 1) - 4 * a,
                  ((a + 2) * t - (a + 3)) * t * t + 1,
                  ((a + 2) * (1 - t) - (a + 3)) * (1 - t) * (1 - t) + 1], 1)
    w = np.concatenate([w, 1 - w.sum(1, keepdims=True)], 1)
    m = np.zeros((n_out, n_in), np.float64)
    for k in range(4):
        np.add.at(m, (np.arange(n_out), np.clip(sx + k - 1, 0, n_in - 1).astype(int)), w[:, k])
    return m.astype(np.float32)


def siamfc_select(config: SiamFCConfig, responses, x_sz):
    """SiamFC post-processing of the raw responses [S, R, R] of the scale pyramid (search sides `x_sz * factors`).
    Returns (displacement [2] (dx, dy) in frame pixels, scale_id [], peak score [])."""
    n, r = responses.shape[0], responses.shape[1]
    up = config.response_up * r
    m = jnp.asarray(cubic_matrix(r, up))
    resp = jnp.einsum("ui,sij,vj->suv", m, responses, m)
    penalty = np.full(n, config.scale_penalty, np.float32)
    penalty[n // 2] = 1.0
    resp = resp * penalty[:, None, None]
    scale_id = jnp.argmax(resp.max((1, 2)))
    best = resp[scale_id]
    peak = best.max()
    best = best - best.min()
    best = best / (best.sum() + 1e-16)
    hann = np.outer(np.hanning(up), np.hanning(up))
    best = (1 - config.window_influence) * best + config.window_influence * jnp.asarray(hann / hann.sum())
    i, j = jnp.unravel_index(jnp.argmax(best), best.shape)
    disp = jnp.stack([j, i]).astype(jnp.float32) - (up - 1) / 2
    factors = jnp.asarray(config.scale_factors)
    disp = disp * config.total_stride / config.response_up * x_sz * factors[scale_id] / config.instance_size
    return disp, scale_id, peak


def siamfc_step(model, config: SiamFCConfig, variables, state, frame):
    size = state["size"]
    x_sz = boxes.context_size(size[0], size[1], config.context) * config.instance_size / config.exemplar_size
    factors = jnp.asarray(config.scale_factors)
    x = crop_lib.crops(frame, state["center"], x_sz * factors, config.instance_size, state["avg"], state["image_hw"])
    template = jax.tree.map(lambda a: jnp.repeat(a, config.scale_num, 0), state["template"])  # one per scale
    responses = model.apply(variables, normalize(x, config.normalize), template, method="track")["cls"][..., 0]
    disp, scale_id, peak = siamfc_select(config, responses, x_sz)
    center = state["center"] + disp
    size = size * (1 - config.scale_lr + config.scale_lr * factors[scale_id])
    box = jnp.concatenate([center - (size - 1) / 2, size])
    return {**state, "center": center, "size": size}, box, peak


# ------------------------------------------------------------------------------------------- SiamRPN / SiamBAN
def rpn_decode(config: RPNConfig, out, search_size: int):
    """pysot `_convert_score` / `_convert_bbox`: out {"cls": [1, H, W, 2K], "loc": [1, H, W, 4K]} ->
    (score [K, H, W] foreground softmax, boxes [K, H, W, 4] cxcywh relative to the search-crop centre)."""
    k = len(config.ratios) * len(config.scales)
    h = out["cls"].shape[1]
    grid = anchors.anchor_boxes(config.stride, tuple(config.ratios), tuple(config.scales), h, search_size)
    grid = boxes.xywh_to_cxcywh(grid.astype(np.float64))
    grid[..., :2] -= (search_size - 1) / 2
    grid = jnp.asarray(np.moveaxis(grid, 2, 0), jnp.float32)  # [K, H, W, 4]
    score = jax.nn.softmax(anchors.anchor_major(out["cls"][0], k), -1)[..., 1]  # [H, W, K]
    delta = jnp.moveaxis(anchors.anchor_major(out["loc"][0], k), 2, 0)  # [K, H, W, 4]
    xy = delta[..., :2] * grid[..., 2:] + grid[..., :2]
    wh = jnp.exp(delta[..., 2:]) * grid[..., 2:]
    return jnp.moveaxis(score, 2, 0), jnp.concatenate([xy, wh], -1)


def ban_decode(config: BANConfig, out, search_size: int):
    """hqucv/siamban: out {"cls": [1, H, W, 1 or 2], "loc": [1, H, W, 4] ltrb} -> (score [1, H, W],
    boxes [1, H, W, 4] cxcywh relative to the search-crop centre)."""
    h = out["cls"].shape[1]
    cls = out["cls"][0]
    score = jax.nn.sigmoid(cls[..., 0]) if cls.shape[-1] == 1 else jax.nn.softmax(cls, -1)[..., 1]
    pos = jnp.asarray(anchors.offsets(h, config.stride))
    px, py = pos[None, :], pos[:, None]
    ltrb = out["loc"][0]
    x1, y1, x2, y2 = px - ltrb[..., 0], py - ltrb[..., 1], px + ltrb[..., 2], py + ltrb[..., 3]
    pred = jnp.stack([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], -1)
    return score[None], pred[None]


def pysot_select(config, score, pred, size, scale_z):
    """pysot's penalties and smoothing: score [K, H, W], pred [K, H, W, 4] (crop pixels, relative to the centre),
    size [2] current (w, h) in frame pixels. Returns (offset [2] in frame pixels, new size [2], score [], the best
    anchor's flat index into [K, H, W])."""
    def change(r):
        return jnp.maximum(r, 1.0 / r)

    w, h = pred[..., 2], pred[..., 3]
    s_c = change(boxes.context_size(w, h) / boxes.context_size(size[0] * scale_z, size[1] * scale_z))
    r_c = change((size[0] / size[1]) / (w / h))
    penalty = jnp.exp(-(r_c * s_c - 1) * config.penalty_k)
    n = score.shape[1]
    window = np.outer(np.hanning(n), np.hanning(n)).astype(np.float32)
    pscore = penalty * score * (1 - config.window_influence) + window * config.window_influence
    best = jnp.argmax(pscore.reshape(-1))
    bbox = pred.reshape(-1, 4)[best] / scale_z
    best_score = score.reshape(-1)[best]
    lr = penalty.reshape(-1)[best] * best_score * config.lr
    return bbox[:2], size * (1 - lr) + bbox[2:] * lr, best_score, best


def pysot_step(decode, model, config, variables, state, frame):
    size, hw = state["size"], state["image_hw"].astype(jnp.float32)
    s_z = boxes.context_size(size[0], size[1], config.context)
    scale_z = config.exemplar_size / s_z
    s_x = s_z * config.instance_size / config.exemplar_size
    x = crop_lib.crop(frame, state["center"], s_x, config.instance_size, state["avg"], state["image_hw"])
    out = model.apply(variables, normalize(x[None], config.normalize), state["template"], method="track")
    score, pred = decode(config, out, config.instance_size)
    offset, size, best_score, _ = pysot_select(config, score, pred, size, scale_z)
    center = jnp.clip(state["center"] + offset, 0.0, hw[::-1])  # pysot `_bbox_clip`
    size = jnp.clip(size, 10.0, hw[::-1])
    box = jnp.concatenate([center - size / 2, size])
    return {**state, "center": center, "size": size}, box, best_score


STEPS = {  # config type -> per-frame step
    SiamFCConfig: siamfc_step,
    RPNConfig: functools.partial(pysot_step, rpn_decode),
    BANConfig: functools.partial(pysot_step, ban_decode),
}


def step(model, config, variables, state, frame):
    """One frame [H, W, 3] -> (new state, box [4] xywh, score [])."""
    if type(config) not in STEPS:
        raise TypeError(f"config must be one of {[c.__name__ for c in STEPS]}, got {type(config).__name__}")
    return STEPS[type(config)](model, config, variables, state, frame)


class Tracker:
    """A jaxtrack model behind the benchmark interface: `name` (its family), `model` (a built SiameseTracker),
    `config` (tracking hyper-parameters: SiamFCConfig, RPNConfig or BANConfig), `variables` (its Flax variables).
    Both `init` and `track` are single jitted calls (compiled once per frame shape). They run on `variables`
    plus the convolutions' precomputed weights (`models.conv.prepare`, computed once here)."""

    def __init__(self, name: str, model, config, variables):
        if type(config) not in STEPS:
            raise TypeError(f"config must be one of {[c.__name__ for c in STEPS]}, got {type(config).__name__}")
        self.name, self.model, self.config, self.variables = name, model, config, variables
        self._init = jax.jit(functools.partial(init_state, self.model, self.config))
        self._step = jax.jit(functools.partial(step, self.model, self.config))
        z = jnp.zeros((1, config.exemplar_size, config.exemplar_size, 3), jnp.float32)
        x = jnp.zeros((1, config.instance_size, config.instance_size, 3), jnp.float32)
        self._variables = jax.jit(functools.partial(conv.prepare, model))(variables, z, x, jnp.ones((1, 2)))
        self.state = None

    def init(self, frame, box) -> None:
        self.state = self._init(self._variables, jnp.asarray(frame), jnp.asarray(box, jnp.float32))

    def track(self, frame) -> tuple[np.ndarray, float]:
        if self.state is None:
            raise RuntimeError(f"tracker {self.name!r}: track() called before init()")
        self.state, box, score = self._step(self._variables, self.state, jnp.asarray(frame))
        return np.asarray(box), float(score)
