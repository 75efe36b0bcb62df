"""`--mode=eval`: evaluate trackers (jaxtrack checkpoints + baselines) on `config.benchmark`.

Config fields (ml_collections ConfigDict or dict; defaults in brackets):
  benchmark ["synthetic"]: a `DATASETS` name; data_root: dataset folder (not for synthetic);
  num_videos [16], seed [0], synthetic [{}]: synthetic test split size, stream, SyntheticConfig overrides;
  max_videos [0 = all]: cap for folder datasets;
  baselines [("csrt", "kcf", "static")]: `track.baselines` names;
  models [()]: entries {"workdir": a training workdir, "step": -1 (latest), and optionally "name" (a
    models.siamese name), "kwargs" (build kwargs), "normalize" (input normalisation), "track" (tracker settings
    over `track.siamese.DEFAULTS[name]` and the workdir's own), all defaulting to the workdir's config.json, and
    "label" (table name, default name)}; checkpoints [""]: comma-separated training workdirs, added to models;
  vot [False]: also run the VOT re-initialisation protocol (accuracy, robustness, EAO); attribute_plots [True].
Writes under `<workdir>/eval/<benchmark>/`: `results/<tracker>/...` (official layouts, see `benchmark`),
`summary.md` (table overall and per attribute), `summary.json`, `<attr>_success.png` / `<attr>_precision.png`.
Multi-host (`--distributed`): every process tracks its share of the sequences (`train.sharding.process_share`),
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
from jaxtrack.data import synthetic
from jaxtrack.data.readers import got10k, lasot, otb, vot
from jaxtrack.eval import benchmark
from jaxtrack.files import write_atomic
from jaxtrack.track import baselines, trained


@dataclasses.dataclass(frozen=True)
class Dataset:
    load: Callable  # (config) -> list[Video]
    layout: str  # result-file layout
    one_based: bool  # result boxes 1-based (the dataset's own ground-truth convention)
    scored: bool = True  # False: no public ground truth past frame 0 (results + submission archive only)
    vot: bool = False  # always run the VOT re-initialisation protocol too


def _synthetic(config):
    cfg = synthetic.SyntheticConfig(**dict(_get(config, "synthetic", None) or {}))
    return synthetic.make_videos(int(_get(config, "num_videos", 16)), seed=int(_get(config, "seed", 0)), config=cfg,
                                 split="test")


def _folder(reader, config):
    root = _get(config, "data_root", None)
    if not root:
        raise ValueError(f"benchmark {_get(config, 'benchmark', '')!r} needs config.data_root (the dataset folder)")
    videos = reader(root)
    cap = int(_get(config, "max_videos", 0))
    return videos[:cap] if cap else videos


DATASETS = {
    "synthetic": Dataset(_synthetic, "otb", False),
    "otb": Dataset(functools.partial(_folder, otb.read_otb), "otb", True),
    "uav123": Dataset(functools.partial(_folder, otb.read_otb), "otb", True),  # OTB-style folders (img/, gt)
    "lasot": Dataset(functools.partial(_folder, lasot.read_lasot), "otb", True),
    "got10k_val": Dataset(functools.partial(_folder, lambda root: got10k.read_got10k(root, "val")), "got10k", False),
    "got10k_test": Dataset(functools.partial(_folder, lambda root: got10k.read_got10k(root, "test")), "got10k", False,
                           scored=False),
    # VOT short-term: one-pass metrics and the re-initialisation protocol on the axis-aligned boxes of the regions
    "vot": Dataset(functools.partial(_folder, vot.read_vot), "otb", False, vot=True),
}


def _get(config, name, default):
    return config.get(name, default) if hasattr(config, "get") else getattr(config, name, default)


def model_entries(config) -> list[dict]:
    """`config.models` plus one entry per workdir of `config.checkpoints` (comma-separated training workdirs)."""
    workdirs = [w.strip() for w in str(_get(config, "checkpoints", "") or "").split(",") if w.strip()]
    return [dict(e) for e in _get(config, "models", ())] + [{"workdir": w} for w in workdirs]


def make_trackers(config) -> dict[str, Callable[[], object]]:
    """Table name -> factory of a fresh tracker (jaxtrack models first, then baselines). A model entry's name, build
    kwargs, input normalisation and tracker settings default to those of its training workdir's config.json
    (`track.trained.load_tracker`); the entry's `track` settings go on top."""
    out = {}
    for entry in model_entries(config):
        tracker = trained.load_tracker(entry["workdir"], step=int(entry.get("step", -1)), name=entry.get("name"),
                                       kwargs=entry.get("kwargs"), normalize=entry.get("normalize"),
                                       track=entry.get("track"))  # compiled once, re-initialised per video
        label = entry.get("label") or tracker.name
        if label in out:
            raise ValueError(f"two evaluated models are both labelled {label!r}; give them distinct `label`s")
        out[label] = lambda t=tracker: t
    for name in _get(config, "baselines", ("csrt", "kcf", "static")):
        out[name] = functools.partial(baselines.make, name)
    return out


