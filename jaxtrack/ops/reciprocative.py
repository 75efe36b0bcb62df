"""DAT's reciprocative attention regulariser (Pu et al., "Deep Attentive Tracking via Reciprocative Learning",
NeurIPS 2018), written once for every classifier that scores samples independently.

    a_pos, a_neg = attention_maps(score_fn, inputs)        # [N, ...] each: positive part of d score_c / d input_n
    reg = reciprocative_loss(a_pos, a_neg, labels)        # [N]; add `weight * reg.mean()` to the loss

`score_fn(inputs [N, ...]) -> [N, 2]` are the (negative, positive) class scores, sample n's scores depending on
`inputs[n]` only (fc layers, dropout; no batch statistics across samples), so the gradient of the summed score of
class c with respect to `inputs` holds every sample's own gradient: `A_c[n] = max(d f_c(x_n) / d x_n, 0)`.
`jax.grad` runs inside the loss, so the training gradient is a second-order one (backprop through the map).

For a positive sample (label 1) the regulariser is `sigma(A_pos) / mu(A_pos) + mu(A_neg) / sigma(A_neg)`: a low
coefficient of variation spreads the positive-class attention evenly over the whole sample (not a few
discriminative spots), a high one makes the negative-class attention sparse; for a negative sample (label 0) the
mirror image, `sigma(A_neg) / mu(A_neg) + mu(A_pos) / sigma(A_pos)`. Mean and
standard deviation are over all elements of one sample's map (population std); `eps` keeps both ratios finite
where a map is all zero.

The released code (shipubupt/NIPS2018 `tracking/run_tracker.py`, online training only, lambda = 5) differs in
three ways, noted not copied: its maps are guided-backprop gradients with respect to the 107x107 image region,
reduced to the channel sum of squared gradients; and each of the four terms is a ratio of batch sums (sum of
sigmas / sum of means over the batch's positives, ...) rather than a mean of per-sample ratios. Here the input is
whatever `score_fn` takes (DAT's RoI features, `jaxtrack.models.dat`), and `form="sum_sq"` gives the code's
channel reduction (`[N, ..., C]` -> `[N, ...]`, last axis summed) in place of the paper's positive part.

The Siamese trackers (`jaxtrack.train.tasks`) have one score per pair, the peak of the response map: one map
(`input_attention`), split by region rather than by class, `reciprocative_loss(a, a, ones, pos_mask=inside_box,
neg_mask=outside_box)`, the positive-sample term with the target box as the positive region.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

FORMS = ("relu", "sum_sq")


def input_attention(score_fn: Callable[[jax.Array], jax.Array], inputs: jax.Array, *,
                    form: str = "relu") -> jax.Array:
    """Attention map of one scalar score per sample (`score_fn(inputs [N, ...]) -> [N]`, sample n's score depending
    on `inputs[n]` only) with respect to its own input: `form="relu"` the gradient's positive part, shaped like
    `inputs`; `"sum_sq"` the channel sum of squared gradients, [N, ...] without the last axis."""
    if form not in FORMS:
        raise ValueError(f"attention maps: form must be one of {FORMS}, got {form!r}")
    g = jax.grad(lambda x: jnp.sum(score_fn(x)))(inputs)
    return jnp.sum(jnp.square(g), -1) if form == "sum_sq" else jax.nn.relu(g)


def attention_maps(score_fn: Callable[[jax.Array], jax.Array], inputs: jax.Array, *,
                   form: str = "relu") -> tuple[jax.Array, jax.Array]:
    """(A_pos, A_neg) of the positive (index 1) and negative (index 0) class scores of each sample with respect to
    its own input (`input_attention` of each class's score)."""
    return (input_attention(lambda x: score_fn(x)[:, 1], inputs, form=form),
            input_attention(lambda x: score_fn(x)[:, 0], inputs, form=form))


def _stats(a: jax.Array, eps: float, mask: jax.Array | None) -> tuple[jax.Array, jax.Array]:
    flat = a.reshape(a.shape[0], -1).astype(jnp.float32)
    w = jnp.ones_like(flat) if mask is None else jnp.broadcast_to(mask, a.shape).reshape(flat.shape).astype(flat.dtype)
    count = jnp.maximum(jnp.sum(w, axis=1), 1.0)
    mean = jnp.sum(w * flat, axis=1) / count
    std = jnp.sqrt(jnp.sum(w * jnp.square(flat - mean[:, None]), axis=1) / count + eps * eps)
    return mean + eps, std


def reciprocative_loss(a_pos: jax.Array, a_neg: jax.Array, labels: jax.Array, *, eps: float = 1e-6,
                       pos_mask: jax.Array | None = None, neg_mask: jax.Array | None = None) -> jax.Array:
    """[N] regulariser per sample from the maps `a_pos`, `a_neg` [N, ...] and `labels` [N] (1 positive, 0
    negative); see the module docstring. `pos_mask` / `neg_mask` (0 / 1, broadcastable to the maps) restrict each
    map's mean and std to a region (the Siamese form: one map, inside and outside the target box); an empty region
    gives mu = sigma = eps."""
    if a_pos.shape != a_neg.shape or a_pos.shape[:1] != labels.shape:
        raise ValueError(f"reciprocative_loss: a_pos {a_pos.shape}, a_neg {a_neg.shape} and labels {labels.shape} "
                         f"must share the sample axis (maps of one shape)")
    mu_p, sd_p = _stats(a_pos, eps, pos_mask)
    mu_n, sd_n = _stats(a_neg, eps, neg_mask)
    positive = sd_p / mu_p + mu_n / sd_n
    negative = sd_n / mu_n + mu_p / sd_p
    return jnp.where(labels.astype(bool), positive, negative)


def regularised_scores(score_fn: Callable[[jax.Array], jax.Array], inputs: jax.Array, labels: jax.Array, *,
                       form: str = "relu", eps: float = 1e-6) -> tuple[jax.Array, jax.Array]:
    """(scores [N, 2], mean regulariser) in one call: the scores of `inputs` and the regulariser of their maps."""
    a_pos, a_neg = attention_maps(score_fn, inputs, form=form)
    return score_fn(inputs), jnp.mean(reciprocative_loss(a_pos, a_neg, labels, eps=eps))
