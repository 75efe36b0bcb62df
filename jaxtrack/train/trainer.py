"""The one trainer: `train(config, workdir, task=..., train_data=...)` for every experiment.

A task knows its model; the trainer knows steps, devices, optimizers, checkpoints and logs. Step numbers
count updates: "step s" is the update that makes `state.step == s` (1-based), using the s-th batch and the
key `fold_in(key, s - 1)`. The loop, in order: create the state, restore the latest checkpoint of
`<workdir>/checkpoints` (state + data iterator) if any -- a variables-only checkpoint (a converted model,
`train.init_from`) gives the variables of step 0 instead, and with no checkpoint the `init` hook (pretrained
backbone) is applied --, then per step: batch -> train step -> NaN guard -> log -> eval -> checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax
from jax.sharding import Mesh

from jaxtrack import sharding
from jaxtrack.train import checkpoint, init_from, metrics_io, optim
from jaxtrack.train.state import TrainState, step_key

Batch = Any
Metrics = dict[str, jax.Array]


class Task(Protocol):
    """What the trainer needs from an experiment. Optional: `eval_fn(params, batch_stats, batch) -> metrics`
    (scalar means over the batch) and `apply_fn` (stored in the state for inference)."""

    def init(self, key: jax.Array, batch: Batch) -> dict:
        """Variables {"params": ..., "batch_stats": ... (optional)} for a batch like `batch`."""

    def loss_fn(self, params, batch_stats, batch: Batch, key: jax.Array) -> tuple[jax.Array, tuple[Metrics, Any]]:
        """(scalar loss, (scalar metrics, new batch_stats)) of one training batch."""


class DataIterator(Protocol):
    """A batch iterator with grain's checkpoint interface (e.g. `iter(grain IterDataset)`)."""

    def __next__(self) -> Batch: ...
    def get_state(self) -> dict: ...
    def set_state(self, state: dict) -> None: ...



def create_state(task: Task, opt: optim.Optimizer, batch: Batch, seed: int, mesh: Mesh) -> TrainState:
    """Step-0 state, replicated on `mesh`; `batch` (global, on the mesh) gives the input shapes."""
    def init(batch):
        init_key, train_key = jax.random.split(jax.random.key(seed))
        variables = task.init(init_key, batch)
        return TrainState.create(params=variables["params"], batch_stats=variables.get("batch_stats", {}),
                                 tx=opt.tx, key=train_key, apply_fn=getattr(task, "apply_fn", None))
    return jax.jit(init, out_shardings=sharding.replicated(mesh))(batch)


def make_train_step(task: Task, opt: optim.Optimizer, mesh: Mesh) -> Callable:
    """Jitted `(state, batch, key) -> (state, metrics)`; donates `state`; batch sharded on "data"."""
    def train_step(state: TrainState, batch, key):
        grad_fn = jax.value_and_grad(task.loss_fn, has_aux=True)
        (loss, (metrics, batch_stats)), grads = grad_fn(state.params, state.batch_stats, batch, key)
        batch_stats = opt.hold_frozen_stats(state.batch_stats, batch_stats, state.step)
        new_state = state.apply_gradients(grads, batch_stats)
        return new_state, {**metrics, "loss": loss, "lr": opt.lr(state.step), "grad_norm": optax.tree.norm(grads)}

    repl = sharding.replicated(mesh)
    return jax.jit(train_step, in_shardings=(repl, sharding.batch_sharding(mesh), repl), out_shardings=repl,
                   donate_argnums=0)


def evaluate(eval_step: Callable, state: TrainState, batches: Iterable[Batch], mesh: Mesh) -> dict[str, float]:
    """Mean over batches of `eval_step(params, batch_stats, batch)` metrics, keys prefixed "eval/"."""
    totals, count = None, 0
    for batch in batches:
        m = eval_step(state.params, state.batch_stats, sharding.put_batch(batch, mesh))
        totals = m if totals is None else jax.tree.map(jnp.add, totals, m)
        count += 1
    if not count:
        raise ValueError("eval data gave no batches")
    return {f"eval/{k}": float(v) / count for k, v in jax.device_get(totals).items()}


def _check_finite(loss, step: int, ckpt: checkpoint.Checkpointer) -> None:
    """NaN/Inf guard: raises FloatingPointError naming `step` and the last good checkpoint."""
    if np.isfinite(loss):
        return
    ckpt.wait()
    last = ckpt.latest_step()
    where = f"{ckpt.path(last)} (step {last})" if last is not None else f"none saved yet in {ckpt.directory}"
    raise FloatingPointError(f"non-finite loss {float(loss)} at step {step}: training stopped. "
                             f"Last good checkpoint: {where}")


