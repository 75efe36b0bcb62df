"""`--mode=summarize`: train a vsLSTM / dppLSTM summarizer with the shared trainer and evaluate it.

    python launch.py --experiment=dpplstm_synthetic --workdir=runs/dpplstm_synthetic
    python launch.py --experiment=dpplstm_synthetic --workdir=runs/dpp_tvsum --config.data.dataset=tvsum \
        --config.data.manual_dir=raw/eccv16     # the 5-fold protocol (below); SumMe: --config.summ.mode=max

Default: build (or reuse) the dataset's splits (`data.split` / `data.eval_split` / `data.test_split`, TFDS under
`jaxtrack.config.data_dir`), extract per-frame features (`config.features`: a shared backbone and/or frame
statistics), z-score them with the training steps' statistics (`summ.standardize`), train (`trainer.train` on
`train.summ_task.make_task(config)`; checkpoints/ and metrics.jsonl in the workdir, `loss_curve.png` after), predict
the test (and eval) videos' importance and evaluate it next to the random / uniform / oracle / human baselines on
shots cut to `summ.max_shot_len` frames (`eval.summ_predict.evaluate_split`). Writes, atomically:
  <workdir>/summary_report.md, summary_results.{json,md}, summary_scores.png (a test video's predicted vs
  annotated importance with the selected shots).
`summ.folds = K > 0`, and by default (K = 5, the canonical splits) on an eccv16 h5 dataset (`data.dataset` "tvsum" /
"summe", which stores features, not frames): the k-fold protocol instead (raw files in `data.manual_dir`: the h5
file and the splits json; `data.options` and `features` are not used): per fold k, train on `split<k>_train` with
the stored features (z-scored with `summ.standardize`) into `<workdir>/split<k>/` and evaluate `split<k>_test` on
the stored shots; writes `<workdir>/cv_results.{json,md}` (`summ_eval.cross_validate`).
Config fields: `experiments/dpplstm_synthetic.py`. A trained model: `jaxtrack.workdir.load_summarizer(workdir)`.
"""

from __future__ import annotations

import time

import grain
import ml_collections
import numpy as np
from etils import epath

from jaxtrack import config as config_lib
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import tfds_source
from jaxtrack.data.pipeline_summ import SummConfig, summ_batches
from jaxtrack.data.tfds_builders import eccv16
from jaxtrack.eval import summ_eval, summ_predict
from jaxtrack.eval.summarization import keyshot_summary, upsample_scores
from jaxtrack.files import write_atomic
from jaxtrack.models.features import FeatureConfig, FrameFeatures, video_features
from jaxtrack.train import metrics_io, summ_task, trainer

LOSS_KEYS = ("train/loss", "train/mse", "train/dpp_nll")


