"""The workdir contract: what every mode writes into `--workdir` and how a trained model comes back out of it.

    <workdir>/config.json      the resolved experiment config (`write_config`, every entry point)
    <workdir>/log.txt          library logs (absl, orbax, TFDS; `jaxtrack.logs`)
    <workdir>/checkpoints/     the trainer's checkpoints (layout: `jaxtrack.train.checkpoint`)

    tracker = load_tracker("runs/siamban_acm_synthetic")     # -> the family's tracker_class (track.siamese.Tracker)
    task, params = load_summarizer("runs/dpplstm_synthetic")
"""

from __future__ import annotations

import json

import jax
import ml_collections
from etils import epath

from jaxtrack import families
from jaxtrack.files import write_atomic
from jaxtrack.track import siamese, siammask
from jaxtrack.train import checkpoint, summ_task

CONFIG = "config.json"


def write_config(workdir: epath.PathLike, config: ml_collections.ConfigDict) -> None:
    """Creates `workdir` and writes `config` to its config.json (process 0, atomically)."""
    workdir = epath.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if jax.process_index() == 0:
        write_atomic(workdir / CONFIG, config.to_json_best_effort(indent=1).encode())


def read_config(workdir: epath.PathLike) -> ml_collections.ConfigDict:
    """The config.json of `workdir` as a ConfigDict; FileNotFoundError names the file when there is none."""
    path = epath.Path(workdir) / CONFIG
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file; {workdir} is not a jaxtrack workdir (train or convert first)")
    return ml_collections.ConfigDict(json.loads(path.read_text()))


def load_tracker(workdir: epath.PathLike, *, step: int = -1, config: ml_collections.ConfigDict | None = None,
                 track: dict | None = None) -> siamese.Tracker | siammask.MaskTracker:
    """The tracker of checkpoint `step` (-1: latest) in the training `workdir`: the family `config.model.name`
    built with `config.model.kwargs`, its published tracker settings with the config's input normalisation
    (`task.normalize`) and `track` section, then `track` on top. `config`: default the workdir's config.json."""
    config = read_config(workdir) if config is None else config
    family = families.get(config.model.name)
    settings = {**config.get("track", {}), **dict(track or {})}
    tracker_config = family.tracker_config(config.get("task", {}).get("normalize"), settings)
    model = family.build(**config.model.get("kwargs", {}))
    return family.tracker_class(config.model.name, model, tracker_config, checkpoint.restore_variables(workdir, step))


def load_summarizer(workdir: epath.PathLike, step: int = -1):
    """(task, params) of checkpoint `step` (-1: latest) of the summarizer trained in `workdir` (`--mode=summarize`;
    a k-fold run: `<workdir>/split<k>`): `train.summ_task.make_task` of its config.json and the checkpoint's params.
    Predict with `jaxtrack.eval.summ_predict.predict(task, params, features, buckets)`."""
    task = summ_task.make_task(read_config(workdir))
    return task, checkpoint.restore_variables(workdir, step)["params"]
