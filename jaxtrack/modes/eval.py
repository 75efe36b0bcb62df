"""`--mode=eval`: evaluate trackers (jaxtrack checkpoints + baselines) on `config.eval.benchmark`.

    python launch.py --experiment=eval_synthetic --workdir=runs/eval_synthetic
    python launch.py --experiment=siamrpnpp_acm_synthetic --workdir=runs/acm --mode=eval   # the workdir's model too

Config section `eval` (`jaxtrack.config.experiment`):
  benchmark: a `jaxtrack.eval.datasets` name; data_root: dataset folder (not for synthetic);
  num_videos, seed, synthetic: synthetic test split size, stream, SyntheticConfig overrides;
  max_videos (0 = all): cap for folder datasets; baselines: `track.baselines` names;
  models: entries {"workdir": a training workdir, "step": -1 (latest), "track": tracker settings over the
    workdir's own, "label": table name (default the model name)}; checkpoints: comma-separated training workdirs,
    added to models. A training experiment run in its own workdir (checkpoints there) is evaluated first;
  vot: also run the VOT re-initialisation protocol (accuracy, robustness, EAO); attribute_plots.
Writes under `<workdir>/eval/<benchmark>/`: `results/<tracker>/...` (official layouts, see `benchmark`),
`summary.md` (table overall and per attribute), `summary.json`, `<attr>_success.png` / `<attr>_precision.png`.
Multi-host (`--distributed`): every process tracks its share of the sequences (`sharding.process_share`),
the runs are gathered to all processes, and process 0 writes the files.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable

import jax
import numpy as np
from absl import logging
from etils import epath
from tqdm.auto import tqdm

from jaxtrack import sharding
from jaxtrack import workdir as jt_workdir
from jaxtrack.eval import benchmark, datasets, vot
from jaxtrack.files import write_atomic
from jaxtrack.track import baselines
from jaxtrack.train import checkpoint


def model_entries(config, workdir: epath.Path) -> list[dict]:
    """The experiment's own model when `workdir` holds its checkpoints, then `config.eval.models`, then one entry per
    workdir of `config.eval.checkpoints` (comma-separated training workdirs)."""
    cfg = config.eval
    own = [{"workdir": str(workdir)}] if config.model.name and checkpoint.steps(workdir) else []
    workdirs = [w.strip() for w in str(cfg.checkpoints).split(",") if w.strip()]
    return own + [dict(e) for e in cfg.models] + [{"workdir": w} for w in workdirs]


def make_trackers(config, workdir: epath.Path) -> dict[str, Callable[[], object]]:
    """Table name -> factory of a fresh tracker (jaxtrack models first, then baselines). A model's family, build
    kwargs, input normalisation and tracker settings come from its workdir's config.json (`workdir.load_tracker`);
    the entry's `track` settings go on top."""
    out = {}
    for entry in model_entries(config, workdir):
        tracker = jt_workdir.load_tracker(entry["workdir"], step=int(entry.get("step", -1)),
                                          track=entry.get("track"))  # compiled once, re-initialised per video
        label = entry.get("label") or tracker.name
        if label in out:
            raise ValueError(f"two evaluated models are both labelled {label!r}; give them distinct `label`s")
        out[label] = lambda t=tracker: t
    for name in config.eval.baselines:
        out[name] = functools.partial(baselines.make, name)
    return out


def _summary_json(s: benchmark.Summary) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in dataclasses.asdict(s).items()}


def _distributed(fn, videos, label: str) -> list:
    """[fn(video) for video in videos]: this process's share (progress bar), gathered to every process."""
    share = sharding.process_share(len(videos))
    mine = [fn(videos[i]) for i in tqdm(share, desc=label, unit="seq", dynamic_ncols=True, leave=False)]
    return sharding.gather_shares(mine, len(videos))


def track_all(factory, videos, dataset: datasets.Dataset, results: epath.Path, label: str) -> list[benchmark.Run]:
    """One-pass runs of `label` over `videos` (split over the processes); process 0 writes the result files."""
    runs = _distributed(lambda video: benchmark.run_sequence(factory(), video), videos, label)
    if jax.process_index() == 0:
        for video, r in zip(videos, runs, strict=True):
            benchmark.write_result(dataset.layout, results, label, video.name, r, one_based=dataset.one_based)
    return runs


