"""vsLSTM / dppLSTM as Tasks of the shared trainer (`jaxtrack.train.trainer.train`).

Batches are `pipeline_summ` batches reduced to `MODEL_KEYS` (`model_batch`): features [B, T, D], scores [B, T],
keyframes [B, T] bool, mask [B, T] bool. Losses, each a mean over the batch of per-video terms over real steps:
  vslstm:  MSE(importance, scores)
  dpplstm: MSE(importance, keyframes or scores: `mse_target`) + dpp_weight * dpp_nll(keyframes) / length
(the release sums the NLL over the video; dividing by its length keeps one weight right for 100- and 5000-step
videos). Padding never changes a loss: padded steps enter no term.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax
import jax.numpy as jnp

from jaxtrack.models.summarizer import Summarizer
from jaxtrack.train import dpp

MODEL_KEYS = ("features", "scores", "keyframes", "mask")


def model_batch(batch: dict) -> dict:
    """The arrays the model and losses use (drops per-frame evaluation arrays whose shapes vary per batch)."""
    missing = [k for k in MODEL_KEYS if k not in batch]
    if missing:
        raise KeyError(f"summarization batch lacks {missing}; has {sorted(batch)}")
    return {k: batch[k] for k in MODEL_KEYS}


def _masked_mse(pred: jax.Array, target: jax.Array, mask: jax.Array) -> jax.Array:
    """[B] mean squared error over each row's real steps."""
    m = mask.astype(pred.dtype)
    return (m * (pred - target.astype(pred.dtype)) ** 2).sum(1) / jnp.maximum(m.sum(1), 1.0)


def _vslstm(task: SummTask, out: dict, batch: dict) -> tuple[jax.Array, dict[str, jax.Array]]:
    mse = _masked_mse(out["importance"], batch["scores"], batch["mask"])
    return mse, {"mse": mse}


def _dpplstm(task: SummTask, out: dict, batch: dict) -> tuple[jax.Array, dict[str, jax.Array]]:
    mask = batch["mask"]
    nll = dpp.dpp_nll(jax.nn.log_sigmoid(out["logits"]), out["phi"], batch["keyframes"], mask, jitter=task.jitter)
    nll_per_step = nll / jnp.maximum(mask.sum(1), 1)
    mse = _masked_mse(out["importance"], batch[task.mse_target], mask)
    return mse + task.dpp_weight * nll_per_step, {"mse": mse, "dpp_nll": nll_per_step}


# name -> (task, model outputs, batch) -> (per-video loss [B], per-video metrics {name: [B]})
LOSSES: dict[str, Callable[..., tuple[jax.Array, dict[str, jax.Array]]]] = {"vslstm": _vslstm, "dpplstm": _dpplstm}


@dataclasses.dataclass(frozen=True)
class SummTask:
    """Trainer Task for a `Summarizer`.

    Attributes:
      model: the summarizer module.
      loss: a key of `LOSSES` ("vslstm" or "dpplstm").
      dpp_weight: weight of the per-step DPP NLL (dpplstm).
      jitter: DPP similarity jitter (`dpp.dpp_nll`).
      mse_target: what dpplstm's importance regresses to: "keyframes" (0/1) or "scores" (the users' mean).
      delta_threshold: None, or `predict` runs the LSTMs with the delta trick at this threshold (`Summarizer`);
        losses always use the model as given.
    """

    model: Summarizer = dataclasses.field(default_factory=Summarizer)
    loss: str = "dpplstm"
    dpp_weight: float = 1.0
    jitter: float = 1e-3
    mse_target: str = "keyframes"
    delta_threshold: float | None = None

    def __post_init__(self):
        if self.loss not in LOSSES:
            raise ValueError(f"SummTask.loss must be one of {sorted(LOSSES)}, got {self.loss!r}")
        if self.mse_target not in ("keyframes", "scores"):
            raise ValueError(f"SummTask.mse_target must be 'keyframes' or 'scores', got {self.mse_target!r}")

    def init(self, key: jax.Array, batch: dict) -> dict:
        return self.model.init(key, batch["features"], batch["mask"])

    def predict(self, params, features: jax.Array, mask: jax.Array) -> dict[str, jax.Array]:
        """Model outputs at inference (`Summarizer`, with `delta_threshold`): logits / importance [B, T],
        phi [B, T, K] (and delta_nnz [B, T, 4] in delta mode)."""
        model = self.model if self.delta_threshold is None else self.model.clone(delta_threshold=self.delta_threshold)
        return model.apply({"params": params}, features, mask)

    def terms(self, params, batch: dict) -> tuple[jax.Array, dict[str, jax.Array]]:
        """(scalar loss, scalar metrics): batch means of the per-video terms."""
        out = self.model.apply({"params": params}, batch["features"], batch["mask"])
        loss, metrics = LOSSES[self.loss](self, out, batch)
        return loss.mean(), {k: v.mean() for k, v in metrics.items()}

    def loss_fn(self, params, batch_stats, batch: dict, key: jax.Array):
        loss, metrics = self.terms(params, batch)
        return loss, (metrics, batch_stats)

    def eval_fn(self, params, batch_stats, batch: dict) -> dict[str, jax.Array]:
        loss, metrics = self.terms(params, batch)
        return {"loss": loss, **metrics}


def make_task(config) -> SummTask:
    """The SummTask of an experiment config: `config.model.kwargs` (Summarizer fields), `config.task` (loss,
    dpp_weight, jitter, mse_target) and `config.summ.delta_threshold` (None: the exact LSTMs)."""
    if config.model.get("name", "summarizer") != "summarizer":
        raise ValueError(f"make_task: config.model.name must be 'summarizer', got {config.model.name!r}")
    kwargs = dict(config.model.get("kwargs", {}))
    if "projection" in kwargs:
        kwargs["projection"] = tuple(kwargs["projection"] or ())
    threshold = config.get("summ", {}).get("delta_threshold")
    if threshold is not None and not threshold >= 0:
        raise ValueError(f"summ.delta_threshold must be >= 0 (or None: the exact LSTMs), got {threshold}")
    return SummTask(model=Summarizer(**kwargs), delta_threshold=threshold, **dict(config.get("task", {})))
