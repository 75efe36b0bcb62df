"""`--mode=compress`: SVD-compress a trained summarizer (shared projections, `models.lstm_compress`), fine-tune it
briefly with the one trainer, and evaluate it; or (`compress.sweep`) the table of ranks and delta thresholds.

    python launch.py --experiment=dpplstm_synthetic --workdir=runs/dpp --mode=compress --config.compress.rank=16
    python launch.py --experiment=dpplstm_synthetic --workdir=runs/dpp --mode=compress --config.compress.variance=0.9
    python launch.py --experiment=dpplstm_synthetic --workdir=runs/dpp --mode=compress --config.compress.sweep=True

`--workdir` is the trained (uncompressed) summarizer's (`--mode=summarize`); the experiment and overrides must be
the ones it was trained with. On TVSum / SumMe (eccv16 features, trained by the k-fold protocol) it is the k-fold
run's workdir, and `--config.compress.fold=k` picks the fold whose model (`<workdir>/split<k>`) is compressed and
tested on `split<k>_test`:

    python launch.py --experiment=dpplstm_synthetic --workdir=runs/tvsum --mode=compress --config.data.dataset=tvsum \
        --config.data.manual_dir=/data/eccv16 --config.compress.fold=0 --config.compress.sweep=True

One model (`compress.rank` r, or `compress.variance` v): writes the compressed model to `compress.out` (default
`<workdir>/compressed/rank<r>` or `var<v>`) as a workdir of its own: config.json (the experiment with
`model.kwargs.projection` = the ranks, `num_epochs` = `compress.finetune_epochs`, `data.data_dir` = the trained
run's, `optim.lr` constant `compress.finetune_lr` when > 0) and checkpoint 0 (variables only), which the trainer
fine-tunes from (a fresh optimizer). Then `compress_results.{json,md}` there: rows uncompressed, as compressed,
fine-tuned. `workdir.load_summarizer(<out>)` loads it like any other; `--mode=summarize` on it needs the overrides
printed at the end. `compress.sweep`: every `compress.ranks` and `compress.variances` (each into
`<workdir>/compressed/...` as above, two rows) and `compress.delta_thresholds` (the delta trick on the trained
model, `summ.delta_threshold`) next to the uncompressed model (`eval.summ_compress`), in
`<workdir>/compressed/compress_results.{json,md}`. Data, features and evaluation as `--mode=summarize` (test split).
"""

from __future__ import annotations

import dataclasses
import json

import ml_collections
from etils import epath

from jaxtrack import config as config_lib
from jaxtrack import workdir as jt_workdir
from jaxtrack.data import tfds_source
from jaxtrack.eval import summ_compress, summ_predict
from jaxtrack.files import write_atomic
from jaxtrack.models import lstm_compress
from jaxtrack.models.features import FeatureConfig, FrameFeatures, video_features
from jaxtrack.modes import summarize
from jaxtrack.train import checkpoint, init_from, summ_task


def _data(config, workdir: epath.Path) -> tuple[dict, dict]:
    """({"train", "test"}: sources, {"train", "test"}: step features, z-scored as in training): extracted from the
    frames, or the eccv16 files' stored features."""
    data = config.data
    frames = tfds_source.stores_frames(data.dataset)
    options = data.options.to_dict() if frames else {}  # eccv16: no options
    srcs = {k: tfds_source.load(data.dataset, split, data_dir=config_lib.data_dir(config, workdir),
                                manual_dir=data.manual_dir or None, **options)
            for k, split in (("train", data.split), ("test", data.test_split))}
    if frames:
        extractor = FrameFeatures(FeatureConfig(**config.features.to_dict()))
        feats = {k: video_features(src, extractor) for k, src in srcs.items()}
    else:
        feats = {k: [v.features for v in src.videos] for k, src in srcs.items()}
    if config.summ.standardize:
        z = summ_predict.standardizer(feats["train"])
        feats = {k: [z(f) for f in fs] for k, fs in feats.items()}
    return srcs, feats


def fold_config(config, workdir: epath.Path) -> tuple[ml_collections.ConfigDict, epath.Path]:
    """(config, workdir) of fold `compress.fold` of a k-fold run in `workdir` (eccv16 datasets): its model in
    `<workdir>/split<k>`, trained on `split<k>_train` and tested on `split<k>_test`, the data dir the run's."""
    k = int(config.compress.fold)
    out = config.copy_and_resolve_references()
    out.data.data_dir = config_lib.data_dir(config, workdir)
    out.data.split, out.data.test_split = f"split{k}_train", f"split{k}_test"
    return out, workdir / f"split{k}"


def compressed_config(config, workdir: epath.Path, ranks: tuple[int, ...]) -> ml_collections.ConfigDict:
    """The compressed model's experiment config (module docstring)."""
    out = config.copy_and_resolve_references()
    out.mode = "summarize"
    with out.unlocked():
        out.model.kwargs.projection = tuple(int(r) for r in ranks)
        if config.compress.finetune_lr > 0:
            out.optim.lr = ml_collections.ConfigDict({"type": "constant", "start_lr": config.compress.finetune_lr})
            out.optim.warmup.epochs = 0
    out.num_epochs = int(config.compress.finetune_epochs)
    out.data.data_dir = config_lib.data_dir(config, workdir)
    return out


