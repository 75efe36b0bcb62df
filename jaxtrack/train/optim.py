"""Optimizers and pysot learning-rate schedules, built from a ConfigDict.

Fields: `jaxtrack.config.optim()` (pysot's SiamRPN++ settings by default).

Schedules are per epoch as in pysot (`pysot/utils/lr_scheduler.py`): the rate is constant within an
epoch. With `warmup.epochs = W > 0` the first W epochs follow the warm-up space and the remaining
`num_epochs - W` the main space (pysot `WarmUPScheduler`). Spaces over n epochs, e = 0..n-1:
  log:      start * (end / start) ** (e / (n - 1))                      (np.logspace)
  step:     start * mult ** (e // step), with mult = (end / start) ** (1 / (n // step)) if end_lr is set
  linear:   start + (end - start) * e / (n - 1)                         (np.linspace)
  cos:      end + (start - end) * (1 + cos(pi * e / n)) / 2
  constant: start

Parameter groups by path prefix ("backbone" matches "backbone/..."; paths join dict keys with "/"):
  frozen:   `backbone.frozen_prefixes`, never updated.
  backbone: `backbone.prefixes`, no update (gradient, decay, momentum) for the first `backbone.train_epoch`
            epochs, then updated at `backbone.lr_mult` x the rate with fresh optimizer state (pysot rebuilds
            its optimizer when the backbone is unfrozen).
  rest:     everything else, updated from step 0.
Chain: zero frozen gradients -> clip to global norm `grad_clip` -> per group: L2 weight decay (added to the
gradient, as torch's SGD/Adam `weight_decay`), SGD momentum (torch semantics) or Adam, scaled by -rate.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

FROZEN, BACKBONE, REST = "frozen", "backbone", "rest"



def lr_space(cfg: ml_collections.ConfigDict, epochs: int) -> np.ndarray:
    """[epochs] float64 per-epoch rates of one pysot space (`cfg.type`, see the module docstring)."""
    if epochs < 1:
        raise ValueError(f"lr space '{cfg.type}' needs epochs >= 1, got {epochs}")
    start, end = cfg.start_lr, cfg.get("end_lr")
    e = np.arange(epochs)
    if cfg.type == "log":
        return np.logspace(math.log10(start), math.log10(end), epochs)
    if cfg.type == "step":
        mult = cfg.mult if end is None else (end / start) ** (1.0 / (epochs // cfg.step))
        return start * mult ** (e // cfg.step)
    if cfg.type == "linear":
        return np.linspace(start, end, epochs)
    if cfg.type == "cos":
        return end + (start - end) * (1.0 + np.cos(e * np.pi / epochs)) * 0.5
    if cfg.type == "constant":
        return np.full(epochs, float(start))
    raise ValueError(f"lr type must be one of log, step, linear, cos, constant; got '{cfg.type}'")


def lr_epochs(cfg: ml_collections.ConfigDict, num_epochs: int) -> np.ndarray:
    """[num_epochs] per-epoch rates: warm-up space (if `cfg.warmup.epochs`) then the main space."""
    warm = cfg.warmup.epochs if "warmup" in cfg else 0
    if not 0 <= warm < num_epochs:
        raise ValueError(f"warmup.epochs must be in [0, num_epochs={num_epochs}), got {warm}")
    main = lr_space(cfg.lr, num_epochs - warm)
    return np.concatenate([lr_space(cfg.warmup, warm), main]) if warm else main


def make_schedule(cfg: ml_collections.ConfigDict, *, num_epochs: int, steps_per_epoch: int) -> optax.Schedule:
    """step (0-based update count) -> rate of epoch `step // steps_per_epoch` (last epoch's rate beyond)."""
    table = jnp.asarray(lr_epochs(cfg, num_epochs), jnp.float32)
    return lambda step: table[jnp.minimum(step // steps_per_epoch, num_epochs - 1)]


def param_path(path) -> str:
    """'a/b/c' from a jax key path of dict keys / attributes / indices."""
    return "/".join(str(getattr(k, "key", getattr(k, "name", getattr(k, "idx", k)))) for k in path)


def _matches(path: str, prefixes) -> bool:
    return any(path == p or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def param_labels(tree, backbone_cfg: ml_collections.ConfigDict):
    """Same tree of group names FROZEN / BACKBONE / REST by path prefix (frozen wins over backbone)."""
    def label(path, _):
        name = param_path(path)
        if _matches(name, backbone_cfg.frozen_prefixes):
            return FROZEN
        return BACKBONE if _matches(name, backbone_cfg.prefixes) else REST
    return jax.tree_util.tree_map_with_path(label, tree)


class HoldState(NamedTuple):
    count: jax.Array  # [] int32 updates seen
    inner: Any


def hold_until(inner: optax.GradientTransformation, steps: int) -> optax.GradientTransformation:
    """Zero updates and untouched `inner` state for the first `steps` updates, then `inner`."""
    def init(params):
        return HoldState(jnp.zeros([], jnp.int32), inner.init(params))

    def update(updates, state, params=None):
        hold = lambda: (jax.tree.map(jnp.zeros_like, updates), state.inner)
        new, inner_state = jax.lax.cond(state.count >= steps, lambda: inner.update(updates, state.inner, params), hold)
        return new, HoldState(optax.safe_int32_increment(state.count), inner_state)

    return optax.GradientTransformation(init, update)


@dataclasses.dataclass(frozen=True)
class Optimizer:
    """The transformation plus what the trainer needs to know about it.

    Attributes:
      tx: the optax transformation.
      lr: step -> base rate (the REST group's rate; BACKBONE gets `lr_mult` x once unfrozen).
      labels: tree -> tree of group names (works on `params` and on `batch_stats`).
      freeze_steps: updates during which the BACKBONE group is held.
    """

    tx: optax.GradientTransformation
    lr: optax.Schedule
    labels: Callable[[Any], Any]
    freeze_steps: int

    def hold_frozen_stats(self, old, new, step: jax.Array):
        """`new` batch_stats, except FROZEN leaves and, before `freeze_steps`, BACKBONE leaves keep `old`."""
        keep = lambda label: (label == FROZEN) | ((label == BACKBONE) & (step < self.freeze_steps))
        return jax.tree.map(lambda lab, o, n: jnp.where(keep(lab), o, n), self.labels(old), old, new)


def make_optimizer(cfg: ml_collections.ConfigDict, *, num_epochs: int, steps_per_epoch: int) -> Optimizer:
    """The optimizer described in the module docstring, for a run of `num_epochs * steps_per_epoch` updates."""
    if steps_per_epoch < 1 or num_epochs < 1:
        raise ValueError(f"num_epochs and steps_per_epoch must be >= 1, got {num_epochs}, {steps_per_epoch}")
    lr = make_schedule(cfg, num_epochs=num_epochs, steps_per_epoch=steps_per_epoch)
    freeze_steps = int(cfg.backbone.train_epoch) * steps_per_epoch
    labels = lambda tree: param_labels(tree, cfg.backbone)

    def direction() -> optax.GradientTransformation:
        if cfg.name == "sgd":
            return optax.trace(decay=cfg.momentum, nesterov=False)
        if cfg.name == "adam":
            return optax.scale_by_adam(b1=cfg.b1, b2=cfg.b2, eps=cfg.eps)
        raise ValueError(f"optim.name must be 'sgd' or 'adam', got '{cfg.name}'")

    def group(mult: float, hold: int) -> optax.GradientTransformation:
        core = optax.chain(optax.add_decayed_weights(cfg.weight_decay), direction())
        return optax.chain(hold_until(core, hold) if hold else core, optax.scale_by_schedule(lambda s: -mult * lr(s)))

    gate = optax.multi_transform(
        {FROZEN: optax.set_to_zero(), BACKBONE: hold_until(optax.identity(), freeze_steps), REST: optax.identity()},
        labels)
    clip = optax.clip_by_global_norm(cfg.grad_clip) if cfg.grad_clip > 0 else optax.identity()
    update = optax.multi_transform(
        {FROZEN: optax.set_to_zero(), BACKBONE: group(cfg.backbone.lr_mult, freeze_steps), REST: group(1.0, 0)},
        labels)
    return Optimizer(optax.chain(gate, clip, update), lr, labels, freeze_steps)
