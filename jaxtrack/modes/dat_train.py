"""`--mode=train` for DAT / RT-MDNet (`model.name="dat"`): RoI batches -> DATTask -> `trainer.train` -> loss curve.

    python launch.py --experiment=dat_synthetic --workdir=runs/dat_synthetic
    python launch.py --experiment=dat_synthetic_noreg --workdir=runs/dat_synthetic_noreg

`jaxtrack.modes.train.run` hands DAT configs here. Offline multi-domain training: one fc6 branch per training
video (`model.kwargs.num_domains` is the number of usable training videos), positive / negative RoIs sampled by
IoU around the ground truth (`jaxtrack.data.pipeline_rois`, fields from `config.data.rois`), the reciprocative
regulariser at `task.reg_weight` (0: off). Writes what the trainer writes plus `loss_curve.png` and
`train_summary.json` (first / last loss, steps/s, the final pos / neg accuracies and regulariser).
"""

from __future__ import annotations

import dataclasses
import itertools
import json

import jax
import ml_collections
import numpy as np
from etils import epath

from jaxtrack import config as config_lib
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import pipeline_rois, tfds_source
from jaxtrack.files import write_atomic
from jaxtrack.train import dat_task, metrics_io, trainer


def roi_config(config: ml_collections.ConfigDict) -> pipeline_rois.RoiConfig:
    """RoiConfig from `config.data.rois` (unset fields keep their defaults)."""
    return pipeline_rois.RoiConfig(**config_lib.known_fields(
        config.data.get("rois", None) or {}, pipeline_rois.RoiConfig, "config.data.rois"))


def num_domains(source) -> int:
    """Training videos with a valid box somewhere: the fc6 branches."""
    return sum(bool(np.any(v.valid())) for v in source.videos)


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains the DAT classifier of `config` into `workdir`; returns the `train_summary.json` dict."""
    trainer.check_config(config)  # before the dataset build
    workdir = epath.Path(workdir)
    jt_workdir.write_config(workdir, config)
    rois = roi_config(config)
    train = tfds_source.load_split(config, workdir, config.data.split)
    task = dat_task.make_task(config, num_domains(train))
    batch = config.data.batch_size * jax.local_device_count()
    train_data = lambda: iter(pipeline_rois.roi_batches(train, rois, batch_size=batch, seed=config.seed,
                                                        num_threads=config.data.num_threads))
    eval_data = None
    if config.data.eval_batches and config.data.eval_split:
        # val videos are other domains: the eval loss uses branch 0 (only fc4-5 features transfer; a rough gauge)
        val = tfds_source.load_split(config, workdir, config.data.eval_split)
        eval_rois = dataclasses.replace(rois, items_per_video=1)
        limit = config.data.eval_batches
        eval_data = lambda: ({**b, "domain": np.zeros_like(b["domain"])} for b in itertools.islice(
            pipeline_rois.roi_batches(val, eval_rois, batch_size=batch, seed=config.seed + 1,
                                      num_threads=config.data.num_threads), limit))
    trainer.train(config, str(workdir), task=task, train_data=train_data, eval_data=eval_data)
    if jax.process_index():
        return {}
    metrics = metrics_io.read_metrics(workdir / "metrics.jsonl")
    steps, loss = metrics["train/loss"]
    rates = metrics["train/steps_per_sec"][1]
    summary = {"model": "dat", "workdir": str(workdir), "first_step": int(steps[0]), "first_loss": float(loss[0]),
               "last_step": int(steps[-1]), "last_loss": float(loss[-1]),
               "steps_per_sec": float(np.median(rates[1:] if len(rates) > 1 else rates)),
               **{k: float(metrics[f"train/{k}"][1][-1]) for k in ("ce", "reg", "pos_acc", "neg_acc")}}
    metrics_io.plot_losses(metrics, workdir / "loss_curve.png", f"dat ({config.data.dataset})")
    write_atomic(workdir / "train_summary.json", json.dumps(summary, indent=1).encode())
    print(f"trained dat: loss {summary['first_loss']:.3f} -> {summary['last_loss']:.3f} in {summary['last_step']} "
          f"steps ({summary['steps_per_sec']:.2f} steps/s), pos / neg accuracy {summary['pos_acc']:.2f} / "
          f"{summary['neg_acc']:.2f}; {workdir / 'loss_curve.png'}")
    return summary
