"""Tracking benchmark toolkit: run trackers over videos, write official result files, score, tabulate, plot.

Trackers have `init(frame, box)` / `track(frame) -> (box [4] xywh, score)` (jaxtrack.track.siamese.Tracker,
jaxtrack.track.baselines). One-pass evaluation (OTB / LaSOT / UAV123 / GOT-10k / synthetic) uses
`jaxtrack.eval.metrics`; the VOT re-initialisation protocol and its measures are in `jaxtrack.eval.vot`.

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
    """One tracker on one sequence: boxes [T, 4] xywh 0-based (frame 0: the init box), scores [T], seconds [T];
    from a tracker with masks (`last_mask` / `last_polygon`, `track.siammask.MaskTracker`): masks [T, H, W] uint8
    (1 = target) and polygons [T, 4, 2] (x, y) rotated boxes, frame 0 the init box filled / its corners; else None."""

    boxes: np.ndarray
    scores: np.ndarray
    seconds: np.ndarray
    masks: np.ndarray | None = None
    polygons: np.ndarray | None = None


def init_box(video: Video, image_hw) -> np.ndarray:
    """Frame 0's ground-truth box, checked against the frame's (H, W) (`boxes.check_init_box`)."""
    if video.boxes is None:
        raise ValueError(f"video {video.name!r}: no ground-truth boxes, nothing to initialise on")
    return boxes.check_init_box(video.boxes[0], f"video {video.name!r} frame 0", image_hw)


def run_sequence(tracker, video: Video) -> Run:
    """One-pass evaluation: init on frame 0's ground truth (`init_box`), track the rest (each of frame 0's size:
    the tracker's state holds it; ValueError naming the first other one)."""
    n = len(video)
    out, scores, seconds = np.zeros((n, 4), np.float32), np.ones(n, np.float32), np.zeros(n)
    first, masks, polygons = None, [], []
    with_masks = hasattr(tracker, "last_mask")
    for t, frame in enumerate(frames(video)):
        shape = np.shape(frame)
        first = first or shape
        if shape != first:
            where = video.frame_paths[t] if video.frame_paths is not None else f"video {video.name!r} frame {t}"
            raise ValueError(f"{where}: frame {t} is {shape[1]}x{shape[0]} (WxH) but frame 0 is {first[1]}x"
                             f"{first[0]}: the frames of one video must share one size")
        start = time.perf_counter()
        if t == 0:
            out[0] = init_box(video, np.shape(frame)[:2])
            tracker.init(frame, out[0])
        else:
            out[t], scores[t] = tracker.track(frame)
        seconds[t] = time.perf_counter() - start
        if with_masks:
            masks.append(tracker.last_mask if t else boxes.box_mask(out[0], shape[:2]))
            polygons.append(tracker.last_polygon if t else boxes.xywh_to_corners(out[0]))
    if not with_masks:
        return Run(out, scores, seconds)
    return Run(out, scores, seconds, np.stack(masks), np.stack(polygons).astype(np.float32))


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
