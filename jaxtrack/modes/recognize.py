"""`--mode=train` for action recognition (`model.name="recognizer"`): clip batches -> RecognitionTask ->
`trainer.train` -> the test-split evaluation.

    python launch.py --experiment=trn_synthetic --workdir=runs/trn_synthetic
    python -m jaxtrack.modes.train trn_synthetic runs/trn_synthetic

`jaxtrack.modes.train.run` hands recognizer configs here. Training writes what the trainer writes (checkpoints/,
metrics.jsonl, loss_curve.png) with the val split's loss / top-1 / top-5 at every `eval_every` steps. Then the last
state is evaluated on `data.test_split`, clips in order and played backwards (`jaxtrack.eval.recognition`):
`recognition.json` (top-1 / top-5 overall and per class group, reversed-order figures, parameters, GFLOPs per clip,
CPU clips/s), `recognition.md` (the table row), `confusion.png` and `confusion_reversed.png`. On the synthetic set
the groups are the order-only classes (the four time-reverse pairs) and the appearance classes. A rerun in a
finished workdir resumes at its last step, trains nothing and evaluates again.

Config: `model.kwargs` are `Recognizer` fields (head, head_kwargs, backbone, backbone_kwargs, feature_layer,
feature_dim, eco_layer), `task` RecognitionTask fields (normalize, label_smoothing), `data.clips` ClipConfig
fields (num_segments, snippet_len, image_size, num_clips, test_crops: 1 | 3 | 10 views of every test-split clip,
TSN's protocol, `pipeline_clips`; val evaluations take the centre crop), `data.eval_batches` val batches per
evaluation (0: the whole split).
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
from jaxtrack.data import pipeline_clips, synthetic_actions, tfds_source
from jaxtrack.eval import recognition
from jaxtrack.files import write_atomic
from jaxtrack.train import checkpoint, metrics_io, recog_task, trainer

GROUPS = {"synthetic_actions": {"order_only": synthetic_actions.ORDER_ONLY, "appearance": synthetic_actions.APPEARANCE}}
# Class pairs a horizontal mirror swaps (the scores of TenCrop's flipped views swap with them).
FLIP_PAIRS = {"synthetic_actions": ((synthetic_actions.CLASSES.index("move_left_to_right"),
                                     synthetic_actions.CLASSES.index("move_right_to_left")),)}


def clip_config(config: ml_collections.ConfigDict) -> pipeline_clips.ClipConfig:
    """ClipConfig from `config.data.clips` (unset fields keep their defaults)."""
    return pipeline_clips.ClipConfig(**config_lib.known_fields(
        config.data.get("clips", None) or {}, pipeline_clips.ClipConfig, "config.data.clips"))


def load(config: ml_collections.ConfigDict, workdir: epath.Path, split: str) -> pipeline_clips.LabelledVideos:
    """A labelled split (`tfds_source.load_split`: process 0 builds a missing dataset first)."""
    return tfds_source.load_split(config, workdir, split, pipeline_clips.load)


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Trains the recognizer of `config` into `workdir` and evaluates it on the test split; returns
    `recognition.json`'s dict (empty on processes other than 0)."""
    trainer.check_config(config)  # before the dataset build
    workdir = epath.Path(workdir)
    jt_workdir.write_config(workdir, config)
    clips = clip_config(config)
    train = load(config, workdir, config.data.split)
    task = recog_task.make_task(config, num_classes=len(train.classes))
    batch = config.data.batch_size * jax.local_device_count()
    train_data = lambda: iter(pipeline_clips.clip_batches(
        train, clips, batch_size=batch, seed=config.seed, num_threads=config.data.num_threads))
    eval_data = None
    if config.data.eval_split:
        val = load(config, workdir, config.data.eval_split)
        limit = config.data.eval_batches or None
        centre = dataclasses.replace(clips, test_crops=1)  # the test protocol's crops are for the test split only
        eval_data = lambda: itertools.islice(pipeline_clips.clip_batches(
            val, centre, batch_size=batch, train=False, num_threads=config.data.num_threads), limit)
    state = trainer.train(config, str(workdir), task=task, train_data=train_data, eval_data=eval_data)
    if jax.process_index():
        return {}
    metrics = metrics_io.read_metrics(workdir / "metrics.jsonl")
    title = f"{config.name or 'recognizer'} ({config.data.dataset})"
    metrics_io.plot_losses(metrics, workdir / "loss_curve.png", title)
    test = load(config, workdir, config.data.test_split)
    out = evaluate(task, {"params": state.params, "batch_stats": state.batch_stats}, test, clips, batch,
                   GROUPS.get(config.data.dataset, {}), workdir, config.name or config.model.kwargs.get("head", ""),
                   FLIP_PAIRS.get(config.data.dataset, ()))
    out["step"] = int(checkpoint.steps(workdir)[-1]) if checkpoint.steps(workdir) else int(state.step)
    write_atomic(workdir / "recognition.json", json.dumps(out, indent=1).encode())
    return out


def evaluate(task, variables, data: pipeline_clips.LabelledVideos, clips: pipeline_clips.ClipConfig,
             batch_size: int, groups: dict, workdir: epath.Path, label: str, flip_pairs=()) -> dict:
    """Test-split accuracy in order and reversed (every clip in `clips.test_crops` views; `flip_pairs`: classes a
    mirrored view swaps), confusion PNGs, cost; writes recognition.md; returns the figures."""
    predict = jax.jit(task.predict)
    batches = lambda: pipeline_clips.clip_batches(data, clips, batch_size=batch_size, train=False)
    labels = np.asarray(data.labels)
    results = {}
    for name, reverse in (("forward", False), ("reversed", True)):
        scores = recognition.video_scores(lambda b: predict(variables, b), batches(), len(labels), reverse=reverse,
                                          flip_pairs=flip_pairs)
        acc = recognition.accuracy(scores, labels, groups)
        results[name] = acc.row()
        suffix = "" if name == "forward" else "_reversed"
        recognition.plot_confusion(acc.confusion, data.classes, workdir / f"confusion{suffix}.png",
                                   f"{label}: test split, {name} order")
    first = next(iter(batches()))
    cost = recognition.model_cost(lambda b: task.predict(variables, b), first, variables["params"])
    out = {"model": label, "head": task.model.head, "videos": len(labels), "num_segments": clips.num_segments,
           "num_clips": clips.num_clips, "test_crops": clips.test_crops, **results, **cost}
    write_atomic(workdir / "recognition.md", (table([out]) + "\n").encode())
    print(table([out]), flush=True)
    return out


def table(rows) -> str:
    """Markdown: top-1 overall / order-only / appearance, reversed, top-5, params, GFLOPs per clip, clips/s."""
    pct = lambda v: "–" if v is None or v != v else f"{100 * v:.1f}"
    lines = ["| model | top-1 | top-1 order-only | top-1 appearance | reversed: top-1 order-only | reversed: "
             "top-1 appearance | top-5 | params | GFLOPs / clip | CPU clips/s |", "|" + "---|" * 10]
    for r in rows:
        f, b = r["forward"], r["reversed"]
        lines.append(f"| {r['model']} | {pct(f['top1'])} | {pct(f.get('top1_order_only'))} | "
                     f"{pct(f.get('top1_appearance'))} | {pct(b.get('top1_order_only'))} | "
                     f"{pct(b.get('top1_appearance'))} | {pct(f['top5'])} | {r['params']:,} | "
                     f"{r['gflops_per_clip']:.3f} | {r['clips_per_s']:.0f} |")
    return "\n".join(lines)
