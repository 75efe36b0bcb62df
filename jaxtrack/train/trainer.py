"""The one trainer: `train(config, workdir, task=..., train_data=...)` for every experiment.

A task knows its model; the trainer knows steps, devices, optimizers, checkpoints and logs. Step numbers
count updates: "step s" is the update that makes `state.step == s` (1-based), using the s-th batch and the
key `fold_in(key, s - 1)`. The loop, in order: create the state, restore the latest checkpoint of
`<workdir>/checkpoints` (state + data iterator) if any -- a variables-only checkpoint (a converted model,
`train.init_from`) gives the variables of step 0 instead, and with no checkpoint the `init` hook (pretrained
backbone) is applied --, then per step: batch -> train step -> NaN guard -> log -> eval -> checkpoint.

Reliability: `check_config` rejects impossible settings before any work. Restoring validates each checkpoint,
newest first (`checkpoint.Checkpointer.restore_checked`); a corrupt one is reported in one line and set aside
(`<step>.corrupt-<n>`), and the run resumes from the newest intact one. `metrics.jsonl` (and TensorBoard) are cut
back to the step the run starts after. NaN guard: the train step also reports whether its loss, gradient norm,
new parameters, optimizer state and batch statistics are all finite; every step is checked (a step's check
overlaps the next step's computation) and a step that is logged, evaluated or saved is checked before that, so no
non-finite state is ever saved: `DivergedError` names the first bad step and the last checkpoint.
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
from jaxtrack.train.state import TrainState, all_finite, step_key

Batch = Any
Metrics = dict[str, jax.Array]
NONFINITE = "nonfinite"  # train-step metric: bit i set when GUARDED[i] holds a NaN or Inf
GUARDED = ("loss", "gradient norm", "parameters", "optimizer state", "batch statistics")
POSITIVE = ("num_epochs", "steps_per_epoch", "log_every", "eval_every", "checkpoint_every", "keep_checkpoints",
            "data.batch_size")  # trainer settings that must be integers >= 1


class DivergedError(FloatingPointError, ValueError):
    """A non-finite training step; also a ValueError, so that launch.py reports it in one line."""


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


def check_config(config: ml_collections.ConfigDict) -> None:
    """Rejects impossible trainer settings (ValueError naming the key, expected and actual value): `POSITIVE` keys
    not integers >= 1, `best_mode`, `optim.grad_clip` not finite, rates that are negative or not finite (not
    positive for a log schedule), and an optimizer that cannot be built."""
    for key in POSITIVE:
        node = config
        for part in key.split("."):
            node = node.get(part) if node is not None else None
        if node is not None and (not isinstance(node, int) or isinstance(node, bool) or node < 1):
            raise ValueError(f"config.{key}: expected an integer >= 1, got {node!r}")
    if config.best_mode not in ("min", "max"):
        raise ValueError(f"config.best_mode: expected 'min' or 'max', got {config.best_mode!r}")
    if not np.isfinite(config.optim.grad_clip):
        raise ValueError(f"config.optim.grad_clip: expected a finite number (<= 0: no clipping), got "
                         f"{config.optim.grad_clip}")
    for name in ("warmup", "lr"):
        space = config.optim[name]
        for field in ("start_lr", "end_lr") if name == "lr" or space.epochs else ():
            value, log = space.get(field), space.type == "log"
            if value is not None and not (np.isfinite(value) and (value > 0 if log else value >= 0)):
                raise ValueError(f"config.optim.{name}.{field}: expected a finite rate "
                                 f"{'> 0 (a log schedule)' if log else '>= 0'}, got {value}")
    optim.make_optimizer(config.optim, num_epochs=config.num_epochs, steps_per_epoch=config.steps_per_epoch)
    rates = optim.lr_epochs(config.optim, config.num_epochs)
    if not (np.isfinite(rates) & (rates >= 0)).all():
        raise ValueError(f"config.optim: expected finite learning rates >= 0, the schedule gives {rates.tolist()}")


def create_state(task: Task, opt: optim.Optimizer, batch: Batch, seed: int, mesh: Mesh) -> TrainState:
    """Step-0 state, replicated on `mesh`; `batch` (global, on the mesh) gives the input shapes."""
    def init(batch):
        init_key, train_key = jax.random.split(jax.random.key(seed))
        variables = task.init(init_key, batch)
        return TrainState.create(params=variables["params"], batch_stats=variables.get("batch_stats", {}),
                                 tx=opt.tx, key=train_key, apply_fn=getattr(task, "apply_fn", None))
    return jax.jit(init, out_shardings=sharding.replicated(mesh))(batch)


def make_train_step(task: Task, opt: optim.Optimizer, mesh: Mesh) -> Callable:
    """Jitted `(state, batch, key) -> (state, metrics)`; donates `state`; batch sharded on "data". `metrics`
    holds the scalars of `task.loss_fn`, "loss", "lr", "grad_norm" and `NONFINITE` (the NaN guard's bits)."""
    def train_step(state: TrainState, batch, key):
        grad_fn = jax.value_and_grad(task.loss_fn, has_aux=True)
        (loss, (metrics, batch_stats)), grads = grad_fn(state.params, state.batch_stats, batch, key)
        batch_stats = opt.hold_frozen_stats(state.batch_stats, batch_stats, state.step)
        new_state = state.apply_gradients(grads, batch_stats)
        grad_norm = optax.tree.norm(grads)
        finite = (jnp.isfinite(loss), jnp.isfinite(grad_norm), all_finite(new_state.params),
                  all_finite(new_state.opt_state), all_finite(new_state.batch_stats))
        nonfinite = sum(jnp.where(ok, 0, 1 << i) for i, ok in enumerate(finite)).astype(jnp.int32)
        return new_state, {**metrics, "loss": loss, "lr": opt.lr(state.step), "grad_norm": grad_norm,
                           NONFINITE: nonfinite}

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


def _check_finite(step: int, nonfinite, loss, ckpt: checkpoint.Checkpointer) -> None:
    """NaN/Inf guard: DivergedError naming `step`, what is not finite and the last (finite) checkpoint."""
    bits = int(jax.device_get(nonfinite))
    if not bits:
        return
    ckpt.wait()
    last = ckpt.latest_step()
    where = f"{ckpt.path(last)} (step {last})" if last is not None else f"none saved yet in {ckpt.directory}"
    bad = ", ".join(name for i, name in enumerate(GUARDED) if bits >> i & 1)
    raise DivergedError(f"non-finite {bad} at step {step} (loss {float(jax.device_get(loss)):.4g}): training "
                        f"stopped, nothing of step {step} saved. Last checkpoint (finite): {where}; lower optim.lr "
                        f"or set optim.grad_clip, then rerun (resumes from it) or start afresh with --noresume")


def _resume(ckpt: checkpoint.Checkpointer, state: TrainState, it: DataIterator, workdir: str,
            init: Callable[[TrainState], TrainState] | None) -> TrainState:
    """`state` (and `it`) from the newest intact checkpoint, newer corrupt ones set aside with one line each; the
    variables of a variables-only checkpoint; else `init(state)` (or `state`) with `it` untouched."""
    fresh, skipped = it.get_state(), False
    for step in reversed(ckpt.all_steps()):
        path = ckpt.path(step)
        if init_from.is_variables_only(path):
            print(f"starting from the variables of {path} (step 0, fresh optimizer)", flush=True)
            it.set_state(fresh)
            return init_from.replace_variables(state, checkpoint.restore_variables(workdir, step),
                                               what=f"variables of {path}")
        restored, problem = ckpt.restore_checked(state, it, step)
        if problem is None:
            print(f"resuming from {path}{' (the newest intact checkpoint)' if skipped else ''}", flush=True)
            return restored
        print(f"corrupt checkpoint {path}: {problem}; set aside as {ckpt.set_aside(step).name}", flush=True)
        skipped = True
    if skipped:
        print(f"no intact checkpoint left in {ckpt.directory}: training from step 0", flush=True)
    it.set_state(fresh)
    return init(state) if init is not None else state


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
      ValueError: an impossible setting (`check_config`); a checkpoint of another configuration.
      DivergedError: a non-finite step (names the step and the last checkpoint).
    """
    check_config(config)
    mesh = mesh or sharding.make_mesh()
    total = config.num_epochs * config.steps_per_epoch
    opt = optim.make_optimizer(config.optim, num_epochs=config.num_epochs, steps_per_epoch=config.steps_per_epoch)
    it = train_data()
    state = create_state(task, opt, sharding.put_batch(_peek(it), mesh), config.seed, mesh)
    ckpt = checkpoint.Checkpointer(checkpoint.directory(workdir), keep=config.keep_checkpoints,
                                   best_metric=config.best_metric or None, best_mode=config.best_mode)
    state = _resume(ckpt, state, it, workdir, init)
    start = int(state.step)
    train_step = make_train_step(task, opt, mesh)
    eval_fn = getattr(task, "eval_fn", None) if eval_data is not None else None
    eval_step = jax.jit(eval_fn) if eval_fn else None
    rng = np.asarray(jax.device_get(state.rng))
    writer = metrics_io.MetricWriter(workdir, tensorboard=config.tensorboard, start_step=start)
    bar = metrics_io.progress_bar(total, start, enabled=config.progress)
    history, pending, tick = [], None, (start, time.perf_counter())
    try:
        for step in range(start + 1, total + 1):
            state, metrics = train_step(state, sharding.put_batch(next(it), mesh), step_key(rng, step - 1))
            if pending is not None:  # check the previous step while this one runs
                _check_finite(*pending, ckpt)
            nonfinite = metrics.pop(NONFINITE)
            pending = (step, nonfinite, metrics["loss"])
            history.append(metrics)
            bar.update()
            last = step == total
            do_log, do_save = step % config.log_every == 0 or last, step % config.checkpoint_every == 0 or last
            do_eval = eval_step is not None and (step % config.eval_every == 0 or last)
            if not (do_log or do_save or do_eval):
                continue
            _check_finite(step, nonfinite, metrics["loss"], ckpt)
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
