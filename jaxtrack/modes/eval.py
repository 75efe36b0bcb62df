"""`--mode=eval`: evaluate trackers (jaxtrack checkpoints + baselines) on `config.eval.benchmark`.

    python launch.py --experiment=eval_synthetic --workdir=runs/eval_synthetic
    python launch.py --experiment=siamrpnpp_acm_synthetic --workdir=runs/acm --mode=eval   # the workdir's model too

Config section `eval` (`jaxtrack.config.experiment`):
  benchmark: a `jaxtrack.eval.datasets` name; data_root: dataset folder (not for synthetic);
  num_videos, seed, synthetic: synthetic test split size, stream, SyntheticConfig overrides;
  max_videos (0 = all): cap for folder datasets; baselines: `track.baselines` names;
  models: entries {"workdir": a training workdir, "step": -1 (latest), "track": tracker settings over the
    workdir's own, "label": table name (default the family name; the experiment name where two models share a
    family, `_2`, ... on equal ones: `model_labels`)}; checkpoints: comma-separated training workdirs, added to
    models. A training experiment run in its own workdir (checkpoints there) is evaluated first;
  vot: also run the VOT re-initialisation protocol (accuracy, robustness, EAO); attribute_plots;
  vos_results, vos_split: for `benchmark=davis2016|davis2017|youtube_vos`, the folder of results to score (empty:
    the trackers are run on every object, `jaxtrack.eval.vos_tracking`) and the split (`jaxtrack.eval.vos_benchmark`).
Writes under `<workdir>/eval/<benchmark>/`: `results/<tracker>/...` (official layouts, see `benchmark`, keyed on the
tracker's identity and resumed, see `jaxtrack.eval.results`), `summary.md` (table overall and per attribute),
`summary.json`, `<attr>_success.png` / `<attr>_precision.png`.
Resume: each sequence's result is written as it finishes; a rerun tracks only the sequences without one. The
summaries are removed when a run starts and written from the result files once every tracker's set is complete.
Multi-host (`--distributed`): every process tracks its share of the missing sequences (`sharding.process_share`);
process 0 writes its own results as they finish and the others' once they are gathered, and writes the summaries.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Callable

import cv2
import jax
import numpy as np
from absl import logging
from etils import epath
from tqdm.auto import tqdm

from jaxtrack import boxes, sharding
from jaxtrack import workdir as jt_workdir
from jaxtrack.eval import benchmark, bootstrap, datasets, results, vos_benchmark, vos_tracking, vot
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


def model_labels(models: list[tuple[str, str, str]], reserved=()) -> list[str]:
    """Table names of models given as (entry `label` or "", family, experiment name), in order: a given label as
    is; else the family name when no other model or `reserved` name has it, else the experiment name, `_2`, `_3`, ...
    on the later of equal ones. ValueError on two equal given labels, or one equal to a `reserved` name."""
    given = [label for label, _, _ in models if label]
    for label in given:
        if given.count(label) > 1 or label in reserved:
            raise ValueError(f"two evaluated trackers are both labelled {label!r}; give them distinct `label`s")
    families = [family for label, family, _ in models if not label]
    taken, out = {*given, *reserved}, []
    for label, family, experiment in models:
        if not label:
            base = family if families.count(family) == 1 and family not in taken else experiment or family
            label, k = base, 1
            while label in taken:
                k += 1
                label = f"{base}_{k}"
            taken.add(label)
        out.append(label)
    return out


def make_trackers(config, workdir: epath.Path) -> dict[str, tuple[Callable[[], object], dict]]:
    """Table name (`model_labels`) -> (factory of a fresh tracker, the tracker part of its identity
    (`results.identity`)), jaxtrack models first, then baselines. A model's family, build kwargs, input
    normalisation and tracker settings come from its workdir's config.json (`workdir.load_tracker`); the entry's
    `track` settings go on top."""
    models = []
    for entry in model_entries(config, workdir):
        train = jt_workdir.read_config(entry["workdir"])
        have, step = checkpoint.steps(entry["workdir"]), int(entry.get("step", -1))
        step = have[-1] if step < 0 and have else step
        tracker = jt_workdir.load_tracker(entry["workdir"], step=step, config=train,
                                          track=entry.get("track"))  # compiled once, re-initialised per video
        kwargs = train.model.get("kwargs") or {}
        ident = results.model_identity(tracker.name, kwargs.to_dict() if hasattr(kwargs, "to_dict") else dict(kwargs),
                                       tracker.config, step, tracker.variables)
        name = train.get("name") or epath.Path(entry["workdir"]).name
        models.append(((entry.get("label") or "", tracker.name, name), (lambda t=tracker: t, ident)))
    labels = model_labels([m for m, _ in models], reserved=tuple(config.eval.baselines))
    out = dict(zip(labels, [made for _, made in models], strict=True))
    for name in config.eval.baselines:
        out[name] = (functools.partial(baselines.make, name), {"baseline": name, "opencv": cv2.__version__})
    return out


def _summary_json(s: benchmark.Summary) -> dict:
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in dataclasses.asdict(s).items()}


def _from_process0(value):
    """Process 0's `value` on every process (a collective)."""
    return sharding.gather_objects(value if jax.process_index() == 0 else None)[0]


