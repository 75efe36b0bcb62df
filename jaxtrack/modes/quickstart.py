"""`--mode=quickstart` (experiments/quickstart.py): the project end to end on the embedded synthetic data.

Stages, each writing under `<workdir>/` (a rerun resumes: training continues from its last checkpoint, an
evaluation newer than the checkpoint it scored is kept):
  1. `tracker/`: train the `config.tracker` experiment (an ACM tracker) on synthetic pairs.
  2. `tracker/eval/synthetic/`: that tracker next to CSRT / KCF / static on the synthetic test split
     (`config.tracker.eval`).
  3. `tracked_frames.png`: a test video with predicted (red) and ground-truth (green) boxes.
  4. `summarizer/`: train and evaluate the `config.summarizer` experiment (dppLSTM) against its baselines.
  5. `report.md` (+ `quickstart.json`): the tables, the loss curves, success / precision plots, tracked frames
     and the summarization score plot, with the time each stage took.
"""

from __future__ import annotations

import json
import platform
import time

import jax
import ml_collections
import numpy as np
from etils import epath

from jaxtrack.data import synthetic
from jaxtrack.eval import benchmark, summ_eval
from jaxtrack.files import write_atomic
from jaxtrack.modes import eval as eval_mode
from jaxtrack.modes import summarize as summarize_mode
from jaxtrack.modes import train as train_mode
from jaxtrack.track import draw
from jaxtrack.train import checkpoint

EVAL_DIR = "tracker/eval/synthetic"  # stage 2's outputs, relative to the workdir


def _newer(outputs: epath.Path, inputs: epath.Path) -> bool:
    return outputs.exists() and inputs.exists() and outputs.stat().mtime >= inputs.stat().mtime


def _summary(d: dict) -> benchmark.Summary:
    return benchmark.Summary(**{k: np.asarray(v) if isinstance(v, list) else v for k, v in d.items()})


def train_tracker(config: ml_collections.ConfigDict, out: epath.Path) -> dict:
    """Stage 1: the tracker experiment (resumes from its checkpoints); returns its train_summary.json."""
    return train_mode.run(config, str(out))


def evaluate(config: ml_collections.ConfigDict, out: epath.Path) -> dict:
    """Stage 2: the trained tracker and the baselines on the synthetic test split; returns eval's report."""
    summary = out / "eval" / config.eval.benchmark / "summary.json"
    steps = checkpoint.steps(out)
    if steps and _newer(summary, checkpoint.directory(out) / str(steps[-1])):
        return json.loads(summary.read_text())
    return eval_mode.run(config, str(out))


def tracked_frames(config: ml_collections.ConfigDict, workdir: epath.Path, n: int) -> epath.Path:
    """Stage 3: test video 0 with the boxes the evaluation wrote for the tracker."""
    cfg = config.eval
    options = synthetic.SyntheticConfig(**cfg.synthetic.to_dict())  # as eval's test videos
    video = synthetic.make_videos(1, seed=int(cfg.seed), config=options, split="test")[0]
    result = benchmark.read_result("otb", workdir / EVAL_DIR / "results", config.model.name, video.name)
    path = workdir / "tracked_frames.png"
    steps = draw.frame_steps(len(video), n)
    write_atomic(path, draw.png_bytes(draw.tracked_frames(video.frames[steps], steps, result.boxes, video.boxes)))
    return path


def report(config, stages: dict, seconds: dict) -> str:
    """The markdown of report.md (image paths relative to the workdir)."""
    tr, ev, sm = stages["tracker"], stages["eval"], stages["summarizer"]
    name = config.tracker.model.name
    table = benchmark.markdown_table({t: _summary(r["all"]) for t, r in ev.items()})
    total = sum(seconds.values())
    return "\n".join([
        "# jaxtrack quickstart", "",
        f"{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}; total {total / 60:.1f} min "
        "(" + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + ").", "",
        f"## Tracking: {name} vs baselines ({config.tracker.eval.num_videos} synthetic test videos)", "",
        f"Trained `{name}`: {tr['last_step']} steps, loss {tr['first_loss']:.3f} -> "
        f"{tr['last_loss']:.3f} ({100 * (tr['last_loss'] / tr['first_loss'] - 1):+.0f}%), "
        f"{tr['pairs_per_sec']:.1f} pairs/s.", "",
        table,
        f"![success]({EVAL_DIR}/all_success.png) ![precision]({EVAL_DIR}/all_precision.png)", "",
        "Training loss:", "", "![tracker loss](tracker/loss_curve.png)", "",
        "Test video 0, predicted (red) vs ground truth (green):", "", "![tracked frames](tracked_frames.png)", "",
        f"## Summarization: {config.summarizer.name}", "",
        summ_eval.markdown_table(sm["results"]), "",
        "![summarizer loss](summarizer/loss_curve.png)", "",
        "A test video's predicted importance, annotations and the selected shots:", "",
        "![summary scores](summarizer/summary_scores.png)", "",
        f"Details: `tracker/train_summary.json`, `{EVAL_DIR}/summary.md` (per attribute), "
        "`summarizer/summary_report.md`.", ""])


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Runs the stages (module docstring); returns {"seconds": per stage, "tracker", "eval", "summarizer"}."""
    workdir = epath.Path(workdir)
    stages, seconds = {}, {}

    def stage(key, fn, *args):
        start = time.perf_counter()
        print(f"quickstart: {key} ...", flush=True)
        stages[key] = fn(*args)
        seconds[key] = time.perf_counter() - start
        print(f"quickstart: {key} done in {seconds[key]:.0f} s", flush=True)

    stage("tracker", train_tracker, config.tracker, workdir / "tracker")
    stage("eval", evaluate, config.tracker, workdir / "tracker")
    stage("frames", tracked_frames, config.tracker, workdir, int(config.report_frames))
    stage("summarizer", summarize_mode.run, config.summarizer, str(workdir / "summarizer"))
    if jax.process_index() == 0:
        write_atomic(workdir / "report.md", report(config, stages, seconds).encode())
        keep = {"seconds": seconds, "tracker": stages["tracker"], "summarizer": stages["summarizer"]["results"],
                "eval": {t: {k: v for k, v in r["all"].items() if not isinstance(v, list)}
                         for t, r in stages["eval"].items()}}
        write_atomic(workdir / "quickstart.json", json.dumps(keep, indent=1).encode())
        print(f"quickstart: wrote {workdir / 'report.md'} ({sum(seconds.values()) / 60:.1f} min)")
    return {"seconds": seconds, **stages}
