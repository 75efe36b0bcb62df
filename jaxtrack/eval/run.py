"""`--mode=eval`: evaluate trackers (jaxtrack checkpoints + baselines) on `config.benchmark`.

Config fields (ml_collections ConfigDict or dict; defaults in brackets):
  benchmark ["synthetic"]: a `DATASETS` name; data_root: dataset folder (not for synthetic);
  num_videos [16], seed [0], synthetic [{}]: synthetic test split size, stream, SyntheticConfig overrides;
  max_videos [0 = all]: cap for folder datasets;
  baselines [("csrt", "kcf", "static")]: `track.baselines` names;
  models [()]: entries {"name": a models.siamese name, "workdir": a training workdir, "step": -1 (latest),
    "kwargs": build kwargs and "normalize": input normalisation (both default to the workdir's config.json),
    "label": table name (default name)};
  vot [False]: also run the VOT re-initialisation protocol (accuracy, robustness, EAO); attribute_plots [True].
Writes under `<workdir>/eval/<benchmark>/`: `results/<tracker>/...` (official layouts, see `benchmark`),
`summary.md` (table overall and per attribute), `summary.json`, `<attr>_success.png` / `<attr>_precision.png`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable

import numpy as np
import orbax.checkpoint as ocp
from absl import logging
from etils import epath

from jaxtrack.data import synthetic
from jaxtrack.data.prepare import write_atomic
from jaxtrack.data.readers import got10k, lasot, otb
from jaxtrack.eval import benchmark
from jaxtrack.track import baselines
from jaxtrack.track import siamese as siamese_track


@dataclasses.dataclass(frozen=True)
class Dataset:
    load: Callable  # (config) -> list[Video]
    layout: str  # result-file layout
    one_based: bool  # result boxes 1-based (the dataset's own ground-truth convention)


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
}


def _get(config, name, default):
    return config.get(name, default) if hasattr(config, "get") else getattr(config, name, default)


def load_variables(workdir: epath.PathLike, step: int = -1) -> dict:
    """Flax variables {"params", "batch_stats"} of the TrainState checkpoint `step` (-1: latest) in
    `<workdir>/checkpoints/<step>/state` (jaxtrack.train.checkpoint layout), restored without a template."""
    ckpt_dir = epath.Path(workdir) / "checkpoints"
    steps = sorted(int(p.name) for p in ckpt_dir.iterdir() if p.name.isdigit()) if ckpt_dir.is_dir() else []
    if not steps:
        raise FileNotFoundError(f"{ckpt_dir}: no checkpoint found")
    step = steps[-1] if step < 0 else step
    if step not in steps:
        raise FileNotFoundError(f"{ckpt_dir}: no checkpoint {step}; have {steps}")
    state = ocp.StandardCheckpointer().restore((ckpt_dir / str(step) / "state").absolute())
    return {"params": state["params"], **({"batch_stats": state["batch_stats"]} if state.get("batch_stats") else {})}


def training_config(workdir: epath.PathLike) -> dict:
    """The `config.json` that `launch.py` wrote into a training workdir ({} if there is none)."""
    path = epath.Path(workdir) / "config.json"
    return json.loads(path.read_text()) if path.exists() else {}


def make_trackers(config) -> dict[str, Callable[[], object]]:
    """Table name -> factory of a fresh tracker (jaxtrack models first, then baselines). A model entry's build
    kwargs and input normalisation default to those in its training workdir's config.json."""
    out = {}
    for entry in _get(config, "models", ()):
        name, trained = entry["name"], training_config(entry["workdir"])
        kwargs = dict(entry.get("kwargs") or trained.get("model", {}).get("kwargs", {}))
        norm = entry.get("normalize") or trained.get("task", {}).get("normalize", "none")
        variables = load_variables(entry["workdir"], int(entry.get("step", -1)))
        track_config = dataclasses.replace(siamese_track.DEFAULTS[name], normalize=norm)
        tracker = siamese_track.Tracker(name, variables, track_config, **kwargs)  # compiled once, re-initialised
        out[entry.get("label") or name] = lambda t=tracker: t
    for name in _get(config, "baselines", ("csrt", "kcf", "static")):
        out[name] = functools.partial(baselines.make, name)
    return out


def _summary_json(s: benchmark.Summary) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in dataclasses.asdict(s).items()}


def run(config, workdir: str) -> dict:
    """Evaluates every tracker of `config` on `config.benchmark`; returns {tracker: {attribute: summary dict}}
    (+ "vot" entries when `config.vot`)."""
    name = _get(config, "benchmark", "synthetic")
    if name not in DATASETS:
        raise KeyError(f"config.benchmark {name!r} is not registered; expected one of {sorted(DATASETS)}")
    dataset = DATASETS[name]
    out_dir = epath.Path(workdir) / "eval" / name
    videos = dataset.load(config)
    trackers = make_trackers(config)
    per_attr: dict[str, dict[str, benchmark.Summary]] = {}
    report: dict[str, dict] = {}
    for label, factory in trackers.items():
        scores = []
        for video in videos:
            run_ = benchmark.run_sequence(factory(), video)
            benchmark.write_result(dataset.layout, out_dir / "results", label, video.name, run_,
                                   one_based=dataset.one_based)
            scores.append(benchmark.score_sequence(video, run_))
        per_attr[label] = benchmark.by_attribute(scores)
        report[label] = {attr: _summary_json(s) for attr, s in per_attr[label].items()}
        if _get(config, "vot", False):
            runs = [benchmark.run_vot(factory(), v) for v in videos]
            report[label]["vot"] = {**benchmark.accuracy_robustness(runs), "eao": benchmark.eao(runs)}
        logging.info("%s on %s: AUC %.3f, precision@20 %.3f", label, name, per_attr[label]["all"].auc,
                     per_attr[label]["all"].precision_20)
    attrs = sorted({a for d in per_attr.values() for a in d}, key=lambda a: (a != "all", a))
    md = [f"# {name}: {len(videos)} sequences\n"]
    for attr in attrs:
        table = {t: d[attr] for t, d in per_attr.items() if attr in d}
        md += [f"\n## {attr}\n\n", benchmark.markdown_table(table)]
        if attr == "all" or _get(config, "attribute_plots", True):
            benchmark.plot_curves(table, out_dir / attr, f"{name} ({attr})")
    if _get(config, "vot", False):
        md += ["\n## VOT protocol (reset 5 frames after failure, burn-in 10)\n\n",
               "| tracker | accuracy | failures | robustness (/100 fr) | EAO |\n|---|---|---|---|---|\n"]
        md += [f"| {t} | {r['vot']['accuracy']:.3f} | {r['vot']['failures']:.0f} | {r['vot']['robustness']:.2f} | "
               f"{r['vot']['eao']:.3f} |\n" for t, r in report.items()]
    write_atomic(out_dir / "summary.md", "".join(md).encode())
    write_atomic(out_dir / "summary.json", json.dumps(report, indent=1).encode())
    return report
