"""`--mode=quickstart` (experiments/quickstart.py): the project end to end on the embedded synthetic data.

Stages, each writing under `<workdir>/` (a rerun resumes: training continues from its last checkpoint, a stage
whose outputs are newer than its inputs is skipped):
  1. `tracker/`: train the `config.tracker` experiment (an ACM tracker) on synthetic pairs.
  2. `eval/`: that tracker next to CSRT / KCF / static on the synthetic test split (`config.eval`).
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
from jaxtrack.eval import benchmark, summ_eval, summ_run
from jaxtrack.eval import run as eval_run
from jaxtrack.files import write_atomic
from jaxtrack.track import draw, trained
from jaxtrack.train import run as train_run


def _newer(outputs: epath.Path, inputs: epath.Path) -> bool:
    return outputs.exists() and inputs.exists() and outputs.stat().mtime >= inputs.stat().mtime


def _summary(d: dict) -> benchmark.Summary:
    return benchmark.Summary(**{k: np.asarray(v) if isinstance(v, list) else v for k, v in d.items()})


def train_tracker(config: ml_collections.ConfigDict, out: epath.Path) -> dict:
    """Stage 1: the tracker experiment (resumes from its checkpoints); returns its train_summary.json."""
    out.mkdir(parents=True, exist_ok=True)
    write_atomic(out / "config.json", config.to_json_best_effort(indent=1).encode())  # for the tracker loaders
    return train_run.run(config, str(out))


def evaluate(config: ml_collections.ConfigDict, tracker_dir: epath.Path, name: str, out: epath.Path) -> dict:
    """Stage 2: the trained tracker and the baselines on the synthetic test split; returns eval's report."""
    summary = out / "eval" / config.benchmark / "summary.json"
    steps = trained.checkpoint_steps(tracker_dir)
    if steps and _newer(summary, tracker_dir / "checkpoints" / str(steps[-1])):
        return json.loads(summary.read_text())
    config = ml_collections.ConfigDict(config.to_dict())
    config.models = ({"name": name, "workdir": str(tracker_dir)},)
    return eval_run.run(config, str(out))


def tracked_frames(config: ml_collections.ConfigDict, out: epath.Path, label: str, n: int) -> epath.Path:
    """Stage 3: test video 0 with the boxes the evaluation wrote for `label`."""
    options = synthetic.SyntheticConfig(**dict(config.get("synthetic", None) or {}))  # as eval's test videos
    video = synthetic.make_videos(1, seed=int(config.seed), config=options, split="test")[0]
    result = benchmark.read_result("otb", out / "eval" / config.benchmark / "results", label, video.name)
    path = out / "tracked_frames.png"
    steps = draw.frame_steps(len(video), n)
    write_atomic(path, draw.png_bytes(draw.tracked_frames(video.frames[steps], steps, result.boxes, video.boxes)))
    return path


def summarize(config: ml_collections.ConfigDict, out: epath.Path) -> dict:
    """Stage 4: the summarizer experiment (data under `<workdir>/tfds` unless it names another place)."""
    config = ml_collections.ConfigDict(config.to_dict())
    config.data.data_dir = config.data.data_dir or str(out.parent / "tfds")
    result = summ_run.run(config, str(out))
    metrics = train_run.read_metrics(out / "train" / "metrics.jsonl")
    train_run.plot_losses(metrics, out / "loss_curve.png", f"{config.name} (train loss)")
    return result


def report(config, workdir: epath.Path, stages: dict, seconds: dict, tracker_name: str) -> str:
    """The markdown of report.md (image paths relative to the workdir)."""
    tr, ev, sm = stages["tracker"], stages["eval"], stages["summarizer"]
    table = benchmark.markdown_table({t: _summary(r["all"]) for t, r in ev.items()})
    total = sum(seconds.values())
    return "\n".join([
        "# jaxtrack quickstart", "",
        f"{jax.device_count()} x {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d %H:%M')}; total {total / 60:.1f} min "
        "(" + ", ".join(f"{k} {v:.0f} s" for k, v in seconds.items()) + ").", "",
        f"## Tracking: {tracker_name} vs baselines ({config.eval.num_videos} synthetic test videos)", "",
        f"Trained `{tracker_name}`: {tr['last_step']} steps, loss {tr['first_loss']:.3f} -> "
        f"{tr['last_loss']:.3f} ({100 * (tr['last_loss'] / tr['first_loss'] - 1):+.0f}%), "
        f"{tr['pairs_per_sec']:.1f} pairs/s.", "",
        table,
        "![success](eval/synthetic/all_success.png) ![precision](eval/synthetic/all_precision.png)", "",
        "Training loss:", "", "![tracker loss](tracker/loss_curve.png)", "",
        "Test video 0, predicted (red) vs ground truth (green):", "", "![tracked frames](tracked_frames.png)", "",
        f"## Summarization: {config.summarizer.name}", "",
        summ_eval.markdown_table(sm["results"]), "",
        "![summarizer loss](summarizer/loss_curve.png)", "",
        "A test video's predicted importance, annotations and the selected shots:", "",
        "![summary scores](summarizer/summary_scores.png)", "",
        "Details: `tracker/train_summary.json`, `eval/synthetic/summary.md` (per attribute), "
        "`summarizer/summary_report.md`.", ""])


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Runs the stages (module docstring); returns {"seconds": per stage, "tracker", "eval", "summarizer"}."""
    workdir = epath.Path(workdir)
    name = config.tracker.model.name
    stages, seconds = {}, {}

    def stage(key, fn, *args):
        start = time.perf_counter()
        print(f"quickstart: {key} ...", flush=True)
        stages[key] = fn(*args)
        seconds[key] = time.perf_counter() - start
        print(f"quickstart: {key} done in {seconds[key]:.0f} s", flush=True)

    stage("tracker", train_tracker, config.tracker, workdir / "tracker")
    stage("eval", evaluate, config.eval, workdir / "tracker", name, workdir)
    stage("frames", tracked_frames, config.eval, workdir, name, int(config.report_frames))
    stage("summarizer", summarize, config.summarizer, workdir / "summarizer")
    if jax.process_index() == 0:
        write_atomic(workdir / "report.md", report(config, workdir, stages, seconds, name).encode())
        keep = {"seconds": seconds, "tracker": stages["tracker"], "summarizer": stages["summarizer"]["results"],
                "eval": {t: {k: v for k, v in r["all"].items() if not isinstance(v, list)}
                         for t, r in stages["eval"].items()}}
        write_atomic(workdir / "quickstart.json", json.dumps(keep, indent=1).encode())
        print(f"quickstart: wrote {workdir / 'report.md'} ({sum(seconds.values()) / 60:.1f} min)")
    return {"seconds": seconds, **stages}