def _mean(history: list[Metrics]) -> dict[str, float]:
    stacked = jax.device_get(history)
    return {f"train/{k}": float(np.mean([m[k] for m in stacked])) for k in stacked[0]}


def _peek(it: DataIterator) -> Batch:
    """The next batch without consuming it (restores the iterator's state)."""
    state = it.get_state()
    batch = next(it)
    it.set_state(state)
    return batch


def train(config: ml_collections.ConfigDict, workdir: str, *, task: Task, train_data: Callable[[], DataIterator],
          eval_data: Callable[[], Iterable[Batch]] | None = None, mesh: Mesh | None = None,
          init: Callable[[TrainState], TrainState] | None = None) -> TrainState:
    """Trains `task` for `config.num_epochs * config.steps_per_epoch` steps; returns the final state.

    Args:
      config: the experiment config; its trainer keys (`jaxtrack.config.experiment`) and `seed`.
      workdir: checkpoints (`checkpoints/`), `metrics.jsonl`, `tensorboard/`; a run resumes from it.
      task: see `Task`.
      train_data: () -> fresh iterator of this process's batches (leaves [B_local, ...]), infinite or at
        least as long as the run; its state is checkpointed with the model.
      eval_data: () -> iterable of eval batches (a fresh pass each call); used with `task.eval_fn`.
      mesh: device mesh with a "data" axis; all devices by default.
      init: applied to the freshly created state when `workdir` has no checkpoint (e.g.
        `init_from.backbone_init`: pretrained backbone weights).
    Raises:
      FloatingPointError: a non-finite loss (names the step and the last good checkpoint).
    """
    mesh = mesh or sharding.make_mesh()
    total = config.num_epochs * config.steps_per_epoch
    opt = optim.make_optimizer(config.optim, num_epochs=config.num_epochs, steps_per_epoch=config.steps_per_epoch)
    it = train_data()
    state = create_state(task, opt, sharding.put_batch(_peek(it), mesh), config.seed, mesh)
    ckpt = checkpoint.Checkpointer(checkpoint.directory(workdir), keep=config.keep_checkpoints,
                                   best_metric=config.best_metric or None, best_mode=config.best_mode)
    latest = ckpt.latest_step()
    if latest is not None and init_from.is_variables_only(ckpt.path(latest)):
        print(f"starting from the variables of {ckpt.path(latest)} (step 0, fresh optimizer)", flush=True)
        state = init_from.replace_variables(state, checkpoint.restore_variables(workdir, latest),
                                            what=f"variables of {ckpt.path(latest)}")
    elif latest is not None:
        print(f"resuming from {ckpt.path(latest)}", flush=True)
        state = ckpt.restore(state, it)
    elif init is not None:
        state = init(state)
    start = int(state.step)
    train_step = make_train_step(task, opt, mesh)
    eval_fn = getattr(task, "eval_fn", None) if eval_data is not None else None
    eval_step = jax.jit(eval_fn) if eval_fn else None
    rng = np.asarray(jax.device_get(state.rng))
    writer = metrics_io.MetricWriter(workdir, tensorboard=config.tensorboard)
    bar = metrics_io.progress_bar(total, start, enabled=config.progress)
    history, pending, tick = [], None, (start, time.perf_counter())
    try:
        for step in range(start + 1, total + 1):
            state, metrics = train_step(state, sharding.put_batch(next(it), mesh), step_key(rng, step - 1))
            if pending is not None:  # check the previous step while this one runs
                _check_finite(jax.device_get(pending[1]), pending[0], ckpt)
            pending = (step, metrics["loss"])
            history.append(metrics)
            bar.update()
            last = step == total
            do_log, do_save = step % config.log_every == 0 or last, step % config.checkpoint_every == 0 or last
            do_eval = eval_step is not None and (step % config.eval_every == 0 or last)
            if not (do_log or do_save or do_eval):
                continue
            _check_finite(jax.device_get(metrics["loss"]), step, ckpt)
            pending, scalars = None, {}
            if do_log:
                rate = (step - tick[0]) / (time.perf_counter() - tick[1])
                scalars.update(_mean(history), **{"train/steps_per_sec": rate})
                history, tick = [], (step, time.perf_counter())
            if do_eval:
                scalars.update(evaluate(eval_step, state, eval_data(), mesh))
            writer.write(step, scalars)
            if do_save:
                ckpt.save(step, state, it.get_state(), scalars)
        ckpt.wait()
    finally:
        bar.close()
        writer.close()
        ckpt.close()
    return state