def _run_missing(fn, write, videos, todo: list[int], desc: str) -> None:
    """fn(videos[i]) for i in `todo`, split over the processes; process 0 calls write(video, out) on each of its own
    as it finishes, then on the others' once they are gathered."""
    if not todo:  # the same on every process
        return
    first = jax.process_index() == 0
    share = [todo[i] for i in sharding.process_share(len(todo))]
    finished = len(videos) - len(todo)
    mine = []
    for i in tqdm(share, desc=desc, unit="seq", total=finished + len(share), initial=finished, dynamic_ncols=True,
                  leave=False):
        out = fn(videos[i])
        if first:
            write(videos[i], out)
        mine.append(None if first else out)
    if jax.process_count() > 1:
        for i, out in zip(todo, sharding.gather_shares(mine, len(todo)), strict=True):
            if first and out is not None:
                write(videos[i], out)


def evaluate_tracker(label: str, factory, ident: dict, videos, dataset: datasets.Dataset, root: epath.Path,
                     with_vot: bool) -> None:
    """Completes `label`'s result set under `root` (`results.open_folder` of `ident`): tracks the sequences without
    a one-pass result (and, `with_vot`, without a VOT run), in order, each written as it finishes."""
    todo = vot_todo = None
    if jax.process_index() == 0:
        results.open_folder(root, label, ident)
        have = results.done(dataset.layout, root, label, [v.name for v in videos])
        todo = [i for i, d in enumerate(have) if not d]
        vot_todo = [i for i, v in enumerate(videos) if with_vot and not results.vot_path(root, label, v.name).exists()]
    todo, vot_todo = _from_process0((todo, vot_todo))
    _run_missing(lambda video: benchmark.run_sequence(factory(), video),
                 lambda video, r: benchmark.write_result(dataset.layout, root, label, video.name, r,
                                                         one_based=dataset.one_based), videos, todo, label)
    _run_missing(lambda video: vot.run_vot(factory(), video), lambda video, r: results.write_vot(root, label,
                                                                                                  video.name, r),
                 videos, vot_todo, f"{label} (VOT)")


def _start(out_dir: epath.Path, identities: dict[str, dict]) -> None:
    """Process 0, before any tracking: removes the summaries and submission archives (they are written again from
    a complete set; summary.json, the marker of a finished evaluation, first), sets aside the result folders of
    trackers not evaluated now and opens every tracker's folder, so that `results/` holds this run's sets only."""
    for path in [out_dir / "summary.json", out_dir / "summary.md", *out_dir.glob("*_success.png"),
                 *out_dir.glob("*_precision.png"), *(out_dir / "results").glob("*.zip")]:
        if path.exists():
            path.unlink()
    results.set_aside_others(out_dir / "results", list(identities))
    for label, ident in identities.items():
        results.open_folder(out_dir / "results", label, ident)


def submit(trackers, videos, dataset: datasets.Dataset, out_dir: epath.Path) -> dict:
    """Benchmarks without ground truth (GOT-10k test): result files and, once a tracker's set is complete, its
    submission archive (written by process 0; the others return the same report)."""
    report, root = {}, out_dir / "results"
    for label, (factory, ident) in trackers.items():
        evaluate_tracker(label, factory, ident, videos, dataset, root, False)
        if jax.process_index() == 0:
            print(f"{label}: upload {benchmark.submission_zip(root, label)}")
        report[label] = {"submission": str(benchmark.submission_path(root, label))}
    if jax.process_index() == 0:
        write_atomic(out_dir / "summary.json", json.dumps(report, indent=1).encode())
    return report


def score(label: str, videos, dataset: datasets.Dataset, root: epath.Path, with_vot: bool,
          interval) -> tuple[dict[str, benchmark.Summary], dict, np.ndarray]:
    """(per-attribute summaries, report entry, [N] success AUC per video) of `label` from its result files: the
    current videos' only."""
    runs = [benchmark.read_result(dataset.layout, root, label, v.name, one_based=dataset.one_based) for v in videos]
    scores = [benchmark.score_sequence(v, r) for v, r in zip(videos, runs, strict=True)]
    per_attr = benchmark.by_attribute(scores)
    entry = {attr: _summary_json(s) for attr, s in per_attr.items()}
    if with_vot:
        vot_runs = [results.read_vot(root, label, v.name) for v in videos]
        entry["vot"] = {**vot.accuracy_robustness(vot_runs), "eao": vot.eao(vot_runs, interval),
                        "eao_interval": list(interval)}
    return per_attr, entry, np.array([s.otb.success_auc for s in scores])


