"""Training from converted weights: variables-only checkpoints and pretrained backbones (orbax, no optimizer).

    <workdir>/checkpoints/0/state   {"params", "batch_stats"} of a whole model (`save_variables`; `--mode=convert`).
                                    `workdir.load_tracker` reads it like a trained checkpoint; the trainer, finding
                                    it as the latest checkpoint (`is_variables_only`), starts from these variables
                                    at step 0 with a fresh optimizer instead of resuming.
    <dir>/backbone/                 {"params", "batch_stats"} of a backbone (`save_backbone`; `--mode=convert` with
                                    `convert.kind=backbone`). `config.model.init_from=<dir>` (or `<dir>/backbone`)
                                    loads it into a fresh training state (`backbone_init`).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np
import orbax.checkpoint as ocp
from etils import epath

from jaxtrack.train import checkpoint
from jaxtrack.train.state import TrainState

BACKBONE = "backbone"


def save_variables(workdir: epath.PathLike, variables: dict) -> epath.Path:
    """Writes `variables` as the variables-only checkpoint 0 of `workdir`; returns its step directory."""
    directory = checkpoint.directory(workdir).absolute()
    with ocp.CheckpointManager(directory, item_handlers={checkpoint.STATE: ocp.StandardCheckpointHandler()},
                               options=ocp.CheckpointManagerOptions(create=True)) as manager:
        manager.save(0, args=ocp.args.Composite(**{checkpoint.STATE: ocp.args.StandardSave(variables)}), force=True)
        manager.wait_until_finished()
    return directory / "0"


def is_variables_only(step_dir: epath.PathLike) -> bool:
    """True for a checkpoint without the trainer's data-iterator state (a converted model, not a training run)."""
    step_dir = epath.Path(step_dir)
    return (step_dir / checkpoint.STATE).exists() and not (step_dir / checkpoint.DATA).exists()


def save_backbone(workdir: epath.PathLike, variables: dict) -> epath.Path:
    """Writes backbone `variables` {"params", "batch_stats"} to `<workdir>/backbone`; returns that path."""
    path = (epath.Path(workdir) / BACKBONE).absolute()
    with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as ckptr:
        ckptr.save(path, args=ocp.args.StandardSave(variables), force=True)
    return path


def load_backbone(path: epath.PathLike) -> dict:
    """{"params", "batch_stats"} saved by `save_backbone` in `path` or `path/backbone`."""
    path = epath.Path(path).absolute()
    if (path / BACKBONE).is_dir():
        path = path / BACKBONE
    if not path.is_dir():
        raise FileNotFoundError(f"model.init_from={path}: no such directory (write one with launch.py --mode=convert "
                                f"--config.convert.kind=backbone)")
    try:
        return checkpoint.restore_tree(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"model.init_from={path} holds no converted backbone (write one with launch.py "
                                f"--mode=convert --config.convert.kind=backbone)") from None


def _paths(tree) -> dict[str, tuple]:
    return {"/".join(str(k.key) for k in p): np.shape(v) for p, v in jax.tree_util.tree_flatten_with_path(tree)[0]}


def replace_variables(state: TrainState, variables: dict, under: str = "", what: str = "variables") -> TrainState:
    """`state` (freshly created) with its params / batch_stats (the subtrees `under`, e.g. "backbone") taken from
    `variables`, cast and placed like the leaves they replace. The trees must match exactly: a ValueError lists the
    paths missing on either side and the shape mismatches."""
    out = {}
    for col in ("params", "batch_stats"):
        old = getattr(state, col)
        old = old.get(under, {}) if under else old
        new = variables.get(col, {})
        have, want = _paths(new), _paths(old)
        problems = [f"{col}/{p}: missing in the {what}" for p in sorted(set(want) - set(have))]
        problems += [f"{col}/{p}: not in the model" for p in sorted(set(have) - set(want))]
        problems += [f"{col}/{p}: expected {want[p]}, found {have[p]}" for p in sorted(set(want) & set(have))
                     if want[p] != have[p]]
        if problems:
            listed = "; ".join(problems[:10]) + (f"; ... {len(problems) - 10} more" if len(problems) > 10 else "")
            raise ValueError(f"the {what} do not fit the model{f' {under}' if under else ''}: {listed}")
        placed = jax.tree.map(lambda n, o: jax.device_put(np.asarray(n, o.dtype), o.sharding), new, old)
        tree = getattr(state, col)
        out[col] = {**tree, under: placed} if under else placed
    return state.replace(**out)


def backbone_init(path: epath.PathLike) -> Callable[[TrainState], TrainState]:
    """The trainer's `init` hook of `config.model.init_from`: the backbone saved in `path` into a fresh state."""
    variables = load_backbone(path)
    return lambda state: replace_variables(state, variables, BACKBONE, f"backbone of {path}")
