"""`run(config, workdir)`: train a vsLSTM / dppLSTM summarizer with the shared trainer and evaluate it.

Synthetic default: build (or reuse) the synthetic video splits, extract per-frame features (`data.features`:
a shared backbone and/or frame statistics), train (`train.trainer.train` + `train.summ_task.SummTask`), predict
the test videos' importance, evaluate it next to the random / uniform / oracle / human baselines on shots cut to
`summ.max_shot_len` frames (`eval.summ_eval`) and write, atomically:
  <workdir>/summary_report.md, summary_results.{json,md}, summary_scores.png (a test video's predicted vs
  annotated importance with the selected shots), plus the trainer's checkpoints/ and metrics.jsonl in train/.
Config fields: see `experiments/dpplstm_synthetic.py`.
"""

from __future__ import annotations

import io
import json
import time

import grain
import jax
import jax.numpy as jnp
import matplotlib
import ml_collections
import numpy as np
from etils import epath

from jaxtrack.data import tfds_source
from jaxtrack.data.features import FeatureConfig, FrameFeatures, video_features
from jaxtrack.data.pipeline_summ import SummConfig, bucket_length, summ_batches
from jaxtrack.eval import summ_eval
from jaxtrack.eval.summarization import keyshot_summary, upsample_scores
from jaxtrack.files import write_atomic
from jaxtrack.models.summarizer import Summarizer
from jaxtrack.train import dpp, trainer
from jaxtrack.train.summ_task import SummTask, model_batch

matplotlib.use("Agg")
from matplotlib import pyplot as plt


def make_task(config: ml_collections.ConfigDict) -> SummTask:
    """SummTask from `config.model` (Summarizer fields) and `config.task` (loss, dpp_weight, jitter)."""
    return SummTask(model=Summarizer(**config.model.to_dict()), **config.task.to_dict())


def predict(task: SummTask, params, features: list[np.ndarray], buckets) -> list[dict[str, np.ndarray]]:
    """Per video [N, D] features -> {"importance": [N], "phi": [N, K]}, one padded video at a time."""
    apply = jax.jit(task.predict)
    out = []
    for x in features:
        t = bucket_length(len(x), buckets)
        padded = np.zeros((1, t, x.shape[1]), np.float32)
        padded[0, :len(x)] = x
        y = apply(params, jnp.asarray(padded), jnp.asarray(np.arange(t)[None] < len(x)))
        out.append({k: np.asarray(y[k][0, :len(x)]) for k in ("importance", "phi")})
    return out


def standardizer(features: list[np.ndarray]):
    """[N_i, D] arrays -> function z-scoring [N, D] arrays per dimension with the steps' mean / std."""
    x = np.concatenate(features)
    mean, std = x.mean(0), np.maximum(x.std(0), 1e-6)
    return lambda f: ((f - mean) / std).astype(np.float32)


def dpp_map_scores(pred: dict[str, np.ndarray], jitter: float) -> np.ndarray:
    """[N] importance on the greedy DPP MAP set of L = diag(q)(Phi Phi^T + jitter I)diag(q), 0 elsewhere."""
    chosen = dpp.greedy_map(dpp.kernel_matrix(pred["importance"], pred["phi"], jitter))
    scores = np.zeros_like(pred["importance"])
    scores[chosen] = pred["importance"][chosen]
    return scores


def _epoch_seconds(metrics_path: epath.Path, steps_per_epoch: int) -> list[float]:
    """Seconds per logged epoch from the trainer's `train/steps_per_sec` (logged once per epoch)."""
    rows = [json.loads(line) for line in metrics_path.read_text().splitlines() if line.strip()]
    return [steps_per_epoch / r["train/steps_per_sec"] for r in rows if "train/steps_per_sec" in r]