def paired_differences(aucs: dict[str, np.ndarray]) -> str:
    """summary.md's section: every pair of trackers' mean per-video success AUC difference with its 95% paired
    bootstrap interval (`eval.bootstrap.paired_interval`, 10,000 resamples of the videos, seed 0); "" for one."""
    labels = list(aucs)
    if len(labels) < 2:
        return ""
    rows = [f"| {a} - {b} | {m:+.3f} | [{lo:+.3f}, {hi:+.3f}] |\n"
            for i, a in enumerate(labels) for b in labels[i + 1:]
            for m, lo, hi in [bootstrap.paired_interval(aucs[a], aucs[b])]]
    return ("\n## Paired differences (success AUC per video, 95% paired bootstrap interval over the videos)\n\n"
            "| trackers | mean difference | interval |\n|---|---|---|\n" + "".join(rows))


def write_summaries(name: str, videos, per_attr, report, keys, dataset, out_dir: epath.Path, cfg,
                    with_vot: bool, paired: str = "") -> None:
    """Plots, summary.md (`paired`: `paired_differences`' section), then summary.json (last: its presence marks a
    finished evaluation)."""
    attrs = sorted({a for d in per_attr.values() for a in d}, key=lambda a: (a != "all", a))
    md = [f"# {name}: {len(videos)} sequences\n\nResult sets (`results/<tracker>/identity.json`): "
          + ", ".join(f"{t} `{k}`" for t, k in keys.items()) + "\n"]
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
    write_atomic(out_dir / "summary.md", ("".join(md) + paired).encode())
    write_atomic(out_dir / "summary.json", json.dumps(report, indent=1).encode())


def tracked_vos(config, workdir: epath.Path, out_dir: epath.Path) -> dict:
    """`benchmark=synthetic_vos`: every tracker of `make_trackers` on the benchmark's videos; scored as VOS
    (`vos_benchmark.evaluate_runs`, frame 0 given): a tracker's masks (SiamMask) as `<label>` and, for every tracker,
    its boxes filled as masks as `<label>_box` (the baseline a mask branch must beat). Returns {method: global row}."""
    videos = datasets.DATASETS[vos_benchmark.TRACKED[config.eval.benchmark]].load(config.eval)
    preds = {}
    for label, (factory, _) in make_trackers(config, workdir).items():
        runs = [benchmark.run_sequence(factory(), v) for v in tqdm(videos, desc=label, leave=False)]
        if runs[0].masks is not None:
            preds[label] = [r.masks for r in runs]
        preds[f"{label}_box"] = [np.stack([boxes.box_mask(b, v.masks.shape[1:]) for b in r.boxes])
                                 for v, r in zip(videos, runs, strict=True)]
    rows = vos_benchmark.evaluate_runs(videos, preds, out_dir)
    for label, row in rows.items():
        print(f"eval: {config.eval.benchmark} {label}: J&F {row['J&F-Mean']:.3f}, J {row['J-Mean']:.3f}, "
              f"F {row['F-Mean']:.3f}")
    return rows


def run(config, workdir: str) -> dict:
    """Evaluates every tracker of `config.eval` on its benchmark; returns {tracker: {attribute: summary dict}}
    (+ "vot" entries with the VOT protocol), or {tracker: {"submission": zip path}} for unscored benchmarks. Every
    process returns the report; only process 0 writes."""
    cfg, workdir = config.eval, epath.Path(workdir)
    name = cfg.benchmark
    out_dir = workdir / "eval" / name
    if name in vos_benchmark.BENCHMARKS:  # DAVIS / YouTube-VOS: a folder of results scored, or the trackers run
        if cfg.vos_results:
            return vos_benchmark.run(cfg, out_dir)
        return vos_tracking.run(cfg, make_trackers(config, workdir), out_dir)
    if name in vos_benchmark.TRACKED:  # trackers with masks on videos with masks, against their own boxes filled
        return tracked_vos(config, workdir, out_dir)
    dataset = datasets.get(name)
    root = out_dir / "results"
    print(f"eval: {name} ...", flush=True)
    videos = dataset.load(cfg)
    trackers = {label: (factory, results.identity(tracker, videos))
                for label, (factory, tracker) in make_trackers(config, workdir).items()}
    if jax.process_index() == 0:
        _start(out_dir, {label: ident for label, (_, ident) in trackers.items()})
    if not dataset.scored:
        return submit(trackers, videos, dataset, out_dir)
    with_vot = dataset.vot or cfg.vot
    for label, (factory, ident) in trackers.items():
        evaluate_tracker(label, factory, ident, videos, dataset, root, with_vot)
    report = None
    if jax.process_index() == 0:
        interval = (dataset.eao_interval or vot.eao_interval([len(v) for v in videos])) if with_vot else None
        per_attr, report, aucs = {}, {}, {}
        for label in trackers:
            per_attr[label], report[label], aucs[label] = score(label, videos, dataset, root, with_vot, interval)
            logging.info("%s on %s: AUC %.3f, precision@20 %.3f", label, name, per_attr[label]["all"].auc,
                         per_attr[label]["all"].precision_20)
        write_summaries(name, videos, per_attr, report, {t: i["key"] for t, (_, i) in trackers.items()}, dataset,
                        out_dir, cfg, with_vot, paired_differences(aucs))
        print(benchmark.markdown_table({t: d["all"] for t, d in per_attr.items()}), end="")
        print(f"eval: wrote {out_dir / 'summary.md'}")
    return _from_process0(report)
