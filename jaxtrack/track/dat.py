"""DAT / MDNet online tracking behind the tracker interface `init(frame, box)` / `track(frame) -> (box, score)`.

Per frame the frame is cropped around the last box (a square of side `sqrt(w h) / target_frac`, resized to
`crop_size`, as the offline crops of `jaxtrack.data.pipeline_rois`), its conv features are computed once and every
box is RoI-pooled from them; boxes are sampled in crop pixels (`jaxtrack.data.box_samples`, the crop as the image).
- First frame: `n_pos_init` positives (IoU >= 0.7) and `n_neg_init` negatives (< 0.5) pooled; fc4-6 fine-tuned
  for `iters_init` iterations at `lr_init` (fc6 a fresh single branch, conv frozen); a ridge regression
  (alpha 1000, with intercept, as MDNet's `BBRegressor`) from the pooled RoI features of `n_bbreg` samples
  (IoU >= 0.6) to the box deltas (dx / w, dy / h, log w ratio, log h ratio).
- Each frame: `n_samples` Gaussian candidates (trans `trans`, `trans_expand` after a failure, scale `scale`), the
  `top_k` best by positive score averaged; success when their mean score > `success_thr`; then the regressed
  boxes of the top k averaged. On failure the previous box is kept.
- Data: on success `n_pos_update` positives and `n_neg_update` negatives (IoU < `neg_iou_update`) into ring
  buffers of `frames_long` / `frames_short` frames. Updates: short-term on failure (positives of the last
  `frames_short` frames), long-term every `long_interval` frames (all buffered positives), each `iters_update`
  iterations at `lr_update`.
- An update iteration takes `batch_pos` positives and the `batch_neg` hardest (highest positive score) of
  `batch_neg_cand` negatives (hard negative mining) and minimises the binary cross-entropy plus `reg_weight`
  times the reciprocative regulariser (`jaxtrack.ops.reciprocative`). All iterations of an update run in ONE
  jitted call (`lax.fori_loop` over pre-drawn index arrays of fixed shape), fc6 gradients x10, SGD momentum 0.9,
  weight decay 5e-4, clip 10: two compilations per tracker (first frame, updates), none per frame.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxtrack import boxes
from jaxtrack.data import box_samples, crops
from jaxtrack.data.pipeline_rois import crop_side
from jaxtrack.models.dat import DATNet, binary_ce, scores_and_reg
from jaxtrack.models.preprocess import normalize

ONLINE = ("fc4", "fc5", "fc6_kernel", "fc6_bias")  # the fine-tuned parameters (conv frozen)


@dataclasses.dataclass(frozen=True)
class DATConfig:
    """Online settings; defaults are DAT's (`experiments/dat.py` lists them), crops as `data.rois`."""

    normalize: str = "imagenet"
    crop_size: int = 112
    target_frac: float = 0.3
    n_pos_init: int = 500
    n_neg_init: int = 5000
    iters_init: int = 50
    lr_init: float = 2e-4
    n_samples: int = 256
    trans: float = 0.6
    scale: float = 1.05
    trans_expand: float = 1.5
    top_k: int = 5
    success_thr: float = 0.0
    n_bbreg: int = 1000
    bbreg_alpha: float = 1000.0
    n_pos_update: int = 50
    n_neg_update: int = 200
    neg_iou_update: float = 0.3
    iters_update: int = 15
    lr_update: float = 3e-4
    batch_pos: int = 32
    batch_neg: int = 32
    batch_neg_cand: int = 1024
    frames_short: int = 20
    frames_long: int = 100
    long_interval: int = 10
    reg_weight: float = 5.0
    reg_form: str = "relu"
    fc6_lr_mult: float = 10.0
    seed: int = 0


def _optimizer() -> optax.GradientTransformation:
    return optax.chain(optax.clip_by_global_norm(10.0), optax.add_decayed_weights(5e-4),
                       optax.inject_hyperparams(optax.sgd)(learning_rate=1e-4, momentum=0.9))


