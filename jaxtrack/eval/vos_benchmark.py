"""Semi-supervised VOS evaluation of a results folder on DAVIS or YouTube-VOS, as the DAVIS evaluation script does it.

Results: `<results>/<seq>/<frame>.png`, palette PNGs (index = object id, as the annotations), one per frame of
each sequence. Scored frames (`scored_frames`): DAVIS, frames 1..T-2 (`jaxtrack.eval.vos`); YouTube-VOS, whose
ground truth is sparse, each object's annotated frames after its first (given) frame. A result without an object
counts it as an empty mask. An object id the annotation does not have, a missing file or a size mismatch is an
error that names the file.
Outputs in `out_dir`, written atomically:
- `global_results-<split>.csv` and `per-sequence_results-<split>.csv`, the DAVIS layouts;
- `summary.md`: what was scored, the global row and a per-object table;
- `per_object_jf.png`: J and F per object;
- `overlays/<seq>_<frame>.jpg`: result (red) and ground-truth (green) contours on the first, middle and last
  scored frames.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Callable, Mapping, Sequence

import cv2
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from etils import epath
from tqdm.auto import tqdm

from jaxtrack.data.readers import davis, youtube_vos
from jaxtrack.data.readers.images import read_image
from jaxtrack.data.readers.youtube_vos import VOSSequence
from jaxtrack.data.video import Video
from jaxtrack.eval import vos
from jaxtrack.files import write_atomic


@dataclasses.dataclass(frozen=True)
class Benchmark:
    """A VOS dataset by name (`config.eval.benchmark`): `names(root, split)` its sequence names in order,
    `load(root, split, name)` one `VOSSequence`, `last_frame_scored` (False: DAVIS leaves each sequence's last frame
    out) and `scored` (what the summary says is scored)."""

    names: Callable[[str, str], list[str]]
    load: Callable[[str, str, str], VOSSequence]
    last_frame_scored: bool
    scored: str


def _davis(year: int) -> Benchmark:
    return Benchmark(lambda root, split: davis.sequence_names(root, year=year, split=split),
                     lambda root, split, name: VOSSequence.dense(davis.read_davis_sequence(root, name, year=year)),
                     False, f"DAVIS {year}: frames 1..T-2 of every sequence, every object (the DAVIS evaluation code)")


_youtube_meta = functools.lru_cache(maxsize=2)(youtube_vos.read_meta)

BENCHMARKS = {  # config.eval.benchmark -> Benchmark; config.eval.vos_split names the split
    "davis2016": _davis(2016),
    "davis2017": _davis(2017),
    "youtube_vos": Benchmark(
        lambda root, split: list(_youtube_meta(str(root), split)),
        lambda root, split, name: youtube_vos.read_youtube_vos_sequence(root, split, name,
                                                                        _youtube_meta(str(root), split)[name]),
        True, "YouTube-VOS: ground truth on sparse frames only (every 5th frame in train, each object's first frame "
              "elsewhere); J and F of each object over the annotated frames after its first (given) frame, the last "
              "frame included; objects without such frames are not scored"),
}
# benchmarks whose trackers `--mode=eval` runs itself: name -> the `jaxtrack.eval.datasets` videos (with masks)
TRACKED = {"synthetic_vos": "synthetic"}


def read_labels(results_dir: epath.PathLike, video: Video, ids: Sequence[int]) -> np.ndarray:
    """[T, H, W] uint8 result label maps of `video` (void read as background), every id in `ids` or 0."""
    seq_dir = epath.Path(results_dir) / video.name
    labels = []
    for frame in video.frame_paths:
        path = seq_dir / f"{epath.Path(frame).stem}.png"
        label = davis.read_label_png(path)
        if label.shape != video.masks.shape[1:]:
            raise ValueError(f"{path}: result is {label.shape[1]}x{label.shape[0]}, the annotation "
                             f"{video.masks.shape[2]}x{video.masks.shape[1]} (WxH)")
        labels.append(np.where(label == davis.VOID, 0, label))
    labels = np.stack(labels)
    extra = sorted(set(np.unique(labels).tolist()) - set(ids) - {0})
    if extra:
        known = f"1..{max(ids)}" if list(ids) == list(range(1, len(ids) + 1)) else ", ".join(map(str, ids))
        raise ValueError(f"{seq_dir}: result object id {extra[-1]} but the annotation has objects {known}")
    return labels


def read_results(results_dir: epath.PathLike, video: Video) -> np.ndarray:
    """[O, T, H, W] bool result masks of `video`'s O annotated objects (ids 1..O of its first frame)."""
    n_objects = int(video.masks[0].max())
    labels = read_labels(results_dir, video, range(1, n_objects + 1))
    return labels[None] == np.arange(1, n_objects + 1)[:, None, None, None]