def _summary_json(s: benchmark.Summary) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in dataclasses.asdict(s).items()}


def _distributed(fn, videos, label: str) -> list:
    """[fn(video) for video in videos]: this process's share (progress bar), gathered to every process."""
    share = sharding.process_share(len(videos))
    mine = [fn(videos[i]) for i in tqdm(share, desc=label, unit="seq", dynamic_ncols=True, leave=False)]
    return sharding.gather_shares(mine, len(videos))


def track_all(factory, videos, dataset: Dataset, results: epath.Path, label: str) -> list[benchmark.Run]:
    """One-pass runs of `label` over `videos` (split over the processes); process 0 writes the result files."""
    runs = _distributed(lambda video: benchmark.run_sequence(factory(), video), videos, label)
    if jax.process_index() == 0:
        for video, r in zip(videos, runs, strict=True):
            benchmark.write_result(dataset.layout, results, label, video.name, r, one_based=dataset.one_based)
    return runs


def submit(trackers, videos, dataset: Dataset, out_dir: epath.Path) -> dict:
    """Benchmarks without ground truth (GOT-10k test): result files and one submission archive per tracker
    (written by process 0; the others return the same report)."""
    report = {}
    for label, factory in trackers.items():
        track_all(factory, videos, dataset, out_dir / "results", label)
        if jax.process_index() == 0:
            logging.info("%s: upload %s", label, benchmark.submission_zip(out_dir / "results", label))
        report[label] = {"submission": str(benchmark.submission_path(out_dir / "results", label))}
    if jax.process_index() == 0:
        write_atomic(out_dir / "summary.json", json.dumps(report, indent=1).encode())
    return report


def run(config, workdir: str) -> dict:
    """Evaluates every tracker of `config` on `config.benchmark`; returns {tracker: {attribute: summary dict}}
    (+ "vot" entries with the VOT protocol), or {tracker: {"submission": zip path}} for unscored benchmarks. Every
    process returns the report; only process 0 writes."""
    name = _get(config, "benchmark", "synthetic")
    if name not in DATASETS:
        raise KeyError(f"config.benchmark {name!r} is not registered; expected one of {sorted(DATASETS)}")
    dataset = DATASETS[name]
    out_dir = epath.Path(workdir) / "eval" / name
    videos = dataset.load(config)
    trackers = make_trackers(config)
    if not dataset.scored:
        return submit(trackers, videos, dataset, out_dir)
    with_vot = dataset.vot or _get(config, "vot", False)
    per_attr: dict[str, dict[str, benchmark.Summary]] = {}
    report: dict[str, dict] = {}
    for label, factory in trackers.items():
        runs = track_all(factory, videos, dataset, out_dir / "results", label)
        per_attr[label] = benchmark.by_attribute([benchmark.score_sequence(v, r) for v, r in zip(videos, runs,
                                                                                                   strict=True)])
        report[label] = {attr: _summary_json(s) for attr, s in per_attr[label].items()}
        if with_vot:
            runs = _distributed(lambda video, f=factory: benchmark.run_vot(f(), video), videos, f"{label} (VOT)")
            report[label]["vot"] = {**benchmark.accuracy_robustness(runs), "eao": benchmark.eao(runs)}
        logging.info("%s on %s: AUC %.3f, precision@20 %.3f", label, name, per_attr[label]["all"].auc,
                     per_attr[label]["all"].precision_20)
    if jax.process_index():
        return report
    attrs = sorted({a for d in per_attr.values() for a in d}, key=lambda a: (a != "all", a))
    md = [f"# {name}: {len(videos)} sequences\n"]
    for attr in attrs:
        table = {t: d[attr] for t, d in per_attr.items() if attr in d}
        md += [f"\n## {attr}\n\n", benchmark.markdown_table(table)]
        if attr == "all" or _get(config, "attribute_plots", True):
            benchmark.plot_curves(table, out_dir / attr, f"{name} ({attr})")
    if with_vot:
        md += ["\n## VOT protocol (reset 5 frames after failure, burn-in 10)\n\n",
               "| tracker | accuracy | failures | robustness (/100 fr) | EAO |\n|---|---|---|---|---|\n"]
        md += [f"| {t} | {r['vot']['accuracy']:.3f} | {r['vot']['failures']:.0f} | {r['vot']['robustness']:.2f} | "
               f"{r['vot']['eao']:.3f} |\n" for t, r in report.items()]
    write_atomic(out_dir / "summary.md", "".join(md).encode())
    write_atomic(out_dir / "summary.json", json.dumps(report, indent=1).encode())
    return report
