"""DAT / RT-MDNet offline multi-domain training as a Task of the one trainer (`jaxtrack.train.trainer.train`).

Batches are `jaxtrack.data.pipeline_rois` batches: image [B, S, S, 3] uint8, pos [B, P, 4] / neg [B, Q, 4] xywh crop
pixels, domain [B] int32 (the fc6 branch: one per training video). The conv features are computed once per crop
and every RoI is pooled from them (RT-MDNet). Loss: MDNet's binary softmax cross-entropy over the P + Q RoIs of
every crop, plus `reg_weight` times DAT's reciprocative regulariser (`jaxtrack.ops.reciprocative`) of the class
scores' gradients with respect to each RoI's pooled features (0: off). Metrics: ce, reg, pos_acc, neg_acc.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from jaxtrack import boxes
from jaxtrack import config as config_lib
from jaxtrack.models.dat import DATNet, binary_ce, scores_and_reg
from jaxtrack.models.preprocess import normalize


@dataclasses.dataclass(frozen=True)
class DATTask:
    """Trainer Task for `DATNet` (module docstring); `reg_form` is `reciprocative.attention_maps`' form."""

    model: DATNet
    normalize: str = "imagenet"
    reg_weight: float = 0.0
    reg_form: str = "relu"

    def inputs(self, batch):
        for name in ("image", "pos", "neg", "domain"):
            if name not in batch:
                raise KeyError(f"batch has no {name!r}; got keys {sorted(batch)} (pipeline_rois batches expected)")
        rois = boxes.xywh_to_xyxy(jnp.concatenate([batch["pos"], batch["neg"]], axis=1).astype(jnp.float32))
        p, q = batch["pos"].shape[1], batch["neg"].shape[1]
        labels = jnp.broadcast_to(jnp.concatenate([jnp.ones(p, jnp.int32), jnp.zeros(q, jnp.int32)]),
                                  rois.shape[:2])
        return normalize(batch["image"], self.normalize), rois, jnp.asarray(batch["domain"], jnp.int32), labels

    def init(self, key: jax.Array, batch) -> dict:
        images, rois, domain, _ = self.inputs(batch)
        return self.model.init(key, images, rois, domain)

    def _losses(self, variables, batch, train: bool, rngs=None):
        images, rois, domain, labels = self.inputs(batch)
        feats = self.model.apply(variables, images, method=self.model.features)
        pooled = self.model.apply(variables, feats, rois, method=self.model.pool)
        scores, reg = scores_and_reg(self.model, variables, pooled, domain, labels, reg_weight=self.reg_weight,
                                     form=self.reg_form, train=train, rngs=rngs)
        ce = binary_ce(scores, labels)
        hit = (jnp.argmax(scores, -1) == labels).astype(jnp.float32)
        p = batch["pos"].shape[1]
        metrics = {"ce": ce, "reg": reg, "pos_acc": jnp.mean(hit[:, :p]), "neg_acc": jnp.mean(hit[:, p:])}
        return ce + self.reg_weight * reg, metrics

    def loss_fn(self, params, batch_stats, batch, key):
        loss, metrics = self._losses({"params": params}, batch, True, {"dropout": key})
        return loss, (metrics, batch_stats)

    def eval_fn(self, params, batch_stats, batch) -> dict:
        loss, metrics = self._losses({"params": params}, batch, False)
        return {"loss": loss, **metrics}


def make_task(config, num_domains: int) -> DATTask:
    """The DATTask of an experiment config: `config.model.kwargs` (DATNet fields but num_domains, set from the
    training videos) and `config.task` (normalize, reg_weight, reg_form)."""
    if config.model.get("name") != "dat":
        raise ValueError(f"dat_task.make_task: config.model.name must be 'dat', got {config.model.name!r}")
    kwargs = dict(config.model.get("kwargs", {}))
    if "num_domains" in kwargs:
        raise ValueError("config.model.kwargs.num_domains is set from the training videos; leave it out")
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    task = config_lib.known_fields(config.get("task", {}), DATTask, "config.task", exclude=("model",))
    return DATTask(model=DATNet(num_domains=num_domains, **kwargs), **task)
