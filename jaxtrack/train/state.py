"""TrainState: everything a training step updates, as one jit-able, checkpointable pytree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct

from jaxtrack.train.optim import param_path


@struct.dataclass
class TrainState:
    """Training state; `tx` and `apply_fn` are static (not saved, not traced).

    Attributes:
      step: [] int32, number of updates applied so far.
      params, batch_stats: model variables (`batch_stats` is `{}` for models without BatchNorm).
      opt_state: `tx`'s state.
      rng: [2] uint32 raw data of the run's base key (`jax.random.key_data`); step keys come from `step_key`.
    """

    step: jax.Array
    params: Any
    batch_stats: Any
    opt_state: Any
    rng: jax.Array
    tx: optax.GradientTransformation = struct.field(pytree_node=False)
    apply_fn: Callable | None = struct.field(pytree_node=False, default=None)

    @classmethod
    def create(cls, *, params, batch_stats, tx: optax.GradientTransformation, key: jax.Array,
               apply_fn: Callable | None = None) -> TrainState:
        """A step-0 state; `key` is a typed key (`jax.random.key`)."""
        return cls(step=jnp.zeros([], jnp.int32), params=params, batch_stats=batch_stats,
                   opt_state=tx.init(params), rng=jax.random.key_data(key), tx=tx, apply_fn=apply_fn)

    def apply_gradients(self, grads, batch_stats) -> TrainState:
        """One optimizer update with `grads` (same tree as `params`); stores the new `batch_stats`."""
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
        return self.replace(step=self.step + 1, params=optax.apply_updates(self.params, updates),
                            batch_stats=batch_stats, opt_state=opt_state)


def step_key(rng: jax.Array, step: int | jax.Array) -> jax.Array:
    """The typed key of update `step` (0-based): `fold_in(key, step)` of the base key data `rng` [2] uint32."""
    return jax.random.fold_in(jax.random.wrap_key_data(rng), step)


def _floats(tree) -> list[tuple[str, jax.Array]]:
    return [(param_path(p), x) for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]
            if jnp.issubdtype(jnp.result_type(x), jnp.inexact)]


_leaves_finite = jax.jit(lambda leaves: [jnp.all(jnp.isfinite(x)) for x in leaves])


def all_finite(tree) -> jax.Array:
    """[] bool: no NaN or Inf in any floating-point leaf of `tree` (True without any); traceable."""
    checks = [jnp.all(jnp.isfinite(x)) for _, x in _floats(tree)]
    return jnp.all(jnp.stack(checks)) if checks else jnp.bool_(True)


def nonfinite_paths(tree) -> list[str]:
    """Paths ("params/head/kernel") of the floating-point leaves of `tree` holding a NaN or Inf, in tree order."""
    floats = _floats(tree)
    finite = jax.device_get(_leaves_finite([x for _, x in floats]))
    return [path for (path, _), ok in zip(floats, finite) if not ok]
