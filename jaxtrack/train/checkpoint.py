"""Orbax checkpoints of a TrainState together with the data iterator's state.

Layout (the one place that knows it): a run's checkpoints are in `directory(workdir)` = `<workdir>/checkpoints`;
checkpoint `<step>` holds `<step>/state` (orbax PyTree of the TrainState) and `<directory>/<step>/data/
process_<i>-of-<n>.json` (each process's grain iterator state, grain's orbax handler). Saves are atomic
(orbax writes to a temporary directory and renames) and asynchronous for the arrays. Kept: the last `keep`
checkpoints, plus, when `best_metric` is set, the best one by that metric.

Restoring validates (`Checkpointer.restore_checked`): the files orbax and grain need (`state/_METADATA`,
`state/manifest.ocdbt`, every `data/process_<i>-of-<n>.json` a JSON object), the saved shapes against the run's
state (a mismatch is another configuration's checkpoint: ValueError), a full read of every array, and finite
floating-point values. A checkpoint failing any of these is corrupt; `set_aside` renames it to
`<step>.corrupt-<n>` (never deleted; `steps` and orbax no longer list it). Not detected: changed bytes inside an
array file whose size is intact (orbax stores no checksums).
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

from jaxtrack import sharding
from jaxtrack.train import optim
from jaxtrack.train.state import nonfinite_paths

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
    process's first device (whatever devices saved it). FileNotFoundError names `path` when it holds none; a
    damaged one is a one-line ValueError naming `path` and what is wrong."""
    path = epath.Path(path).absolute()
    problem = state_problem(path) if path.is_dir() and any(path.iterdir()) else None
    if problem:
        raise ValueError(f"{path}: damaged checkpoint: {problem}")
    here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as ckptr:
        metadata = ckptr.metadata(path).item_metadata
        if metadata is None:
            raise FileNotFoundError(f"{path}: no orbax checkpoint there")
        target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=here), metadata.tree)
        try:
            return ckptr.restore(path, args=ocp.args.StandardRestore(target))
        except Exception as e:  # tensorstore / orbax errors of unreadable files, several lines long
            raise ValueError(f"{path}: damaged checkpoint: {error_line(e)}") from e


def error_line(e: BaseException) -> str:
    """The root cause of `e` (the innermost chained exception) in one line, without tensorstore's spec dumps."""
    while (e.__cause__ or e.__context__) is not None:
        e = e.__cause__ or e.__context__
    text = " ".join(str(e).split()).split(" [tensorstore_spec")[0].split(" See full TensorStore details")[0]
    return f"{type(e).__name__}: {text[:400]}"


def state_problem(state_dir: epath.PathLike) -> str | None:
    """What is missing in the orbax (OCDBT) checkpoint folder `state_dir`, or None."""
    state_dir = epath.Path(state_dir)
    if not state_dir.is_dir():
        return f"{state_dir.name}/ is missing"
    if not (state_dir / "_METADATA").exists():
        return f"{state_dir.name}/_METADATA is missing"
    ocdbt = (state_dir / "d").exists() or any(state_dir.glob("ocdbt.process_*"))
    if ocdbt and not (state_dir / "manifest.ocdbt").exists():
        return f"{state_dir.name}/manifest.ocdbt is missing"
    return None


def file_problem(step_dir: epath.PathLike) -> str | None:
    """What is missing or unreadable among the files of checkpoint `step_dir` (`state/`, and with a `data/`
    folder each process's iterator JSON), or None. Does not read the arrays."""
    step_dir = epath.Path(step_dir)
    problem = state_problem(step_dir / STATE)
    data = step_dir / DATA
    if problem or not data.exists():
        return problem
    files = sorted(data.glob("process_*-of-*.json"))
    if not files:
        return f"{DATA}/ holds no process_<i>-of-<n>.json"
    for f in files:
        size = f.stat().length
        try:
            if not isinstance(json.loads(f.read_bytes()), dict):
                raise ValueError("not a JSON object")
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            what = "is empty (0 bytes)" if not size else f"is not an iterator state ({size} bytes; {error_line(e)})"
            return f"{DATA}/{f.name} {what}"
    return None


def _shapes(tree) -> dict[str, tuple]:
    return {optim.param_path(p): tuple(x.shape) for p, x in jax.tree_util.tree_flatten_with_path(tree)[0]}


def check_fits(saved, template, where: epath.Path) -> None:
    """ValueError naming `where` when the saved tree (arrays or orbax metadata) has other paths or shapes than
    `template`: a checkpoint of another model or optimizer, not a damaged one."""
    have, want = _shapes(saved), _shapes(template)
    problems = [f"{p}: missing" for p in sorted(set(want) - set(have))]
    problems += [f"{p}: not in this run" for p in sorted(set(have) - set(want))]
    problems += [f"{p}: expected shape {want[p]}, found {have[p]}" for p in sorted(set(want) & set(have))
                 if want[p] != have[p]]
    if problems:
        listed = "; ".join(problems[:5]) + (f"; ... {len(problems) - 5} more" if len(problems) > 5 else "")
        raise ValueError(f"{where} is a checkpoint of another model or optimizer ({listed}): rerun the "
                         f"configuration that wrote it, or start afresh with --noresume")


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

    def restore_checked(self, state, iterator, step: int) -> tuple[Any, str | None]:
        """(restored state, None) when checkpoint `step` is intact (module docstring), else (None, what is wrong,
        one line); `iterator` is set on success. Every process decides alike (a collective with several).

        Raises:
          ValueError: the checkpoint is another configuration's (shapes, process count), not a damaged one.
        """
        self.manager.wait_until_finished()
        path, restored = self.path(step), None
        problem = file_problem(path)
        own = path / DATA / f"process_{jax.process_index()}-of-{jax.process_count()}.json"
        if problem is None and not own.exists():
            raise ValueError(f"{path} was saved by a run with another process count (no {DATA}/{own.name}): "
                             f"resume it with as many processes as wrote it, or start afresh with --noresume")
        if problem is None:
            try:
                with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as ckptr:
                    saved = ckptr.metadata(path / STATE).item_metadata.tree
            except Exception as e:  # orbax / tensorstore errors of unreadable metadata
                problem = f"{STATE}/_METADATA cannot be read ({error_line(e)})"
        if problem is None:
            check_fits(saved, state, path)
            try:
                restored = self.restore(state, iterator, step)
            except Exception as e:  # truncated or missing array data: tensorstore / orbax errors
                problem = f"cannot be read ({error_line(e)})"
        if problem is None and (bad := nonfinite_paths(restored)):
            problem = f"holds non-finite values in {', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}"
        problems = [p for p in sharding.gather_objects(problem) if p]
        return (restored, None) if not problems else (None, problems[0])

    def set_aside(self, step: int) -> epath.Path:
        """Renames checkpoint `step` to `<step>.corrupt-<n>` (the first free n >= 1); returns the new path."""
        n = 1
        while (self.directory / f"{step}.corrupt-{n}").exists():
            n += 1
        target = self.directory / f"{step}.corrupt-{n}"
        sharding.barrier(f"set aside checkpoint {step}")  # every process has chosen `target`
        if jax.process_index() == 0:
            self.path(step).rename(target)
        sharding.barrier(f"checkpoint {step} set aside")
        self.manager.reload()
        return target

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