def scored_frames(seq: VOSSequence, obj: youtube_vos.VOSObject, last_frame_scored: bool) -> np.ndarray:
    """Indices of the frames scored for `obj`: annotated, after its first frame (and before the last frame of the
    sequence unless `last_frame_scored`)."""
    t = np.arange(len(seq.video))
    keep = seq.annotated & (t > obj.first)
    return np.flatnonzero(keep if last_frame_scored else keep & (t < len(t) - 1))


def overlay(frame: np.ndarray, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 RGB frame with the contours of pred (red) and gt (green) masks [O, H, W]."""
    out = np.ascontiguousarray(frame)
    for masks, colour in ((gt, (0, 255, 0)), (pred, (255, 0, 0))):
        for m in masks:
            contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(out, contours, -1, colour, 2)
    return out


def _write_overlays(out_dir: epath.Path, video: Video, frames: Sequence[int], pred: np.ndarray,
                    gt: np.ndarray) -> None:
    """Overlays of frames `frames` (pred, gt [O, T, H, W] masks)."""
    for t in frames:
        image = overlay(read_image(video.frame_paths[t]), pred[:, t], gt[:, t])
        _, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        write_atomic(out_dir / "overlays" / f"{video.name}_{epath.Path(video.frame_paths[t]).stem}.jpg", buf.tobytes())


def _plot(results: dict[str, tuple[list, list]], ids: dict[str, list[int]], path: epath.Path) -> None:
    names = [f"{s}_{k}" for s in results for k in ids[s]]
    jm = [vos.statistics(r)[0] for j, _ in results.values() for r in j]
    fm = [vos.statistics(r)[0] for _, f in results.values() for r in f]
    fig, ax = plt.subplots(figsize=(max(4.0, 0.35 * len(names)), 3))
    x = np.arange(len(names))
    ax.bar(x - 0.2, jm, 0.4, label="J (region)")
    ax.bar(x + 0.2, fm, 0.4, label="F (contour)")
    ax.set_xticks(x, names, rotation=90, fontsize=7)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    write_atomic(path, buf.getvalue())


def evaluate_sequences(sequences: Sequence[Callable[[], VOSSequence]], results_dir: epath.PathLike,
                       out_dir: epath.PathLike, split: str, *, scored: str, last_frame_scored: bool = False,
                       overlays: bool = True) -> dict[str, float] | None:
    """Scores the results of every sequence (loaded one at a time from its loader) on its `scored_frames` and
    writes the outputs (`scored`: the summary's line on what is scored); returns the global row {column: value},
    or None when no object has a scored frame (only summary.md is written then)."""
    out_dir = epath.Path(out_dir)
    results, ids, unscored = {}, {}, 0
    for load in tqdm(sequences, desc="vos", leave=False):
        seq = load()
        labels = read_labels(results_dir, seq.video, [o.id for o in seq.objects])
        js, fs, done, shown = [], [], [], set()
        for obj in seq.objects:
            frames = scored_frames(seq, obj, last_frame_scored)
            if not len(frames):
                unscored += 1
                continue
            pred, gt = labels[frames] == obj.id, seq.video.masks[frames] == obj.id
            js.append(vos.j_measure(pred, gt))
            fs.append(vos.f_measure(pred, gt))
            done.append(obj.id)
            shown |= {int(frames[0]), int(frames[len(frames) // 2]), int(frames[-1])}
        if done:
            results[seq.name], ids[seq.name] = (js, fs), done
        if overlays and done:
            objects = np.asarray(done)[:, None, None, None]
            _write_overlays(out_dir, seq.video, sorted(shown), labels[None] == objects,
                            seq.video.masks[None] == objects)
    md = [f"# VOS: {len(sequences)} sequences, {sum(map(len, ids.values()))} objects scored\n\n",
          f"Scored: {scored}"
          f"{f'; {unscored} objects without a scored frame' if unscored else ''}.\n\n"]
    if not results:
        write_atomic(out_dir / "summary.md", "".join([*md, "No object has ground truth on a scored frame.\n"]).encode())
        return None
    write_atomic(out_dir / f"global_results-{split}.csv", vos.global_csv(results).encode())
    per_object = vos.sequence_csv(results, ids)
    write_atomic(out_dir / f"per-sequence_results-{split}.csv", per_object.encode())
    row = vos.global_table(results)
    md += ["| " + " | ".join(vos.GLOBAL_COLUMNS) + " |\n", "|---" * len(vos.GLOBAL_COLUMNS) + "|\n",
           "| " + " | ".join(f"{row[c]:.3f}" for c in vos.GLOBAL_COLUMNS) + " |\n\n",
           "| object | J-Mean | F-Mean |\n|---|---|---|\n"]
    md += [line.replace(",", " | ").join(["| ", " |\n"]) for line in per_object.splitlines()[1:]]
    write_atomic(out_dir / "summary.md", "".join(md).encode())
    _plot(results, ids, out_dir / "per_object_jf.png")
    return row


def evaluate(videos: list[Callable[[], Video]], results_dir: epath.PathLike, out_dir: epath.PathLike,
             split: str, *, overlays: bool = True) -> dict[str, float]:
    """`evaluate_sequences` of fully annotated videos (DAVIS: objects 1..K of frame 0, frames 1..T-2)."""
    return evaluate_sequences([lambda load=load: VOSSequence.dense(load()) for load in videos], results_dir, out_dir,
                              split, scored=BENCHMARKS["davis2017"].scored, overlays=overlays)


def sequences(cfg) -> tuple[list[str], list[Callable[[], VOSSequence]]]:
    """(names, loaders) of the sequences of `cfg.data_root`'s split `cfg.vos_split` (the first `cfg.max_videos` when
    > 0)."""
    bench = BENCHMARKS[cfg.benchmark]
    names = bench.names(cfg.data_root, cfg.vos_split)
    names = names[:cfg.max_videos] if cfg.max_videos else names
    return names, [functools.partial(bench.load, cfg.data_root, cfg.vos_split, n) for n in names]


def report(cfg, row: dict[str, float] | None, label: str, n: int, summary: epath.Path) -> None:
    """The terminal line of one scored result set."""
    scores = (f"J&F {row['J&F-Mean']:.3f}, J {row['J-Mean']:.3f}, F {row['F-Mean']:.3f}" if row else
              "no ground truth past each object's first frame (results only)")
    print(f"eval: {cfg.benchmark} {cfg.vos_split}, {n} sequences{label}: {scores}; wrote {summary}")


def run(cfg, out_dir: epath.PathLike) -> dict[str, float] | None:
    """`--mode=eval` on a VOS benchmark with `cfg.vos_results`: scores that folder against `cfg.data_root`'s
    `cfg.vos_split` (see `sequences`)."""
    if not cfg.data_root or not cfg.vos_results:
        raise ValueError(f"benchmark {cfg.benchmark!r} scores a folder of results: set config.eval.data_root (the "
                         f"dataset folder) and config.eval.vos_results (<folder>/<seq>/<frame>.png palette PNGs); got "
                         f"data_root={cfg.data_root!r}, vos_results={cfg.vos_results!r}")
    bench, (_, loaders) = BENCHMARKS[cfg.benchmark], sequences(cfg)
    row = evaluate_sequences(loaders, cfg.vos_results, out_dir, cfg.vos_split,
                             last_frame_scored=bench.last_frame_scored, scored=bench.scored)
    report(cfg, row, "", len(loaders), epath.Path(out_dir) / "summary.md")
    return row


def evaluate_runs(videos: Sequence[Video], preds: Mapping[str, Sequence[np.ndarray]], out_dir: epath.PathLike,
                  split: str = "test") -> dict[str, dict[str, float]]:
    """Scores in-memory results of single-object videos: `preds[label][i]` [T, H, W] masks (> 0 = target) of
    `videos[i]` (ground truth `videos[i].masks > 0`, frames in memory). Writes per label
    `<label>/global_results-<split>.csv` and `<label>/per-sequence_results-<split>.csv`, overlays of the first video
    (`overlays/<label>_<t>.jpg`) and `summary.md` (one global row per label); returns {label: global row}."""
    out_dir, rows = epath.Path(out_dir), {}
    for label, masks in preds.items():
        results = {}
        for i, (video, pred) in enumerate(zip(videos, masks, strict=True)):
            gt = np.asarray(video.masks)[None] > 0
            results[video.name] = vos.evaluate_sequence(np.asarray(pred)[None] > 0, gt)
            if i == 0:
                for t in sorted({1, len(video) // 2, len(video) - 2}):
                    image = overlay(video.frames[t], np.asarray(pred)[None, t] > 0, gt[:, t])
                    _, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
                    write_atomic(out_dir / "overlays" / f"{label}_{t:05d}.jpg", buf.tobytes())
        write_atomic(out_dir / label / f"global_results-{split}.csv", vos.global_csv(results).encode())
        write_atomic(out_dir / label / f"per-sequence_results-{split}.csv", vos.sequence_csv(results).encode())
        rows[label] = vos.global_table(results)
    md = [f"# VOS: {len(videos)} sequences\n\n", "| method | " + " | ".join(vos.GLOBAL_COLUMNS) + " |\n",
          "|---" * (len(vos.GLOBAL_COLUMNS) + 1) + "|\n"]
    md += [f"| {label} | " + " | ".join(f"{row[c]:.3f}" for c in vos.GLOBAL_COLUMNS) + " |\n"
           for label, row in rows.items()]
    write_atomic(out_dir / "summary.md", "".join(md).encode())
    return rows
