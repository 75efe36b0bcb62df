"""Training tasks of the Siamese trackers, one per model family, built from a config by model name.

    task = jaxtrack.families.get(config.model.name).make_task(config)   # config.task: see `default_config`
    variables = task.init(key, batch)
    loss, (metrics, batch_stats) = task.loss_fn(params, batch_stats, batch, key)

Batches are the pair pipeline's (`jaxtrack.data.pipeline_pairs`): template [B, Hz, Wz, 3] uint8, search
[B, Hx, Wx, 3] uint8, template_box / search_box [B, 4] xywh crop pixels, negative [B] bool. Images are
normalised inside the step by `config.task.normalize` (NORMALIZERS: "imagenet" per-channel RGB mean/std, the
default; "unit" /255; "none" raw 0..255 as pysot / siamfc-pytorch feed their networks). Every model gets the
template box (w, h) in template-crop pixels (`template_box[:, 2:]`); only the ACM heads read it.

Targets are made inside the jitted step: their grid is the head's output (R = output side, stride 8, centred in
the search crop), their random sampling uses the step key. Tasks (`jaxtrack.families` assigns them to models):
  SiamFCTask:  `siamfc_labels` + balanced logistic loss.
  AnchorTask:  `anchor_targets` + select-CE and weighted L1 (weights 1.0 / 1.2): siamrpn, siamrpnpp(_acm).
  PointTask:   `point_targets` + select-CE and linear IoU (weights 1.0 / 1.0): siamban(_acm).

`config.task.reg_weight` > 0 adds DAT's reciprocative regulariser (`jaxtrack.ops.reciprocative`, issue #20) on the
classification branch, `reg_weight` times its mean over the batch's positive pairs (metric "reg"): the attention
map A [Hx, Wx] of a pair is the positive part of d(peak score) / d(search crop), summed over colour channels, with
the peak score the maximum over positions (and anchors) of the positive-class log-odds (`position_scores`), from
the model in inference mode (BatchNorm's running statistics: each pair's map depends on its own crop only, as the
tracker sees it); DAT's positive-sample term with the target box as the positive region, sigma(A_in) / mu(A_in) +
mu(A_out) / sigma(A_out) over the pixels whose centres lie inside / outside `search_box`. The ratios are
scale-free, so log-odds and softmax probabilities give the same value. The training gradient is second-order.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import ml_collections

from jaxtrack import anchors, boxes
from jaxtrack.models import siamese
from jaxtrack.models.preprocess import normalize
from jaxtrack.ops import reciprocative
from jaxtrack.train import losses, targets

EVAL_KEY_SEED = 0  # eval targets sample with a fixed key: eval losses are comparable across steps


def default_config() -> ml_collections.ConfigDict:
    """Task settings: normalisation, loss weights (None: the family's published ones; mask_weight: SiamMask's) and
    target options
    (`targets` holds AnchorConfig / PointConfig fields, or siamfc_labels' r_pos / r_neg / total_stride) and the
    reciprocative regulariser's weight (`reg_weight`, 0: off; module docstring)."""
    return ml_collections.ConfigDict({"normalize": "imagenet", "cls_weight": None, "loc_weight": None,
                                      "mask_weight": None, "neg_weight": 1.0, "reg_weight": 0.0,
                                      "targets": {}}, type_safe=False)


@dataclasses.dataclass(frozen=True)
class SiameseTask:
    """Shared part: model inputs from a batch, forward passes, the trainer's `init` / `loss_fn` / `eval_fn`.
    Subclasses implement `loss(out, batch, key) -> (loss, metrics)` on the head outputs."""

    model: siamese.SiameseTracker
    normalize: str = "imagenet"
    options: dict = dataclasses.field(default_factory=dict)  # the family's target options
    weights: losses.LossWeights = dataclasses.field(default_factory=losses.LossWeights)
    neg_weight: float = 1.0  # SiamFC's balanced loss: weight of the negatives' mean
    reg_weight: float = 0.0  # reciprocative regulariser (module docstring); 0: off

    def __post_init__(self):
        w = self.reg_weight
        if isinstance(w, bool) or not isinstance(w, int | float) or not w >= 0 or w == float("inf"):
            raise ValueError(f"config.task.reg_weight: expected a finite number >= 0 (0: off), got {w!r}")

    def inputs(self, batch) -> tuple[jax.Array, jax.Array, jax.Array]:
        """(z [B, Hz, Wz, 3] float32, x [B, Hx, Wx, 3] float32, box_wh [B, 2] template (w, h))."""
        for name in ("template", "search", "template_box", "search_box", "negative"):
            if name not in batch:
                raise KeyError(f"batch has no {name!r}; got keys {sorted(batch)} (pair pipeline batches expected)")
        z, x = (normalize(batch[k], self.normalize) for k in ("template", "search"))
        return z, x, jnp.asarray(batch["template_box"], jnp.float32)[:, 2:4]

    def init(self, key: jax.Array, batch) -> dict:
        return self.model.init(key, *self.inputs(batch))

    def apply_fn(self, variables, z, x, box_wh):
        """Inference forward pass on normalised images (stored in the TrainState)."""
        return self.model.apply(variables, z, x, box_wh)

    def loss_fn(self, params, batch_stats, batch, key):
        out, updates = self.model.apply({"params": params, "batch_stats": batch_stats}, *self.inputs(batch),
                                        train=True, mutable=["batch_stats"])
        loss, metrics = self.with_reg(*self.loss(out, batch, key), {"params": params, "batch_stats": batch_stats},
                                      batch)
        return loss, (metrics, updates.get("batch_stats", {}))

    def eval_fn(self, params, batch_stats, batch) -> dict:
        variables = {"params": params, "batch_stats": batch_stats}
        out = self.model.apply(variables, *self.inputs(batch))
        loss, metrics = self.with_reg(*self.loss(out, batch, jax.random.key(EVAL_KEY_SEED)), variables, batch)
        return {"loss": loss, **metrics}

    def loss(self, out: dict, batch, key) -> tuple[jax.Array, dict]:
        raise NotImplementedError

    def position_scores(self, out: dict) -> jax.Array:
        """[B, ...] positive-class log-odds of every position (and anchor) of the head's classification output."""
        raise NotImplementedError

    def attention(self, variables, batch) -> jax.Array:
        """[B, Hx, Wx] attention maps: positive part of d(peak score) / d(normalised search crop), summed over
        colour channels, the model in inference mode (module docstring)."""
        z, x, box_wh = self.inputs(batch)

        def peak(search):
            s = self.position_scores(self.model.apply(variables, z, search, box_wh))
            return jnp.max(s.reshape(s.shape[0], -1), axis=1)

        return jnp.sum(reciprocative.input_attention(peak, x), axis=-1)

    def reciprocative(self, variables, batch) -> jax.Array:
        """Mean over the positive pairs (0 if none) of the regulariser of `attention`'s maps, inside vs outside
        `search_box` (module docstring)."""
        a = self.attention(variables, batch)
        inside = boxes.box_masks(jnp.asarray(batch["search_box"], jnp.float32), a.shape[1:])
        reg = reciprocative.reciprocative_loss(a, a, jnp.ones(a.shape[:1], jnp.int32), pos_mask=inside,
                                               neg_mask=1 - inside)
        pos = ~jnp.asarray(batch["negative"], bool)
        return jnp.sum(jnp.where(pos, reg, 0)) / jnp.maximum(jnp.sum(pos), 1)

    def with_reg(self, loss: jax.Array, metrics: dict, variables, batch) -> tuple[jax.Array, dict]:
        """(loss, metrics) plus `reg_weight` times the regulariser and its "reg" metric; unchanged when off."""
        if not self.reg_weight:
            return loss, metrics
        reg = self.reciprocative(variables, batch)
        return loss + self.reg_weight * reg, {**metrics, "reg": reg}


class SiamFCTask(SiameseTask):
    """SiamFC: out["cls"] [B, R, R, 1] vs `siamfc_labels` around `search_box`'s centre (all 0 on negatives);
    options: r_pos, r_neg, total_stride (siamfc-pytorch: 16, 0, 8)."""

    def loss(self, out, batch, key):
        del key
        r = out["cls"].shape[1]
        cls = targets.siamfc_labels(r, batch["search_box"], batch["negative"], search_size=batch["search"].shape[1],
                                    **self.options)
        loss, metrics = losses.siamfc_loss(out["cls"], cls, self.neg_weight)
        return self.weights.cls * loss, {**metrics, "pos_fraction": jnp.mean(cls == 1)}

    def position_scores(self, out):
        return out["cls"][..., 0]


class AnchorTask(SiameseTask):
    """SiamRPN / SiamRPN++ (-ACM): out {"cls" [B, R, R, 2K], "loc" [B, R, R, 4K]} vs `anchor_targets`;
    options: AnchorConfig fields except output_size / search_size (taken from the shapes)."""

    def loss(self, out, batch, key):
        config = targets.AnchorConfig(output_size=out["cls"].shape[1], search_size=batch["search"].shape[1],
                                      **self.options)
        t = targets.anchor_targets(batch["search_box"], batch["negative"], key, config)
        loss, metrics = losses.siamrpn_loss(out["cls"], out["loc"], t, self.weights)
        return loss, {**metrics, "num_pos": jnp.mean(jnp.sum(t.cls == 1, axis=(1, 2, 3)))}

    def position_scores(self, out):
        k = out["loc"].shape[-1] // 4
        logits = anchors.anchor_major(out["cls"], k)
        return logits[..., 1] - logits[..., 0]


class PointTask(SiameseTask):
    """SiamBAN (-ACM): out {"cls" [B, R, R, 2], "loc" [B, R, R, 4] ltrb} vs `point_targets`;
    options: PointConfig fields except output_size / search_size."""

    def loss(self, out, batch, key):
        config = targets.PointConfig(output_size=out["cls"].shape[1], search_size=batch["search"].shape[1],
                                     **self.options)
        t = targets.point_targets(batch["search_box"], batch["negative"], key, config)
        loss, metrics = losses.siamban_loss(out["cls"], out["loc"], t, self.weights)
        return loss, {**metrics, "num_pos": jnp.mean(jnp.sum(t.cls == 1, axis=(1, 2)))}

    def position_scores(self, out):
        return out["cls"][..., 1] - out["cls"][..., 0]
