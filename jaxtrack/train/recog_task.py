"""Action recognition (TSN / TRN / ECO `Recognizer`) as a Task of the shared trainer (`jaxtrack.train.trainer.train`).

Batches are `jaxtrack.data.pipeline_clips` batches: frames [B, K, L, H, W, 3] uint8, mask [B, K] bool, label [B]
int32. Frames are normalised inside the step (`normalize`, as the trackers: `jaxtrack.models.preprocess`). Loss:
softmax cross-entropy (optional label smoothing); metrics top-1 (training) and top-1 / top-5 (eval). The step key
splits into the "dropout" and "tuples" (TRN's tuple sampling) rngs.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import optax

from jaxtrack.models.preprocess import normalize
from jaxtrack.models.recognition import Recognizer


@dataclasses.dataclass(frozen=True)
class RecognitionTask:
    """Trainer Task for a `Recognizer`: init / loss_fn / eval_fn, and `predict` (logits) for evaluation."""

    model: Recognizer
    normalize: str = "imagenet"
    label_smoothing: float = 0.0

    def inputs(self, batch) -> tuple[jax.Array, jax.Array]:
        for name in ("frames", "mask"):
            if name not in batch:
                raise KeyError(f"batch has no {name!r}; got keys {sorted(batch)} (clip pipeline batches expected)")
        return normalize(batch["frames"], self.normalize), jnp.asarray(batch["mask"], bool)

    def init(self, key: jax.Array, batch) -> dict:
        return self.model.init(key, *self.inputs(batch))

    def predict(self, variables, batch) -> jax.Array:
        """[B, C] logits at inference (test tuples, running BatchNorm statistics)."""
        return self.model.apply(variables, *self.inputs(batch))

    def _loss(self, logits, labels):
        onehot = optax.smooth_labels(jax.nn.one_hot(labels, logits.shape[-1]), self.label_smoothing) \
            if self.label_smoothing else jax.nn.one_hot(labels, logits.shape[-1])
        return optax.softmax_cross_entropy(logits.astype(jnp.float32), onehot).mean()

    def loss_fn(self, params, batch_stats, batch, key):
        dropout, tuples = jax.random.split(key)
        logits, updates = self.model.apply({"params": params, "batch_stats": batch_stats}, *self.inputs(batch),
                                           train=True, rngs={"dropout": dropout, "tuples": tuples},
                                           mutable=["batch_stats"])
        loss = self._loss(logits, batch["label"])
        top1 = jnp.mean(jnp.argmax(logits, -1) == batch["label"])
        return loss, ({"top1": top1}, updates.get("batch_stats", {}))

    def eval_fn(self, params, batch_stats, batch) -> dict:
        logits = self.predict({"params": params, "batch_stats": batch_stats}, batch)
        labels = batch["label"]
        rank = jnp.sum(logits > jnp.take_along_axis(logits, labels[:, None], 1), axis=1)  # classes scored higher
        return {"loss": self._loss(logits, labels), "top1": jnp.mean(rank == 0), "top5": jnp.mean(rank < 5)}


def make_task(config, num_classes: int) -> RecognitionTask:
    """The RecognitionTask of an experiment config: `config.model.kwargs` (Recognizer fields but num_classes) and
    `config.task` (normalize, label_smoothing)."""
    if config.model.get("name") != "recognizer":
        raise ValueError(f"make_task: config.model.name must be 'recognizer', got {config.model.name!r}")
    kwargs = config.model.get("kwargs", {})
    kwargs = kwargs.to_dict() if hasattr(kwargs, "to_dict") else dict(kwargs)
    if "num_classes" in kwargs:
        raise ValueError("config.model.kwargs.num_classes is set from the dataset's classes; leave it out")
    head_kwargs = dict(kwargs.pop("head_kwargs", None) or {})
    if "scales" in head_kwargs:
        head_kwargs["scales"] = tuple(head_kwargs["scales"])
    model = Recognizer(num_classes=num_classes, head_kwargs=head_kwargs, **kwargs)
    return RecognitionTask(model=model, **dict(config.get("task", {})))