def plot_video(video, pred_frames: np.ndarray, summary: np.ndarray, shots: np.ndarray) -> bytes:
    """PNG: predicted vs annotated (users' mean, min-max scaled) frame importance, selected shots shaded."""
    users = summ_eval.user_scores(video).mean(0)
    users = (users - users.min()) / max(float(np.ptp(users)), 1e-12)
    fig, ax = plt.subplots(figsize=(9, 3))
    t = np.arange(len(video))
    ax.fill_between(t, 0, summary.astype(float), step="mid", color="tab:orange", alpha=0.25, label="selected shots")
    ax.plot(t, users, color="k", lw=1.2, label="annotated (users' mean)")
    ax.plot(t, pred_frames, color="tab:blue", lw=1.2, label="predicted")
    ax.vlines(shots[1:, 0], 0, 1, colors="gray", lw=0.5, linestyles=":")
    ax.set(xlabel="frame", ylabel="importance", title=f"{video.name}", ylim=(0, 1.02), xlim=(0, len(video) - 1))
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def training_config(config: ml_collections.ConfigDict, n_videos: int) -> ml_collections.ConfigDict:
    """`config.train` with steps_per_epoch (0: one pass over `n_videos`) and logging / eval once per epoch."""
    tcfg = config.train.copy_and_resolve_references()
    if not tcfg.steps_per_epoch:
        tcfg.steps_per_epoch = max(1, n_videos // config.summ.batch_size)
    tcfg.log_every = tcfg.eval_every = tcfg.steps_per_epoch
    return tcfg


def fit(config: ml_collections.ConfigDict, train_src, features: list[np.ndarray] | None, workdir: str):
    """(task, final TrainState, seconds per epoch) of the shared trainer on `train_src` (`features`: per-video
    [N_i, D], default each video's stored features); checkpoints and metrics.jsonl go to `workdir`."""
    summ = config.summ
    tcfg = training_config(config, len(train_src.videos))

    def train_data():
        summ_config = SummConfig(buckets=tuple(summ.buckets), keyframe_threshold=summ.keyframe_threshold)
        ds = summ_batches(train_src, summ_config, batch_size=summ.batch_size, seed=config.seed, features=features,
                          num_epochs=None, drop_remainder=True, shard_options=grain.sharding.NoSharding())
        return iter(ds.map(model_batch))

    task = make_task(config)
    state = trainer.train(tcfg, workdir, task=task, train_data=train_data)
    return task, state, _epoch_seconds(epath.Path(workdir) / "metrics.jsonl", tcfg.steps_per_epoch)


def run_cross_validation(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """k-fold protocol on an eccv16 h5 dataset (`config.data.dataset` "tvsum" / "summe", raw files in
    `config.data.manual_dir`): per split, train on `split<k>_train` with the stored features and evaluate
    `split<k>_test`; writes `<workdir>/cv_results.{json,md}` (`summ_eval.cross_validate`)."""
    data, workdir = config.data, epath.Path(workdir)
    load = lambda k, part: tfds_source.load(data.dataset, f"split{k}_{part}", data_dir=data.data_dir or None,
                                            manual_dir=data.manual_dir or None)

    def fit_predict(k, train, test):
        task, state, _ = fit(config, load(k, "train"), None, str(workdir / f"split{k}"))
        return [p["importance"] for p in predict(task, state.params, [v.features for v in test],
                                                  tuple(config.summ.buckets))]

    return summ_eval.cross_validate(lambda k, part: load(k, part).videos, fit_predict,
                                    n_splits=config.summ.get("n_splits", 5), mode=config.summ.mode,
                                    proportion=config.summ.proportion, seed=config.seed,
                                    path_stem=workdir / "cv_results")


def evaluate_split(config: ml_collections.ConfigDict, task: SummTask, params, videos, features: list[np.ndarray]):
    """(results of `summ_eval.evaluate` plus "model_dpp_map" for dpplstm, per-video predictions) of the model on
    `videos` with standardised step features [N_i, D], on shots cut to `config.summ.max_shot_len` frames."""
    summ = config.summ
    preds = predict(task, params, features, tuple(summ.buckets))
    max_shot_len = summ.get("max_shot_len", 0)
    results = summ_eval.evaluate(videos, [p["importance"] for p in preds], features, mode=summ.mode,
                                 proportion=summ.proportion, seed=config.seed, max_shot_len=max_shot_len)
    if task.loss == "dpplstm":
        rows = [summ_eval.score_steps(v, dpp_map_scores(p, task.jitter),
                                      summ_eval.video_shots(v, x, max_shot_len=max_shot_len), mode=summ.mode,
                                      proportion=summ.proportion)
                for v, p, x in zip(videos, preds, features, strict=True)]
        results["model_dpp_map"] = {"mean": {k: float(np.nanmean([r[k] for r in rows])) for k in summ_eval.METRICS},
                                    "videos": rows}
    return results, preds


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Builds data and features, trains, evaluates against baselines on the test split (and the val split when
    `config.data.val_split` is set), writes the report (module docstring)."""
    workdir = epath.Path(workdir)
    data, summ = config.data, config.summ
    data_dir = data.data_dir or str(workdir / "tfds")
    splits = {"train": data.train_split, "test": data.test_split, "val": data.get("val_split", "")}
    timings = {}
    start = time.perf_counter()
    srcs = {k: tfds_source.load(data.dataset, split, data_dir=data_dir, **data.options.to_dict())
            for k, split in splits.items() if split}
    timings["data_s"] = time.perf_counter() - start
    start = time.perf_counter()
    extractor = FrameFeatures(FeatureConfig(**config.features.to_dict()))
    feats = {k: video_features(src, extractor) for k, src in srcs.items()}
    timings["features_s"] = time.perf_counter() - start
    if summ.standardize:
        z = standardizer(feats["train"])
        feats = {k: [z(f) for f in fs] for k, fs in feats.items()}

    train_src, test_src = srcs["train"], srcs["test"]
    start = time.perf_counter()
    task, state, epochs = fit(config, train_src, feats["train"], str(workdir / "train"))
    timings["train_s"] = time.perf_counter() - start
    tcfg = training_config(config, len(train_src.videos))

    evals = {k: evaluate_split(config, task, state.params, srcs[k].videos, feats[k]) for k in ("test", "val")
             if k in srcs}
    results, preds = evals["test"]
    means = {k: {name: r["mean"] for name, r in res.items()} for k, (res, _) in evals.items()}
    table = summ_eval.markdown_table(means["test"])
    val_table = ["", f"Val split ({len(srcs['val'].videos)} videos, the one the settings were tuned on):", "",
                 summ_eval.markdown_table(means["val"])] if "val" in means else []
    summ_eval.write_results(workdir / "summary_results", {
        "results": results, "val_results": evals["val"][0] if "val" in evals else None, "timings": timings,
        "epoch_seconds": epochs}, "\n".join([table, *val_table, ""]))

    i, max_shot_len = int(summ.plot_video), summ.get("max_shot_len", 0)
    video = test_src.videos[i]
    shots = summ_eval.video_shots(video, feats["test"][i], max_shot_len=max_shot_len)
    frames = upsample_scores(preds[i]["importance"], summ_eval.picks(video), len(video))
    write_atomic(workdir / "summary_scores.png", plot_video(video, frames, keyshot_summary(
        frames, shots, summ.proportion), shots))

    steady = epochs[1:] or epochs
    report = "\n".join([
        f"# {config.name}: {task.loss} on {data.dataset} ({len(train_src.videos)} train / {len(test_src.videos)} "
        f"test videos)", "",
        f"F-score mode {summ.mode!r}, keyshots at {summ.proportion:.0%} of the frames from "
        + (f"shots cut to at most {max_shot_len} frames" if max_shot_len else "the videos' shots")
        + "; tau/rho: Kendall/Spearman vs each user, averaged (Otani et al. 2019); oracle: the users' mean score "
        "as the prediction.", "", table, *val_table, "",
        f"- features ({config.features.backbone or 'no backbone'}, stats_grid "
        f"{config.features.get('stats_grid', 0)}, {config.features.image_size}px, D={extractor.dim}): "
        f"{timings['features_s']:.1f} s; data build/load {timings['data_s']:.1f} s",
        f"- training: {tcfg.num_epochs} epochs x {tcfg.steps_per_epoch} steps (batch {summ.batch_size}) in "
        f"{timings['train_s']:.1f} s; per epoch {np.mean(steady):.2f} s (first epoch incl. compile "
        f"{epochs[0]:.2f} s)" if epochs else "",
        "", "![scores](summary_scores.png)", ""])
    write_atomic(workdir / "summary_report.md", report.encode())
    return {"results": means["test"], "val_results": means.get("val"), "timings": timings, "epoch_seconds": epochs}