def compress_one(config, workdir: epath.Path, params, srcs, feats, *, rank: int = 0, variance: float = 0.0,
                 out: str = "") -> tuple[summ_task.SummTask, dict, dict, epath.Path]:
    """(task, params as compressed, fine-tuned params, its workdir) of one compressed model; an out workdir
    holding checkpoints already is reused (the trainer resumes there)."""
    tag = f"rank{rank}" if rank else f"var{variance:g}"
    path = epath.Path(out) if out else workdir / "compressed" / tag
    new_params, kwargs, info = lstm_compress.compress_summarizer(params, config.model.kwargs.to_dict(), rank=rank,
                                                                 variance=variance)
    cfg = compressed_config(config, workdir, kwargs["projection"])
    jt_workdir.write_config(path, cfg)
    if not checkpoint.steps(path):
        init_from.save_variables(path, {"params": new_params})
    new_params = checkpoint.restore_variables(path, 0)["params"]
    print(f"compress {tag}: ranks {kwargs['projection']} (W_h variance kept "
          f"{', '.join(format(v['variance'], '.3f') for v in info.values())}) -> {path}; fine-tuning "
          f"{cfg.num_epochs} epochs", flush=True)
    if cfg.num_epochs > 0:
        task, state, _ = summarize.fit(cfg, srcs["train"], feats["train"], path)
        return task, new_params, state.params, path
    return summ_task.make_task(cfg), new_params, new_params, path


def _ranks(task: summ_task.SummTask) -> str:
    return "r=" + "/".join(map(str, task.model.projection))


def _svd_rows(task, new, tuned, setting: str, epochs: int, exact: dict, evaluate: dict) -> list[dict]:
    """The compressed model's row as compressed and, after fine-tuning, as fine-tuned."""
    rows = [summ_compress.measure("SVD", setting, task, new, exact=exact["importance"], **evaluate)]
    if epochs:
        rows.append(summ_compress.measure(f"SVD + {epochs} ep", setting, task, tuned, exact=exact["importance"],
                                          **evaluate))
    return rows


def _write(stem: epath.Path, rows: list[dict], header: str) -> str:
    table = summ_compress.markdown_table(rows)
    clean = [{k: v for k, v in r.items() if k != "importance"} for r in rows]
    write_atomic(stem.parent / f"{stem.name}.json", json.dumps(clean, indent=1).encode())
    write_atomic(stem.parent / f"{stem.name}.md", f"{header}\n\n{table}\n".encode())
    return table


def run(config: ml_collections.ConfigDict, workdir: str) -> list[dict]:
    """Compresses (and fine-tunes, evaluates) one model, or the sweep (module docstring); returns the table rows."""
    workdir, cfg = epath.Path(workdir), config.compress
    if not cfg.sweep and (cfg.rank > 0) == (cfg.variance > 0):
        raise ValueError(f"--mode=compress needs one of --config.compress.rank=R or --config.compress.variance=V "
                         f"(or --config.compress.sweep=True); got rank={cfg.rank}, variance={cfg.variance}")
    if not tfds_source.stores_frames(config.data.dataset):  # TVSum / SumMe: one fold of `--mode=summarize`'s
        config, workdir = fold_config(config, workdir)
    base, params = jt_workdir.load_summarizer(workdir)  # FileNotFoundError: train first
    base = dataclasses.replace(base, delta_threshold=None)
    srcs, feats = _data(config, workdir)
    summ = config.summ
    evaluate = dict(videos=srcs["test"].videos, features=feats["test"], buckets=tuple(config.data.summ.buckets),
                    mode=summ.mode, proportion=summ.proportion, seed=config.seed,
                    max_shot_len=summ.get("max_shot_len", 0), repeats=int(cfg.repeats))
    print(f"compress: {config.name} in {workdir}: {lstm_compress.count_params(params):,} parameters; "
          f"{len(srcs['test'].videos)} test videos", flush=True)
    exact = summ_compress.measure("uncompressed", "–", base, params, **evaluate)
    if not cfg.sweep:
        task, new, tuned, path = compress_one(config, workdir, params, srcs, feats, rank=int(cfg.rank),
                                              variance=float(cfg.variance), out=cfg.out)
        rows = [exact, *_svd_rows(task, new, tuned, _ranks(task), cfg.finetune_epochs, exact, evaluate)]
        print(_write(path / "compress_results", rows, f"# {config.name}: SVD-compressed ({path})"))
        print(f"evaluate it again: python launch.py --experiment={config.name} --mode=summarize --workdir={path} "
              f"--config.model.kwargs.projection='{tuple(task.model.projection)}' "
              f"--config.num_epochs={int(cfg.finetune_epochs)} "
              f"--config.data.data_dir={config_lib.data_dir(config, workdir)}")
        return rows
    rows = [exact]
    for key, values in (("rank", cfg.ranks), ("variance", cfg.variances)):
        for v in values:
            task, new, tuned, _ = compress_one(config, workdir, params, srcs, feats, **{key: v})
            setting = _ranks(task) + (f" (v {v:g})" if key == "variance" else "")
            rows += _svd_rows(task, new, tuned, setting, cfg.finetune_epochs, exact, evaluate)
    for th in cfg.delta_thresholds:
        rows.append(summ_compress.measure("delta", f"{th:g}", dataclasses.replace(base, delta_threshold=float(th)),
                                          params, exact=exact["importance"], **evaluate))
    table = _write(workdir / "compressed" / "compress_results", rows,
                   f"# {config.name}: SVD compression and the delta trick ({len(srcs['test'].videos)} test videos)")
    print(table)
    print(f"results: {workdir / 'compressed' / 'compress_results.md'}")
    return rows
