"""Tracking benchmark toolkit: run trackers over videos, write official result files, score, tabulate, plot.

Trackers have `init(frame, box)` / `track(frame) -> (box [4] xywh, score)` (jaxtrack.track.siamese.Tracker,
jaxtrack.track.baselines). One-pass evaluation (OTB / LaSOT / UAV123 / GOT-10k / synthetic) uses
`jaxtrack.eval.metrics`. VOT short-term (supervised) protocol: `run_vot` re-initialises 5 frames after a
failure (IoU 0); `accuracy_robustness` (burn-in 10 frames after every initialisation) and `eao` (expected average
overlap over the sequence-length interval, votchallenge/toolkit `compute_eao_curve`).

Result files (got-10k/toolkit layouts, values `%.4f` comma-separated):
  "otb":   `<dir>/<tracker>/<seq>.txt` boxes, `<dir>/<tracker>/times/<seq>_time.txt` seconds per frame; boxes
           1-based for OTB / LaSOT / UAV123 (the datasets' own convention), 0-based for the synthetic split.
  "got10k": `<dir>/<tracker>/<seq>/<seq>_001.txt` 0-based boxes, `<dir>/<tracker>/<seq>/<seq>_time.txt`.
Every file is written atomically (`files.write_atomic`).
"""

from __future__ import annotations

import dataclasses
import io
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from etils import epath

from jaxtrack import boxes
from jaxtrack.data.readers.images import read_image
from jaxtrack.data.video import Video
from jaxtrack.eval import metrics
from jaxtrack.files import write_atomic


def frames(video: Video) -> Iterator[np.ndarray]:
    """[H, W, 3] uint8 RGB frames of `video`, in memory or decoded lazily from `frame_paths`."""
    if video.frames is not None:
        yield from video.frames
    elif video.frame_paths is not None:
        for path in video.frame_paths:
            yield read_image(path)
    else:
        raise ValueError(f"video {video.name!r} has neither frames nor frame_paths")


@dataclasses.dataclass(frozen=True)
class Run:
    """One tracker on one sequence: boxes [T, 4] xywh 0-based (frame 0: the init box), scores [T], seconds [T]."""

    boxes: np.ndarray
    scores: np.ndarray
    seconds: np.ndarray


def init_box(video: Video) -> np.ndarray:
    if video.boxes is None or not np.isfinite(video.boxes[0]).all() or (video.boxes[0, 2:] <= 0).any():
        raise ValueError(f"video {video.name!r}: frame 0 has no valid ground-truth box to initialise on")
    return video.boxes[0].astype(np.float32)


def run_sequence(tracker, video: Video) -> Run:
    """One-pass evaluation: init on frame 0's ground truth, track the rest."""
    n = len(video)
    out, scores, seconds = np.zeros((n, 4), np.float32), np.ones(n, np.float32), np.zeros(n)
    for t, frame in enumerate(frames(video)):
        start = time.perf_counter()
        if t == 0:
            out[0] = init_box(video)
            tracker.init(frame, out[0])
        else:
            out[t], scores[t] = tracker.track(frame)
        seconds[t] = time.perf_counter() - start
    return Run(out, scores, seconds)


# ------------------------------------------------------------------------------------------------- result files
def _txt(a: np.ndarray, fmt: str) -> bytes:
    buf = io.StringIO()
    np.savetxt(buf, a, fmt=fmt, delimiter=",")
    return buf.getvalue().encode()


def result_paths(layout: str, root: epath.PathLike, tracker: str, seq: str) -> tuple[epath.Path, epath.Path]:
    """(boxes file, times file) of `seq` in `layout` ("otb" or "got10k")."""
    if layout not in LAYOUTS:
        raise KeyError(f"result layout {layout!r} is not registered; expected one of {sorted(LAYOUTS)}")
    return LAYOUTS[layout](epath.Path(root) / tracker, seq)


LAYOUTS: dict[str, Callable[[epath.Path, str], tuple[epath.Path, epath.Path]]] = {
    "otb": lambda d, s: (d / f"{s}.txt", d / "times" / f"{s}_time.txt"),
    "got10k": lambda d, s: (d / s / f"{s}_001.txt", d / s / f"{s}_time.txt"),
}