def ridge_fit(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """[D + 1, K] weights (last row the intercept) of ridge regression x [N, D] -> y [N, K], intercept unpenalised
    (sklearn's `Ridge(alpha)`: centred data)."""
    xm, ym = x.mean(0), y.mean(0)
    xc, yc = x - xm, y - ym
    w = np.linalg.solve(xc.T @ xc + alpha * np.eye(x.shape[1]), xc.T @ yc)
    return np.vstack([w, ym - xm @ w])


def box_deltas(samples: np.ndarray, target: np.ndarray) -> np.ndarray:
    """[N, 4] regression targets of xywh `samples` towards `target` [4] (MDNet's BBRegressor)."""
    s, t = boxes.xywh_to_cxcywh(samples), boxes.xywh_to_cxcywh(np.asarray(target, np.float64))
    return np.stack([(t[0] - s[:, 0]) / s[:, 2], (t[1] - s[:, 1]) / s[:, 3], np.log(t[2] / s[:, 2]),
                     np.log(t[3] / s[:, 3])], axis=1)


def apply_deltas(samples: np.ndarray, d: np.ndarray) -> np.ndarray:
    s = boxes.xywh_to_cxcywh(samples)
    c = np.stack([s[:, 0] + d[:, 0] * s[:, 2], s[:, 1] + d[:, 1] * s[:, 3], s[:, 2] * np.exp(d[:, 2]),
                  s[:, 3] * np.exp(d[:, 3])], axis=1)
    return boxes.cxcywh_to_xywh(c)


class DATTracker:
    """`DATTracker(name, model, config, variables)`: `variables` of a trained `DATNet` (any number of domains:
    conv and fc4-5 are kept, fc6 starts fresh per video); `model` gives the architecture."""

    def __init__(self, name: str, model: DATNet, config: DATConfig, variables: dict):
        self.name, self.config, self.variables = name, config, variables  # variables: the offline model's
        self.model = dataclasses.replace(model, num_domains=1)
        self.params = {k: v for k, v in variables["params"].items() if not k.startswith("fc6")}
        self.tx = _optimizer()
        self._features = jax.jit(lambda p, x: self.model.apply({"params": p}, x, method=self.model.features))
        self._pool = jax.jit(lambda p, f, b: self.model.apply({"params": p}, f, b, method=self.model.pool))
        self._scores = jax.jit(lambda p, r: self.model.apply({"params": p}, r[None], jnp.zeros(1, jnp.int32),
                                                             method=self.model.head)[0])
        self._update = jax.jit(functools.partial(_update, self.model, self.tx, config))
        self.last_update_loss = float("nan")

    # -- frames and features ------------------------------------------------------------------------------------
    def _crop(self, frame, box):
        cfg = self.config
        matrix = crops.crop_matrix(np.asarray(box, np.float64), crop_side(box, cfg.target_frac), cfg.crop_size)
        image = crops.warp_crop(np.asarray(frame), matrix, cfg.crop_size)
        feats = self._features(self.params, normalize(jnp.asarray(image)[None], cfg.normalize))
        return matrix, feats

    def _pooled(self, feats, crop_boxes: np.ndarray) -> jax.Array:
        """[N, r, r, C] pooled features of xywh crop boxes."""
        return self._pool(self.params, feats, jnp.asarray(boxes.xywh_to_xyxy(crop_boxes), jnp.float32)[None])[0]

    def _draw(self, box, n, kind, trans, scale, iou_range=(0.0, 1.0), aspect=None):
        s = self.config.crop_size
        return box_samples.sample(self.rng, box, n, kind, trans, scale, (s, s), iou_range=iou_range, aspect=aspect)

    # -- the interface ------------------------------------------------------------------------------------------
    def init(self, frame, box) -> None:
        cfg = self.config
        box = boxes.check_init_box(box, self.name, np.shape(frame)[:2]).astype(np.float64)
        self.rng = np.random.default_rng(cfg.seed)
        fresh = self.model.init(jax.random.PRNGKey(cfg.seed), jnp.zeros((1, 32, 32, 3)), jnp.zeros((1, 1, 4)),
                                jnp.zeros(1, jnp.int32))["params"]
        self.params = {**self.params, "fc6_kernel": fresh["fc6_kernel"], "fc6_bias": fresh["fc6_bias"]}
        self.opt_state = self.tx.init(self._online())
        matrix, feats = self._crop(frame, box)
        target = boxes.transform_box(box, matrix)
        bb = self._draw(target, cfg.n_bbreg, "uniform", 0.3, 1.5, (0.6, 1.0), aspect=1.1)
        x = np.asarray(self._pooled(feats, bb), np.float64).reshape(len(bb), -1)
        self.bbreg = ridge_fit(x, box_deltas(bb, target), cfg.bbreg_alpha)
        pos = self._pooled(feats, self._draw(target, cfg.n_pos_init, "gaussian", 0.1, 1.2, (0.7, 1.0)))
        neg = self._pooled(feats, self._draw(target, cfg.n_neg_init, "uniform", 1.0, 2.0, (0.0, 0.5), aspect=1.1))
        self._train(pos, neg, cfg.iters_init, cfg.lr_init, np.arange(len(pos)), np.arange(len(neg)))
        shape = pos.shape[1:]
        self.pos_buf = jnp.zeros((cfg.frames_long, cfg.n_pos_update, *shape), pos.dtype)
        self.neg_buf = jnp.zeros((cfg.frames_short, cfg.n_neg_update, *shape), neg.dtype)
        self.pos_frame = np.full(cfg.frames_long, -1)
        self.neg_frame = np.full(cfg.frames_short, -1)
        self.frame_index = 0
        self._store(pos[:cfg.n_pos_update], neg[:cfg.n_neg_update])
        self.box, self.trans = box, cfg.trans

    def track(self, frame) -> tuple[np.ndarray, float]:
        cfg = self.config
        self.frame_index += 1
        matrix, feats = self._crop(frame, self.box)
        last = boxes.transform_box(self.box, matrix)
        cand = self._draw(last, cfg.n_samples, "gaussian", self.trans, cfg.scale)
        rois = self._pooled(feats, cand)
        scores = np.asarray(self._scores(self._online(), rois))[:, 1]
        top = np.argsort(-scores)[:cfg.top_k]
        score = float(scores[top].mean())
        success = score > cfg.success_thr
        self.trans = cfg.trans if success else cfg.trans_expand
        inverse = np.linalg.inv(np.vstack([matrix, [0.0, 0.0, 1.0]]))[:2]
        if success:
            x = np.asarray(rois[top], np.float64).reshape(len(top), -1)
            d = np.hstack([x, np.ones((len(top), 1))]) @ self.bbreg
            crop_box = apply_deltas(cand[top], d).mean(0)
            target = cand[top].mean(0)
            self.box = boxes.transform_box(target, inverse)
            out = boxes.transform_box(crop_box, inverse)
            pos = self._pooled(feats, self._draw(target, cfg.n_pos_update, "gaussian", 0.1, 1.2, (0.7, 1.0)))
            neg = self._pooled(feats, self._draw(target, cfg.n_neg_update, "uniform", 1.5, 1.2,
                                                 (0.0, cfg.neg_iou_update)))
            self._store(pos, neg)
        else:
            out = self.box
        short = not success
        if short or self.frame_index % cfg.long_interval == 0:
            window = cfg.frames_short if short else cfg.frames_long
            pos_rows = _rows(self.pos_frame, self.frame_index - window, cfg.n_pos_update)
            neg_rows = _rows(self.neg_frame, -1, cfg.n_neg_update)
            self._train(self.pos_buf.reshape(-1, *self.pos_buf.shape[2:]),
                        self.neg_buf.reshape(-1, *self.neg_buf.shape[2:]),
                        cfg.iters_update, cfg.lr_update, pos_rows, neg_rows)
        return np.asarray(out, np.float32), score

    # -- online learning ------------------------------------------------------------------------------------------
    def _online(self) -> dict:
        return {k: self.params[k] for k in ONLINE}

    def _store(self, pos, neg) -> None:
        i, j = self.frame_index % self.config.frames_long, self.frame_index % self.config.frames_short
        self.pos_buf = self.pos_buf.at[i].set(pos)
        self.neg_buf = self.neg_buf.at[j].set(neg)
        self.pos_frame[i], self.neg_frame[j] = self.frame_index, self.frame_index

    def _train(self, pos, neg, iters: int, lr: float, pos_rows: np.ndarray, neg_rows: np.ndarray) -> None:
        """`iters` iterations on rows of `pos` / `neg` [M, r, r, C] (each pass a fresh permutation, as MDNet)."""
        cfg = self.config
        pos_idx = _draws(self.rng, pos_rows, iters * cfg.batch_pos).reshape(iters, cfg.batch_pos)
        neg_idx = _draws(self.rng, neg_rows, iters * cfg.batch_neg_cand).reshape(iters, cfg.batch_neg_cand)
        key = jax.random.PRNGKey(int(self.rng.integers(2 ** 31)))
        online, self.opt_state, loss = self._update(self._online(), self.opt_state, pos, neg, jnp.asarray(pos_idx),
                                                    jnp.asarray(neg_idx), jnp.float32(lr), key)
        self.params = {**self.params, **online}
        self.last_update_loss = float(loss)


def _rows(frame_of_slot: np.ndarray, after: int, per_slot: int) -> np.ndarray:
    """Flat buffer rows of the slots filled at a frame > `after` (none: the newest slot, as MDNet's `[-n:]`)."""
    slots = np.flatnonzero(frame_of_slot > after)
    if not len(slots):
        slots = np.array([int(np.argmax(frame_of_slot))])
    return (slots[:, None] * per_slot + np.arange(per_slot)).reshape(-1)


def _draws(rng: np.random.Generator, rows: np.ndarray, n: int) -> np.ndarray:
    """n rows: concatenated permutations of `rows` (MDNet's index stream)."""
    reps = -(-n // len(rows))
    return np.concatenate([rng.permutation(rows) for _ in range(reps)])[:n]


def _update(model: DATNet, tx, config: DATConfig, online, opt_state, pos, neg, pos_idx, neg_idx, lr, key):
    """All iterations of one update (see the module docstring): (online params, optimizer state, last loss)."""
    opt_state[2].hyperparams["learning_rate"] = lr
    domain = jnp.zeros(1, jnp.int32)

    def head(p, r, train=False, rngs=None):
        return model.apply({"params": p}, r[None], domain, train, rngs=rngs, method=model.head)[0]

    def loss_fn(p, rois, labels, k):
        scores, reg = scores_and_reg(model, {"params": p}, rois[None], domain, labels[None],
                                     reg_weight=config.reg_weight, form=config.reg_form, train=True,
                                     rngs={"dropout": k})
        return binary_ce(scores[0], labels) + config.reg_weight * reg

    labels = jnp.concatenate([jnp.ones(pos_idx.shape[1], jnp.int32), jnp.zeros(config.batch_neg, jnp.int32)])

    def body(i, carry):
        p, state, _ = carry
        cand = neg[neg_idx[i]]
        hard = jax.lax.top_k(head(p, cand)[:, 1], config.batch_neg)[1]  # hard negative mining (eval mode)
        rois = jnp.concatenate([pos[pos_idx[i]], cand[hard]])
        loss, grads = jax.value_and_grad(loss_fn)(p, rois, labels, jax.random.fold_in(key, i))
        grads = {k: jax.tree.map(lambda g: g * config.fc6_lr_mult, v) if k.startswith("fc6") else v
                 for k, v in grads.items()}
        updates, state = tx.update(grads, state, p)
        return optax.apply_updates(p, updates), state, loss

    return jax.lax.fori_loop(0, pos_idx.shape[0], body, (online, opt_state, jnp.zeros((), jnp.float32)))