def training_config(config: ml_collections.ConfigDict, n_videos: int) -> ml_collections.ConfigDict:
    """`config` with steps_per_epoch (0: one pass over `n_videos` in batches of `data.batch_size`) and logging /
    eval once per epoch."""
    tcfg = config.copy_and_resolve_references()
    if not tcfg.steps_per_epoch:
        tcfg.steps_per_epoch = max(1, n_videos // config.data.batch_size)
    tcfg.log_every = tcfg.eval_every = tcfg.steps_per_epoch
    return tcfg


def _buckets(config: ml_collections.ConfigDict) -> tuple[int, ...]:
    return tuple(config.data.summ.buckets)


def fit(config: ml_collections.ConfigDict, train_src, features: list[np.ndarray] | None, workdir: epath.Path):
    """(task, final TrainState, seconds per epoch) of the shared trainer on `train_src` (`features`: per-video
    [N_i, D], default each video's stored features); checkpoints/, metrics.jsonl and loss_curve.png go to `workdir`."""
    tcfg = training_config(config, len(train_src.videos))
    summ_config = SummConfig(buckets=_buckets(config), keyframe_threshold=config.data.summ.keyframe_threshold)

    def train_data():
        ds = summ_batches(train_src, summ_config, batch_size=config.data.batch_size, seed=config.seed,
                          features=features, num_epochs=None, drop_remainder=True,
                          shard_options=grain.sharding.NoSharding())
        return iter(ds.map(summ_task.model_batch))

    task = summ_task.make_task(config)
    state = trainer.train(tcfg, str(workdir), task=task, train_data=train_data)
    metrics = metrics_io.read_metrics(workdir / "metrics.jsonl")
    metrics_io.plot_losses(metrics, workdir / "loss_curve.png", f"{config.name} (train loss and its terms)",
                           keys=LOSS_KEYS)
    rates = metrics.get("train/steps_per_sec", ((), ()))[1]  # logged once per epoch
    return task, state, [tcfg.steps_per_epoch / float(r) for r in rates]


def cross_validation(config: ml_collections.ConfigDict, workdir: epath.Path, folds: int) -> dict:
    """The `folds`-fold protocol (module docstring); returns what `cv_results.json` holds."""
    data, summ = config.data, config.summ
    data_dir = config_lib.data_dir(config, workdir)
    sources = {}

    def load(k: int, part: str):
        if (k, part) not in sources:
            sources[k, part] = tfds_source.load(data.dataset, f"split{k}_{part}", data_dir=data_dir,
                                                manual_dir=data.manual_dir or None)  # eccv16: no options
        return sources[k, part]

    def fit_predict(k, train, test):
        train_feats, test_feats = [v.features for v in train], [v.features for v in test]
        if summ.standardize:
            z = summ_predict.standardizer(train_feats)
            train_feats, test_feats = [z(f) for f in train_feats], [z(f) for f in test_feats]
        start = time.perf_counter()
        jt_workdir.write_config(workdir / f"split{k}", config)  # load_summarizer(<workdir>/split<k>)
        task, state, _ = fit(config, load(k, "train"), train_feats, workdir / f"split{k}")
        print(f"fold {k}: trained on {len(train)} videos in {time.perf_counter() - start:.1f} s, testing on "
              f"{len(test)}")
        return [p["importance"] for p in summ_predict.predict(task, state.params, test_feats, _buckets(config))]

    result = summ_eval.cross_validate(lambda k, part: load(k, part).videos, fit_predict, n_splits=folds,
                                      mode=summ.mode, proportion=summ.proportion, seed=config.seed,
                                      path_stem=workdir / "cv_results")
    print(summ_eval.markdown_table(result["mean"]))
    print(f"{folds}-fold results: {workdir / 'cv_results.md'}")
    return result


def run(config: ml_collections.ConfigDict, workdir: str) -> dict:
    """Builds data and features, trains, evaluates against baselines on the test split (and `data.eval_split` when
    set), writes the report (module docstring); with `summ.folds > 0`, the k-fold protocol instead."""
    workdir = epath.Path(workdir)
    jt_workdir.write_config(workdir, config)
    folds = config.summ.get("folds", 0) or (0 if tfds_source.stores_frames(config.data.dataset) else eccv16.FOLDS)
    if folds > 0:
        return cross_validation(config, workdir, folds)
    data, summ = config.data, config.summ
    splits = {"train": data.split, "test": data.test_split, "val": data.eval_split}
    timings = {}
    start = time.perf_counter()
    srcs = {k: tfds_source.load(data.dataset, split, data_dir=config_lib.data_dir(config, workdir),
                                manual_dir=data.manual_dir or None, **data.options.to_dict())
            for k, split in splits.items() if split}
    timings["data_s"] = time.perf_counter() - start
    start = time.perf_counter()
    extractor = FrameFeatures(FeatureConfig(**config.features.to_dict()))
    feats = {k: video_features(src, extractor) for k, src in srcs.items()}
    timings["features_s"] = time.perf_counter() - start
    if summ.standardize:
        z = summ_predict.standardizer(feats["train"])
        feats = {k: [z(f) for f in fs] for k, fs in feats.items()}
    print(f"data: {', '.join(f'{len(s.videos)} {k}' for k, s in srcs.items())} videos of {data.dataset}; features "
          f"D={extractor.dim} in {timings['features_s']:.1f} s")

    train_src, test_src = srcs["train"], srcs["test"]
    start = time.perf_counter()
    task, state, epochs = fit(config, train_src, feats["train"], workdir)
    timings["train_s"] = time.perf_counter() - start
    tcfg = training_config(config, len(train_src.videos))
    print(f"trained {task.loss}: {tcfg.num_epochs} epochs x {tcfg.steps_per_epoch} steps in "
          f"{timings['train_s']:.1f} s; {workdir / 'loss_curve.png'}")

    max_shot_len = summ.get("max_shot_len", 0)
    evals = {k: summ_predict.evaluate_split(task, state.params, srcs[k].videos, feats[k], buckets=_buckets(config),
                                            mode=summ.mode, proportion=summ.proportion, seed=config.seed,
                                            max_shot_len=max_shot_len)
             for k in ("test", "val") if k in srcs}
    results, preds = evals["test"]
    means = {k: {name: r["mean"] for name, r in res.items()} for k, (res, _) in evals.items()}
    table = summ_eval.markdown_table(means["test"])
    val_table = ["", f"Val split ({len(srcs['val'].videos)} videos, the one the settings were tuned on):", "",
                 summ_eval.markdown_table(means["val"])] if "val" in means else []
    summ_eval.write_results(workdir / "summary_results", {
        "results": results, "val_results": evals["val"][0] if "val" in evals else None, "timings": timings,
        "epoch_seconds": epochs}, "\n".join([table, *val_table, ""]))

    i = int(summ.plot_video)
    video = test_src.videos[i]
    shots = summ_eval.video_shots(video, feats["test"][i], max_shot_len=max_shot_len)
    frames = upsample_scores(preds[i]["importance"], summ_eval.picks(video), len(video))
    write_atomic(workdir / "summary_scores.png", summ_predict.plot_video(video, frames, keyshot_summary(
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
        f"- training: {tcfg.num_epochs} epochs x {tcfg.steps_per_epoch} steps (batch {data.batch_size}) in "
        f"{timings['train_s']:.1f} s; per epoch {np.mean(steady):.2f} s (first epoch incl. compile "
        f"{epochs[0]:.2f} s)" if epochs else "",
        "", "![scores](summary_scores.png)", "![loss](loss_curve.png)", ""])
    write_atomic(workdir / "summary_report.md", report.encode())
    print(table)
    print(f"report: {workdir / 'summary_report.md'}")
    return {"results": means["test"], "val_results": means.get("val"), "timings": timings, "epoch_seconds": epochs}