def write_result(layout: str, root, tracker: str, seq: str, run: Run, *, one_based: bool = False) -> None:
    """Writes `run`'s boxes (`one_based`: +1 on x, y) and per-frame seconds in the official layout."""
    box_path, time_path = result_paths(layout, root, tracker, seq)
    b = run.boxes.astype(np.float64).copy()
    b[:, :2] += float(one_based)
    write_atomic(box_path, _txt(b, "%.4f"))  # >= 4 decimals, as pysot writes its results
    write_atomic(time_path, _txt(run.seconds[:, None], "%.8f"))


def read_result(layout: str, root, tracker: str, seq: str, *, one_based: bool = False) -> Run:
    """The files `write_result` wrote -> Run (0-based boxes; scores are not stored: NaN)."""
    box_path, time_path = result_paths(layout, root, tracker, seq)
    for path in (box_path, time_path):
        if not path.exists():
            raise FileNotFoundError(f"{path}: result file of tracker {tracker!r}, sequence {seq!r} not found")
    b = np.loadtxt(box_path, delimiter=",", ndmin=2).astype(np.float32)
    b[:, :2] -= float(one_based)
    return Run(b, np.full(len(b), np.nan, np.float32), np.loadtxt(time_path, delimiter=",", ndmin=1))


def submission_path(root: epath.PathLike, tracker: str) -> epath.Path:
    """`<root>/<tracker>.zip`: where `submission_zip` writes `tracker`'s archive."""
    return epath.Path(root) / f"{tracker}.zip"


def submission_zip(root: epath.PathLike, tracker: str) -> epath.Path:
    """Zips `<root>/<tracker>/` (a "got10k" layout) into `<root>/<tracker>.zip` with the sequence folders at the
    archive's top level, as got10k-toolkit's `ExperimentGOT10k.report` does for the test-server submission."""
    src = epath.Path(root) / tracker
    files = sorted(p for p in src.glob("*/*") if p.is_file())
    if not files:
        raise FileNotFoundError(f"{src}: no result files to zip")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for path in files:
            z.writestr(f"{path.parent.name}/{path.name}", path.read_bytes())
    out = submission_path(root, tracker)
    write_atomic(out, buf.getvalue())
    return out


# ------------------------------------------------------------------------------------------------------ scoring
@dataclasses.dataclass(frozen=True)
class SequenceScore:
    name: str
    otb: metrics.OTBResult
    got_ious: np.ndarray  # GOT-10k evaluated frames' IoU (frame 0 and cover == 0 excluded)
    cle: float  # mean centre location error (px) over frames with ground truth
    fps: float  # tracking frames (after init) per second
    attributes: Mapping[str, bool]


def score_sequence(video: Video, run: Run) -> SequenceScore:
    res = metrics.otb(run.boxes, video.boxes)
    cover = video.cover if video.cover is not None else (None if video.visible is None else video.visible.astype(int))
    got = metrics.got10k(run.boxes, video.boxes, cover)
    fps = (len(run.seconds) - 1) / max(float(run.seconds[1:].sum()), 1e-9)
    return SequenceScore(video.name, res, got.ious, float(np.mean(res.center_errors)), fps, dict(video.attributes))


@dataclasses.dataclass(frozen=True)
class Summary:
    """Sequence-averaged OTB metrics (the toolkit's per-sequence mean), GOT-10k AO/SR over frames, CLE, FPS."""

    n: int
    success_curve: np.ndarray  # [21]
    precision_curve: np.ndarray  # [51]
    auc: float
    precision_20: float
    norm_precision: float
    ao: float
    sr50: float
    cle: float
    fps: float


def summarize(scores: Sequence[SequenceScore]) -> Summary:
    if not scores:
        raise ValueError("summarize: no sequence scores")
    succ = np.mean([s.otb.success_curve for s in scores], 0)
    prec = np.mean([s.otb.precision_curve for s in scores], 0)
    ious = [s.got_ious for s in scores]
    got = metrics.aggregate_got10k(ious) if sum(len(i) for i in ious) else None
    return Summary(len(scores), succ, prec, float(succ.mean()), float(prec[20]),
                   float(np.mean([s.otb.norm_precision for s in scores])),
                   got.ao if got else float("nan"), got.sr50 if got else float("nan"),
                   float(np.mean([s.cle for s in scores])), float(np.mean([s.fps for s in scores])))


