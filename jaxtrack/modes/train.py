"""`--mode=train` for the Siamese trackers: data source -> pair batches -> task -> `trainer.train` -> loss curve.

    from jaxtrack.train import run
    run.run(experiments_config, "runs/siamfc_synthetic")
    python -m jaxtrack.train.run EXPERIMENT WORKDIR      # e.g. siamban_acm_synthetic runs/siamban_acm_synthetic

Writes to the workdir what the trainer writes (checkpoints/, metrics.jsonl, tensorboard/) plus `loss_curve.png`
(train losses and eval loss per logged step) and `train_summary.json` (first / last logged loss, steps/s, pairs/s).
The dataset is built (TFDS array_record) on first use under `config.data.data_dir`, default `<workdir>/../tfds`
(so runs side by side share it). A rerun in the same workdir resumes from its last checkpoint, data iterator
included (grain `get_state` / `set_state`).
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import io
import itertools
import json
import sys
from collections.abc import Callable

import grain
import jax
import ml_collections
import numpy as np
from absl import logging
from etils import epath

from jaxtrack import files
from jaxtrack.data import augment, pipeline_pairs, tfds_source
from jaxtrack.track import run as track_run
from jaxtrack.train import metrics_io, sharding, tasks, trainer

LOSS_KEYS = ("train/loss", "train/cls_loss", "train/loc_loss", "eval/loss")


def default_config() -> ml_collections.ConfigDict:
    """Trainer defaults + mode "train" + model / task / data sections that experiments fill in, and the tracker
    settings (`track`) and `--mode=track` inputs (`track_video`) of the trained model."""
    c = trainer.default_config()
    c.mode = "train"
    c.model = ml_collections.ConfigDict({"name": "", "kwargs": {}})
    c.task = tasks.default_config()
    c.data = ml_collections.ConfigDict({
        "dataset": "synthetic_videos",
        "split": "train",
        "eval_split": "val",
        "eval_batches": 0,  # 0: no evaluation
        "data_dir": "",  # default: <workdir>/../tfds
        "manual_dir": "",  # raw files, for the real datasets
        "options": {},  # dataset options (synthetic_videos: SyntheticConfig fields, num_train, ...)
        "batch_size": 28,  # per device (pysot TRAIN.BATCH_SIZE is per GPU)
        "num_threads": 4,
        "num_workers": 0,
        # PairConfig fields; template_aug / search_aug: AugmentConfig fields (None: pysot's defaults)
        "pairs": ml_collections.ConfigDict({"template_aug": None, "search_aug": None}, type_safe=False),
    })
    c.track = ml_collections.ConfigDict(type_safe=False)  # tracker settings over track.siamese.DEFAULTS[model.name]
    c.track_video = track_run.default_config()  # what --mode=track tracks
    return c


def pair_config(cfg: ml_collections.ConfigDict) -> pipeline_pairs.PairConfig:
    """PairConfig from `config.data.pairs` (unset fields keep pysot's defaults)."""
    fields = cfg.to_dict()
    known = {f.name for f in dataclasses.fields(pipeline_pairs.PairConfig)}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise KeyError(f"config.data.pairs: unknown fields {unknown}; valid: {sorted(known)}")
    for name, default in (("template_aug", augment.TEMPLATE_AUG), ("search_aug", augment.SEARCH_AUG)):
        aug = fields.get(name)
        fields[name] = default if aug is None else dataclasses.replace(default, **aug)
    return pipeline_pairs.PairConfig(**fields)


def batch_size(config: ml_collections.ConfigDict) -> int:
    """This process's batch: `data.batch_size` per local device."""
    return config.data.batch_size * jax.local_device_count()


def make_data(config: ml_collections.ConfigDict, workdir: epath.Path, split: str, *, seed: int,
              num_epochs: int | None = None) -> Callable[[], grain.DatasetIterator]:
    """() -> a fresh checkpointable iterator over this process's pair batches of `split` (see `pair_batches`:
    the global batches do not depend on the process count). Process 0 builds a missing dataset first."""
    data = config.data
    load = functools.partial(tfds_source.load, data.dataset, split, data_dir=data.data_dir or str(workdir.parent /
                             "tfds"), manual_dir=data.manual_dir or None, **data.options.to_dict())
    if jax.process_index() == 0:  # builds the dataset if missing; the other processes then only read it
        source = load()
    sharding.barrier(f"tfds {data.dataset} {split}")
    if jax.process_index():
        source = load()
    pairs = pair_config(data.pairs)
    shard = grain.sharding.ShardByJaxProcess()  # each process: its rows of every global batch
    return lambda: iter(pipeline_pairs.pair_batches(
        source, pairs, batch_size=batch_size(config), seed=seed, num_epochs=num_epochs, shard_options=shard,
        num_threads=data.num_threads, num_workers=data.num_workers))


def read_metrics(path: epath.Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{key: (steps [N], values [N])} from a metrics.jsonl, the last line per (step, key) (resumed runs)."""
    table: dict[str, dict[int, float]] = {}
    for row in metrics_io.read_metrics(str(path)):
        for k, v in row.items():
            if k not in ("step", "time") and v is not None:
                table.setdefault(k, {})[row["step"]] = v
    return {k: (np.array(sorted(d)), np.array([d[s] for s in sorted(d)])) for k, d in table.items()}


def plot_losses(metrics: dict, path: epath.Path, title: str) -> None:
    """Writes a PNG of the LOSS_KEYS curves in `metrics` (from `read_metrics`) to `path`, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for key in LOSS_KEYS:
        if key in metrics:
            ax.plot(*metrics[key], marker="o" if key.startswith("eval") else None, ms=3, label=key)
    ax.set(xlabel="step", ylabel="loss", title=title, yscale="log")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    files.write_atomic(path, buf.getvalue())


def summarize(metrics: dict, pairs_per_step: int) -> dict:
    """First / last logged train loss (means over their log windows), their ratio, steps/s and pairs/s (median
    over the log windows after the first, which holds the compilation)."""
    steps, loss = metrics["train/loss"]
    rates = metrics["train/steps_per_sec"][1]
    rate = float(np.median(rates[1:] if len(rates) > 1 else rates))
    out = {"first_step": int(steps[0]), "first_loss": float(loss[0]), "last_step": int(steps[-1]),
           "last_loss": float(loss[-1]), "loss_ratio": float(loss[-1] / loss[0]), "steps_per_sec": rate,
           "pairs_per_sec": rate * pairs_per_step}
    if "eval/loss" in metrics:
        out["eval_loss"] = float(metrics["eval/loss"][1][-1])
    return out


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains `config.model.name` on `config.data` pairs into `workdir`; returns the `train_summary.json` dict."""
    sharding.initialize_distributed(config)
    workdir = epath.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    task = tasks.make_task(config)
    train_data = make_data(config, workdir, config.data.split, seed=config.seed)
    eval_data = None
    if config.data.eval_batches:
        val = make_data(config, workdir, config.data.eval_split, seed=config.seed + 1)  # the same batches each pass
        eval_data = lambda: itertools.islice(val(), config.data.eval_batches)
    trainer.train(config, str(workdir), task=task, train_data=train_data, eval_data=eval_data)
    if jax.process_index():
        return {}
    metrics = read_metrics(workdir / "metrics.jsonl")
    summary = {"model": config.model.name, "workdir": str(workdir),
               **summarize(metrics, batch_size(config) * jax.process_count())}
    plot_losses(metrics, workdir / "loss_curve.png", f"{config.model.name} ({config.data.dataset})")
    files.write_atomic(workdir / "train_summary.json", json.dumps(summary, indent=1).encode())
    logging.info("training summary: %s", summary)
    return summary


def main(argv: list[str]) -> None:
    """`python -m jaxtrack.train.run EXPERIMENT WORKDIR`: trains `experiments/EXPERIMENT.py` (no overrides)."""
    if len(argv) != 3:
        sys.exit(f"usage: python -m jaxtrack.train.run EXPERIMENT WORKDIR (got {argv[1:]})")
    config = importlib.import_module(f"experiments.{argv[1]}").get_config()
    print(json.dumps(run(config, argv[2]), indent=1))


if __name__ == "__main__":
    main(sys.argv)
