"""`--mode=train` for the Siamese trackers: data source -> pair batches -> family task -> `trainer.train` -> loss curve.

    python launch.py --experiment=siamban_acm_synthetic --workdir=runs/siamban_acm_synthetic --mode=train
    python -m jaxtrack.modes.train siamban_acm_synthetic runs/siamban_acm_synthetic   # the same, no overrides

Writes to the workdir what the trainer writes (checkpoints/, metrics.jsonl, tensorboard/) plus `loss_curve.png`
(train losses and eval loss per logged step) and `train_summary.json` (first / last logged loss, steps/s, pairs/s).
The dataset is built (TFDS array_record) on first use under `config.data.data_dir`, default `<workdir>/../tfds`
(`jaxtrack.config.data_dir`: runs side by side share it). A rerun in the same workdir resumes from its newest
intact checkpoint, data iterator included (grain `get_state` / `set_state`; `jaxtrack.train.trainer`). Impossible
trainer settings stop the run before the dataset build (`trainer.check_config`).

Pretrained weights (`pretrained`): `config.model.init_from` loads a converted backbone (`--mode=convert`,
`convert.kind=backbone`) before step 0; in a workdir converted from a whole model (`--mode=convert`) training
fine-tunes from its variables at step 0. An experiment that freezes backbone layers (`optim.backbone.
frozen_prefixes`, e.g. SiamRPN++'s ResNet-50 conv1 / layer1) stops with a one-line error when it would start from
random weights, unless `model.from_scratch=True`, which also trains every layer (no frozen prefixes).
"""

from __future__ import annotations

import dataclasses
import importlib
import itertools
import json
import sys
from collections.abc import Callable

import grain
import jax
import ml_collections
import numpy as np
from etils import epath

from jaxtrack import config as config_lib
from jaxtrack import families
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import augment, pipeline_pairs, tfds_source
from jaxtrack.files import write_atomic
from jaxtrack.modes import dat_train, recognize
from jaxtrack.train import checkpoint, init_from, metrics_io, trainer


def pair_config(cfg: ml_collections.ConfigDict) -> pipeline_pairs.PairConfig:
    """PairConfig from `config.data.pairs` (unset fields keep pysot's defaults)."""
    fields = config_lib.known_fields(cfg.to_dict(), pipeline_pairs.PairConfig, "config.data.pairs")
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
    source = tfds_source.load_split(config, workdir, split)
    pairs = pair_config(data.pairs)
    shard = grain.sharding.ShardByJaxProcess()  # each process: its rows of every global batch
    return lambda: iter(pipeline_pairs.pair_batches(
        source, pairs, batch_size=batch_size(config), seed=seed, num_epochs=num_epochs, shard_options=shard,
        num_threads=data.num_threads, num_workers=data.num_workers))


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


def pretrained(config: ml_collections.ConfigDict, workdir: epath.PathLike):
    """(config, init hook or None) for the trainer: `model.init_from`'s backbone, or with `model.from_scratch` a
    copy of `config` without frozen prefixes. Raises ValueError when frozen backbone layers would stay random (no
    init_from, no checkpoint in `workdir`, no from_scratch)."""
    model = config.model
    source, scratch = model.get("init_from", ""), model.get("from_scratch", False)
    frozen = tuple(config.optim.backbone.frozen_prefixes)
    if source and scratch:
        raise ValueError(f"model.init_from={source} and model.from_scratch=True exclude each other")
    if scratch:
        config = config.copy_and_resolve_references()
        config.optim.backbone.frozen_prefixes = ()
        return config, None
    if source:
        return config, init_from.backbone_init(source)
    if frozen and not checkpoint.steps(workdir):
        raise ValueError(f"{config.get('name') or 'this experiment'} freezes {', '.join(frozen)} (optim.backbone."
                         f"frozen_prefixes), which would stay random: pass --config.model.init_from=<a backbone "
                         f"converted with --mode=convert --config.convert.kind=backbone>, or "
                         f"--config.model.from_scratch=True to train every layer from scratch")
    return config, None


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains `config.model.name` on `config.data` pairs into `workdir`; returns the `train_summary.json` dict.
    Action recognizers (`model.name="recognizer"`) train and evaluate in `jaxtrack.modes.recognize`, DAT
    (`model.name="dat"`) trains in `jaxtrack.modes.dat_train`."""
    if config.model.name == "recognizer":
        return recognize.run(config, workdir)
    if config.model.name == "dat":
        return dat_train.run(config, workdir)
    trainer.check_config(config)  # before the dataset build
    workdir = epath.Path(workdir)
    config, init = pretrained(config, workdir)
    jt_workdir.write_config(workdir, config)
    task = families.get(config.model.name).make_task(config)
    train_data = make_data(config, workdir, config.data.split, seed=config.seed)
    eval_data = None
    if config.data.eval_batches:
        val = make_data(config, workdir, config.data.eval_split, seed=config.seed + 1)  # the same batches each pass
        eval_data = lambda: itertools.islice(val(), config.data.eval_batches)
    trainer.train(config, str(workdir), task=task, train_data=train_data, eval_data=eval_data, init=init)
    if jax.process_index():
        return {}
    metrics = metrics_io.read_metrics(workdir / "metrics.jsonl")
    summary = {"model": config.model.name, "workdir": str(workdir),
               **summarize(metrics, batch_size(config) * jax.process_count())}
    metrics_io.plot_losses(metrics, workdir / "loss_curve.png", f"{config.model.name} ({config.data.dataset})")
    write_atomic(workdir / "train_summary.json", json.dumps(summary, indent=1).encode())
    print(f"trained {config.model.name}: loss {summary['first_loss']:.3f} -> {summary['last_loss']:.3f} in "
          f"{summary['last_step']} steps, {summary['pairs_per_sec']:.1f} pairs/s; {workdir / 'loss_curve.png'}")
    return summary


def main(argv: list[str]) -> None:
    """`python -m jaxtrack.modes.train EXPERIMENT WORKDIR`: trains `experiments/EXPERIMENT.py` (no overrides)."""
    if len(argv) != 3:
        sys.exit(f"usage: python -m jaxtrack.modes.train EXPERIMENT WORKDIR (got {argv[1:]})")
    config = importlib.import_module(f"experiments.{argv[1]}").get_config()
    run(config, argv[2])


if __name__ == "__main__":
    main(sys.argv)