def submit(trackers, videos, dataset: datasets.Dataset, out_dir: epath.Path) -> dict:
    """Benchmarks without ground truth (GOT-10k test): result files and one submission archive per tracker
    (written by process 0; the others return the same report)."""
    report = {}
    for label, factory in trackers.items():
        track_all(factory, videos, dataset, out_dir / "results", label)
        if jax.process_index() == 0:
            print(f"{label}: upload {benchmark.submission_zip(out_dir / 'results', label)}")
        report[label] = {"submission": str(benchmark.submission_path(out_dir / "results", label))}
    if jax.process_index() == 0:
        write_atomic(out_dir / "summary.json", json.dumps(report, indent=1).encode())
    return report


def run(config, workdir: str) -> dict:
    """Evaluates every tracker of `config.eval` on its benchmark; returns {tracker: {attribute: summary dict}}
    (+ "vot" entries with the VOT protocol), or {tracker: {"submission": zip path}} for unscored benchmarks. Every
    process returns the report; only process 0 writes."""
    cfg, workdir = config.eval, epath.Path(workdir)
    name = cfg.benchmark
    dataset = datasets.get(name)
    out_dir = workdir / "eval" / name
    print(f"eval: {name} ...", flush=True)
    videos = dataset.load(cfg)
    trackers = make_trackers(config, workdir)
    if not dataset.scored:
        return submit(trackers, videos, dataset, out_dir)
    with_vot = dataset.vot or cfg.vot
    per_attr: dict[str, dict[str, benchmark.Summary]] = {}
    report: dict[str, dict] = {}
    for label, factory in trackers.items():
        runs = track_all(factory, videos, dataset, out_dir / "results", label)
        per_attr[label] = benchmark.by_attribute([benchmark.score_sequence(v, r) for v, r in zip(videos, runs,
                                                                                                   strict=True)])
        report[label] = {attr: _summary_json(s) for attr, s in per_attr[label].items()}
        if with_vot:
            runs = _distributed(lambda video, f=factory: vot.run_vot(f(), video), videos, f"{label} (VOT)")
            interval = dataset.eao_interval or vot.eao_interval([len(v) for v in videos])
            report[label]["vot"] = {**vot.accuracy_robustness(runs), "eao": vot.eao(runs, interval),
                                    "eao_interval": list(interval)}
        logging.info("%s on %s: AUC %.3f, precision@20 %.3f", label, name, per_attr[label]["all"].auc,
                     per_attr[label]["all"].precision_20)
    if jax.process_index():
        return report
    attrs = sorted({a for d in per_attr.values() for a in d}, key=lambda a: (a != "all", a))
    md = [f"# {name}: {len(videos)} sequences\n"]
    for attr in attrs:
        table = {t: d[attr] for t, d in per_attr.items() if attr in d}
        md += [f"\n## {attr}\n\n", benchmark.markdown_table(table)]
        if attr == "all" or cfg.attribute_plots:
            benchmark.plot_curves(table, out_dir / attr, f"{name} ({attr})")
    if with_vot:
        lo, hi = next(iter(report.values()))["vot"]["eao_interval"]
        md += [f"\n## VOT protocol (reset 5 frames after failure, burn-in 10; accuracy and robustness averaged over "
               f"sequences weighted by length, as the VOT toolkit; EAO over sequence lengths {lo}-{hi}"
               f"{'' if dataset.eao_interval else ', estimated from this dataset'})\n\n",
               "| tracker | accuracy | failures | robustness (failures per sequence, length-weighted) | EAO |\n"
               "|---|---|---|---|---|\n"]
        md += [f"| {t} | {r['vot']['accuracy']:.3f} | {r['vot']['failures']:.0f} | {r['vot']['robustness']:.2f} | "
               f"{r['vot']['eao']:.3f} |\n" for t, r in report.items()]
    write_atomic(out_dir / "summary.md", "".join(md).encode())
    write_atomic(out_dir / "summary.json", json.dumps(report, indent=1).encode())
    print(benchmark.markdown_table({t: d["all"] for t, d in per_attr.items()}), end="")
    print(f"eval: wrote {out_dir / 'summary.md'}")
    return report
