"""A tracker from a training workdir: its latest (or a given) checkpoint and the `config.json` launch.py wrote.

    tracker = load_tracker("runs/siamban_acm_synthetic")      # -> siamese.Tracker
The model name, build kwargs, input normalisation and tracker settings (`config.track`: fields of the model's
`siamese.DEFAULTS` entry, e.g. the crop sizes it was trained with) come from the workdir's config.json unless given.
"""

from __future__ import annotations

import dataclasses
import json

import jax
import orbax.checkpoint as ocp
from etils import epath

from jaxtrack.track import siamese


def training_config(workdir: epath.PathLike) -> dict:
    """The `config.json` that `launch.py` wrote into a training workdir ({} if there is none)."""
    path = epath.Path(workdir) / "config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def checkpoint_steps(workdir: epath.PathLike) -> list[int]:
    """Sorted steps of the checkpoints in `<workdir>/checkpoints/` ([] when there are none)."""
    ckpt_dir = epath.Path(workdir) / "checkpoints"
    return sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit()) if ckpt_dir.is_dir() else []


def load_variables(workdir: epath.PathLike, step: int = -1) -> dict:
    """Flax variables {"params", "batch_stats"} of the TrainState checkpoint `step` (-1: latest) in
    `<workdir>/checkpoints/<step>/state` (jaxtrack.train.checkpoint layout), restored without a template onto this
    process's first device, whatever devices saved it (e.g. a multi-host run)."""
    ckpt_dir = epath.Path(workdir) / "checkpoints"
    steps = checkpoint_steps(workdir)
    if not steps:
        raise FileNotFoundError(f"{ckpt_dir}: no checkpoint found; train first (launch.py --mode=train)")
    step = steps[-1] if step < 0 else step
    if step not in steps:
        raise FileNotFoundError(f"{ckpt_dir}: no checkpoint {step}; have {steps}")
    path = (ckpt_dir / str(step) / "state").absolute()
    here = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
    with ocp.Checkpointer(ocp.StandardCheckpointHandler()) as ckptr:
        target = jax.tree.map(lambda m: jax.ShapeDtypeStruct(m.shape, m.dtype, sharding=here),
                              ckptr.metadata(path).item_metadata.tree)
        state = ckptr.restore(path, args=ocp.args.StandardRestore(target))
    return {"params": state["params"], **({"batch_stats": state["batch_stats"]} if state.get("batch_stats") else {})}


def tracking_config(name: str, trained: dict, normalize: str | None = None, overrides: dict | None = None):
    """`siamese.DEFAULTS[name]` with the training config's input normalisation and `track` settings, then
    `overrides` (JSON lists become tuples)."""
    if name not in siamese.DEFAULTS:
        raise KeyError(f"model {name!r} has no tracker; expected one of {sorted(siamese.DEFAULTS)}")
    default = siamese.DEFAULTS[name]
    fields = {"normalize": normalize or trained.get("task", {}).get("normalize", default.normalize),
              **dict(trained.get("track") or {}), **dict(overrides or {})}
    unknown = sorted(set(fields) - {f.name for f in dataclasses.fields(default)})
    if unknown:
        raise KeyError(f"tracker settings {unknown} are not fields of {type(default).__name__}; valid: "
                       f"{[f.name for f in dataclasses.fields(default)]}")
    return dataclasses.replace(default, **{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def load_tracker(workdir: epath.PathLike, *, step: int = -1, trained: dict | None = None, name: str | None = None,
                 kwargs: dict | None = None, normalize: str | None = None,
                 track: dict | None = None) -> siamese.Tracker:
    """`siamese.Tracker` of checkpoint `step` (-1: latest) in the training `workdir`. `name`, build `kwargs`,
    `normalize` and `track` settings default to those of the training config `trained` (a config dict;
    default: the workdir's config.json)."""
    trained = training_config(workdir) if trained is None else trained
    name = name or trained.get("model", {}).get("name")
    if not name:
        raise ValueError(f"{workdir}: no config.json with model.name; pass the model name")
    kwargs = dict(kwargs or trained.get("model", {}).get("kwargs", {}))
    config = tracking_config(name, trained, normalize, track)
    return siamese.Tracker(name, load_variables(workdir, step), config, **kwargs)
