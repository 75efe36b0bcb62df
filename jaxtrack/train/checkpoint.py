"""Orbax checkpoints of a TrainState together with the data iterator's state.

Layout (the one place that knows it): a run's checkpoints are in `directory(workdir)` = `<workdir>/checkpoints`;
checkpoint `<step>` holds `<step>/state` (orbax PyTree of the TrainState) and `<directory>/<step>/data/
process_<i>-of-<n>.json` (each process's grain iterator state, grain's orbax handler). Saves are atomic
(orbax writes to a temporary directory and renames) and asynchronous for the arrays. Kept: the last `keep`
checkpoints, plus, when `best_metric` is set, the best one by that metric.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import grain
import jax
import orbax.checkpoint as ocp
from etils import epath
from orbax.checkpoint import checkpoint_managers as ocm

DIRNAME, STATE, DATA = "checkpoints", "state", "data"


def directory(workdir: epath.PathLike) -> epath.Path:
    """Where a run in `workdir` keeps its checkpoints."""
    return epath.Path(workdir) / DIRNAME


def steps(workdir: epath.PathLike) -> list[int]:
    """Sorted steps of the checkpoints of the run in `workdir` ([] when there are none)."""
    ckpt_dir = directory(workdir)
    return sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit()) if ckpt_dir.is_dir() else []


def restore_variables(workdir: epath.PathLike, step: int = -1) -> dict:
    """Flax variables {"params", "batch_stats" (if any)} of checkpoint `step` (-1: latest) of the run in `workdir`,
    restored without a template onto this process's first device, whatever devices saved it (a multi-host run)."""
    have = steps(workdir)
    if not have:
        raise FileNotFoundError(f"{directory(workdir)}: no checkpoint found; train first (launch.py --mode=train)")
    step = have[-1] if step < 0 else step
    if step not in have:
        raise FileNotFoundError(f"{directory(workdir)}: no checkpoint {step}; have {have}")
    state = restore_tree(directory(workdir) / str(step) / STATE)
    return {"params": state["params"], **({"batch_stats": state["batch_stats"]} if state.get("batch_stats") else {})}


def restore_tree(path: epath.PathLike):
    """The pytree an orbax StandardCheckpointHandler saved in `path`, restored without a template onto this
    process's first device (whatever devices saved it). FileNotFoundError names `path` when it holds none."""
    path = epath.Path(path).absolute()
    here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as ckptr:
        metadata = ckptr.metadata(path).item_metadata
        if metadata is None:
            raise FileNotFoundError(f"{path}: no orbax checkpoint there")
        target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=here), metadata.tree)
        return ckptr.restore(path, args=ocp.args.StandardRestore(target))


@dataclasses.dataclass(frozen=True)
class _IteratorSnapshot:
    """An iterator's state taken at save time; grain's handler writes `get_state()` (JSON bytes) as is."""

    state: dict

    def get_state(self) -> bytes:
        return json.dumps(self.state, indent=4).encode()


class Checkpointer:
    """Save / restore (TrainState, data iterator) pairs under `directory`.

    Args:
      directory: checkpoint root (created).
      keep: number of most recent checkpoints kept (>= 1).
      best_metric: name of a metric passed to `save`; the best checkpoint by it is kept too.
      best_mode: "min" or "max" for `best_metric`.
    """

    def __init__(self, directory, *, keep: int = 3, best_metric: str | None = None, best_mode: str = "min"):
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        if best_mode not in ("min", "max"):
            raise ValueError(f"best_mode must be 'min' or 'max', got '{best_mode}'")
        self.directory = epath.Path(directory).absolute()
        self.best_metric = best_metric
        policies = [ocm.LatestN(n=keep)]
        best_fn = None
        if best_metric:
            best_fn = lambda metrics: metrics[best_metric]
            policies.append(ocm.BestN(get_metric_fn=best_fn, reverse=best_mode == "min", n=1,
                                      keep_checkpoints_without_metrics=False))
        options = ocp.CheckpointManagerOptions(
            preservation_policy=ocm.AnyPreservationPolicy(policies), best_fn=best_fn, best_mode=best_mode,
            create=True)
        self.manager = ocp.CheckpointManager(
            self.directory, options=options,
            item_handlers={STATE: ocp.StandardCheckpointHandler(), DATA: grain.checkpoint.CheckpointHandler()})

    def save(self, step: int, state, data_state: dict, metrics: dict[str, float] | None = None) -> None:
        """Saves `state` and `data_state` (the iterator's `get_state()`) as checkpoint `step`.

        `metrics` are stored with it; it only competes for best when it has `best_metric`.
        """
        if self.best_metric and (metrics is None or self.best_metric not in metrics):
            metrics = None
        args = ocp.args.Composite(**{STATE: ocp.args.StandardSave(state),
                                     DATA: grain.checkpoint.CheckpointSave(_IteratorSnapshot(data_state))})
        self.manager.save(step, args=args, metrics=metrics, force=True)

    def restore(self, state, iterator, step: int | None = None) -> Any:
        """Checkpoint `step` (latest by default): returns the TrainState and sets `iterator`'s state in place.

        `state` is a template with the target shapes, dtypes and shardings (e.g. the freshly created state).
        """
        self.manager.wait_until_finished()
        step = self.latest_step() if step is None else step
        if step is None or step not in self.manager.all_steps():
            raise FileNotFoundError(f"no checkpoint {step} in {self.directory}; have {self.manager.all_steps()}")
        abstract = jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state)
        args = ocp.args.Composite(**{STATE: ocp.args.StandardRestore(abstract),
                                     DATA: grain.checkpoint.CheckpointRestore(iterator)})
        return self.manager.restore(step, args=args)[STATE]

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def best_step(self) -> int | None:
        """Best step by `best_metric` among those saved with it (latest step without `best_metric`)."""
        return self.manager.best_step()

    def all_steps(self) -> list[int]:
        return sorted(self.manager.all_steps())

    def path(self, step: int) -> epath.Path:
        return self.directory / str(step)

    def wait(self) -> None:
        """Blocks until pending asynchronous saves are on disk."""
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.close()