def by_attribute(scores: Sequence[SequenceScore]) -> dict[str, Summary]:
    """"all" plus one Summary per attribute over the sequences flagged with it (attributes never set are left out)."""
    out = {"all": summarize(scores)}
    for name in sorted({a for s in scores for a in s.attributes}):
        subset = [s for s in scores if s.attributes.get(name)]
        if subset:
            out[name] = summarize(subset)
    return out


def markdown_table(summaries: Mapping[str, Summary]) -> str:
    """Tracker name -> Summary as a markdown table."""
    head = "| tracker | seqs | success AUC | precision@20 | norm. prec. | AO | SR50 | CLE (px) | FPS |"
    rows = [head, "|" + "---|" * 9]
    for name, s in summaries.items():
        rows.append(f"| {name} | {s.n} | {s.auc:.3f} | {s.precision_20:.3f} | {s.norm_precision:.3f} | {s.ao:.3f} | "
                    f"{s.sr50:.3f} | {s.cle:.1f} | {s.fps:.1f} |")
    return "\n".join(rows) + "\n"


# -------------------------------------------------------------------------------------------------------- plots
def plot_curves(summaries: Mapping[str, Summary], path_prefix: epath.PathLike, title: str) -> list[epath.Path]:
    """Success and precision plots (OTB style, legend sorted by AUC / precision@20) -> `<prefix>_success.png`,
    `<prefix>_precision.png` (atomic writes). Returns the two paths."""
    prefix = epath.Path(path_prefix)
    specs = (("success", metrics.OTB_IOU_THRESHOLDS, "success_curve", "auc", "Overlap threshold", "Success rate"),
             ("precision", metrics.OTB_CE_THRESHOLDS, "precision_curve", "precision_20",
              "Location error threshold (px)", "Precision"))
    paths = []
    for kind, x, curve, key, xlabel, ylabel in specs:
        fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
        for name, s in sorted(summaries.items(), key=lambda kv: -getattr(kv[1], key)):
            ax.plot(x, getattr(s, curve), label=f"{name} [{getattr(s, key):.3f}]")
        ax.set(xlabel=xlabel, ylabel=ylabel, title=f"{kind.capitalize()} plots of OPE - {title}", ylim=(0, 1.02),
               xlim=(x[0], x[-1]))
        ax.grid(alpha=0.3)
        ax.legend(loc="lower left" if kind == "success" else "lower right", fontsize=7)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        plt.close(fig)
        path = prefix.parent / f"{prefix.name}_{kind}.png"
        write_atomic(path, buf.getvalue())
        paths.append(path)
    return paths


# ---------------------------------------------------------------------------------------------------------- VOT
@dataclasses.dataclass(frozen=True)
class VOTRun:
    """One sequence under the re-initialisation protocol: overlaps [T] (NaN on initialisation frames, skipped
    frames and frames without ground truth), inits / failures: frame indices."""

    overlaps: np.ndarray
    inits: tuple[int, ...]
    failures: tuple[int, ...]


def run_vot(tracker, video: Video, *, skip: int = 5) -> VOTRun:
    """Tracks `video`, re-initialising on the ground truth `skip` frames after each failure (IoU == 0 with a
    valid ground-truth box); frames without a valid ground truth are never an (re)initialisation or a failure."""
    gt = video.boxes
    overlaps = np.full(len(video), np.nan)
    inits, failures, next_init = [], [], 0
    for t, frame in enumerate(frames(video)):
        valid = np.isfinite(gt[t]).all() and (gt[t, 2:] > 0).all()
        if t < next_init or (t == next_init and not valid):
            next_init += t == next_init
            continue
        if t == next_init:
            tracker.init(frame, gt[t])
            inits.append(t)
            continue
        box, _ = tracker.track(frame)
        if valid:
            overlaps[t] = float(boxes.iou(np.asarray(box, np.float64), gt[t].astype(np.float64))) \
                if np.isfinite(box).all() else 0.0
            if overlaps[t] <= 0:
                failures.append(t)
                next_init = t + skip
    return VOTRun(overlaps, tuple(inits), tuple(failures))


def accuracy_robustness(runs: Sequence[VOTRun], *, burnin: int = 10) -> dict[str, float]:
    """accuracy: mean over sequences of the mean overlap on tracked frames outside the `burnin` frames that start
    at every (re)initialisation; failures: total count; robustness: failures per 100 frames (pysot's display)."""
    accs, n_frames = [], 0
    for run in runs:
        keep = np.isfinite(run.overlaps)
        for i in run.inits:
            keep[i:i + burnin] = False
        if keep.any():
            accs.append(float(run.overlaps[keep].mean()))
        n_frames += len(run.overlaps)
    failures = sum(len(r.failures) for r in runs)
    return {"accuracy": float(np.mean(accs)) if accs else float("nan"), "failures": float(failures),
            "robustness": 100.0 * failures / max(n_frames, 1)}


def segments(run: VOTRun) -> list[tuple[np.ndarray, bool]]:
    """(overlaps from a (re)initialisation to the failure inclusive or to the end, failed) per initialisation;
    NaN inside a segment (no ground truth) counts as 0, as the toolkit does."""
    out = []
    for start in run.inits:
        fail = next((f for f in run.failures if f > start), None)
        end = len(run.overlaps) if fail is None else fail + 1
        seg = np.nan_to_num(run.overlaps[start:end], nan=0.0)
        out.append((seg, fail is not None))
    return out


def eao_curve(segs: Sequence[tuple[np.ndarray, bool]], weights=None) -> np.ndarray:
    """Expected-overlap curve Phi[Ns], Ns = 0..max_len-1: per segment the mean overlap of frames 1..Ns (frame 0 is
    the initialisation), a failed segment padded with zeros to every length, a completed one only counted up to
    its own length; weighted mean over segments (`weights` default 1)."""
    max_len = max(len(s) for s, _ in segs)
    over = np.zeros((len(segs), max_len))
    mask = np.ones((len(segs), max_len))
    for i, (s, failed) in enumerate(segs):
        over[i, :len(s)] = s
        if not failed:
            mask[i, len(s):] = 0
    w = np.ones(len(segs)) if weights is None else np.asarray(weights, np.float64)
    csum = np.cumsum(over[:, 1:], 1)
    means = np.concatenate([over[:, :1], csum / np.arange(1, max_len)], 1)
    denom = (mask * w[:, None]).sum(0)
    return np.where(denom > 0, (w[:, None] * means * mask).sum(0) / np.where(denom > 0, denom, 1), np.nan)


def eao_interval(lengths: Sequence[int]) -> tuple[int, int]:
    """VOT's sequence-length interval [N_lo, N_hi]: the highest-density region holding half the mass of a
    Gaussian KDE of the sequence lengths (Silverman bandwidth)."""
    x = np.asarray(lengths, np.float64)
    bw = max(1.06 * x.std() * len(x) ** -0.2, 1.0)
    grid = np.arange(max(1, int(x.min() - 3 * bw)), int(x.max() + 3 * bw) + 1)
    pdf = np.exp(-0.5 * ((grid[:, None] - x[None]) / bw) ** 2).sum(1)
    pdf /= pdf.sum()
    order = np.argsort(-pdf, kind="stable")
    region = grid[order[:np.searchsorted(np.cumsum(pdf[order]), 0.5) + 1]]
    return int(region.min()), int(region.max())


def eao(runs: Sequence[VOTRun], interval: tuple[int, int] | None = None) -> float:
    """Expected average overlap: the mean of `eao_curve` over Ns in `interval` (inclusive; default
    `eao_interval` of the sequence lengths; VOT2018 used (100, 356)); NaN when no segment reaches the interval."""
    lo, hi = eao_interval([len(r.overlaps) for r in runs]) if interval is None else interval
    curve = eao_curve([s for r in runs for s in segments(r)])[lo:hi + 1]
    curve = curve[~np.isnan(curve)]
    return float(curve.mean()) if curve.size else float("nan")
