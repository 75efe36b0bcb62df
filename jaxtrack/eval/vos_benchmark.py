"""Semi-supervised VOS evaluation of a results folder on DAVIS, as the DAVIS evaluation script does it.

Results: `<results>/<seq>/<frame>.png`, palette PNGs (index = object id, as the annotations), one per frame of
each sequence; frames 1..T-2 are scored (`jaxtrack.eval.vos.evaluate_sequence`). A result with fewer objects than
the annotation counts the missing objects as empty masks. More objects than annotated, a missing file or a size
mismatch is an error that names the file.
Outputs in `out_dir`, written atomically:
- `global_results-<split>.csv` and `per-sequence_results-<split>.csv`, the DAVIS layouts;
- `summary.md`: the global row and a per-object table;
- `per_object_jf.png`: J and F per object;
- `overlays/<seq>_<frame>.jpg`: result (red) and ground-truth (green) contours on the first, middle and last
  scored frames.
"""

from __future__ import annotations

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

from jaxtrack.data.readers import davis
from jaxtrack.data.readers.images import read_image
from jaxtrack.data.video import Video
from jaxtrack.eval import vos
from jaxtrack.files import write_atomic

BENCHMARKS = {"davis2016": 2016, "davis2017": 2017}  # config.eval.benchmark -> DAVIS year
# benchmarks whose trackers `--mode=eval` runs itself: name -> the `jaxtrack.eval.datasets` videos (with masks)
TRACKED = {"synthetic_vos": "synthetic"}


def read_results(results_dir: epath.PathLike, video: Video) -> np.ndarray:
    """[O, T, H, W] bool result masks of `video`'s O annotated objects."""
    seq_dir = epath.Path(results_dir) / video.name
    n_objects = int(video.masks[0].max())
    labels = []
    for frame in video.frame_paths:
        path = seq_dir / f"{epath.Path(frame).stem}.png"
        label = davis.read_label_png(path)
        if label.shape != video.masks.shape[1:]:
            raise ValueError(f"{path}: result is {label.shape[1]}x{label.shape[0]}, the annotation "
                             f"{video.masks.shape[2]}x{video.masks.shape[1]} (WxH)")
        labels.append(np.where(label == davis.VOID, 0, label))
    labels = np.stack(labels)
    if labels.max() > n_objects:
        raise ValueError(f"{seq_dir}: result object id {int(labels.max())} but the annotation has objects "
                         f"1..{n_objects}")
    return labels[None] == np.arange(1, n_objects + 1)[:, None, None, None]


def overlay(frame: np.ndarray, pred: np.ndarray, gt: np.ndarray) -> np.ndarray:
    """[H, W, 3] uint8 RGB frame with the contours of pred (red) and gt (green) masks [O, H, W]."""
    out = np.ascontiguousarray(frame)
    for masks, colour in ((gt, (0, 255, 0)), (pred, (255, 0, 0))):
        for m in masks:
            contours, _ = cv2.findContours(m.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
            cv2.drawContours(out, contours, -1, colour, 2)
    return out


def _write_overlays(out_dir: epath.Path, video: Video, pred: np.ndarray, gt: np.ndarray) -> None:
    for t in sorted({1, len(video) // 2, len(video) - 2}):
        image = overlay(read_image(video.frame_paths[t]), pred[:, t], gt[:, t])
        _, buf = cv2.imencode(".jpg", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        write_atomic(out_dir / "overlays" / f"{video.name}_{epath.Path(video.frame_paths[t]).stem}.jpg", buf.tobytes())


def _plot(results: dict[str, tuple[np.ndarray, np.ndarray]], path: epath.Path) -> None:
    names = [f"{s}_{i + 1}" for s, (j, _) in results.items() for i in range(len(j))]
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


def evaluate(videos: list[Callable[[], Video]], results_dir: epath.PathLike, out_dir: epath.PathLike,
             split: str, *, overlays: bool = True) -> dict[str, float]:
    """Scores the results of every video (loaded one at a time from its loader) and writes the outputs; returns
    the global row {column: value}."""
    out_dir = epath.Path(out_dir)
    results = {}
    for load in tqdm(videos, desc="vos", leave=False):
        video = load()
        gt = video.masks[None] == np.arange(1, int(video.masks[0].max()) + 1)[:, None, None, None]
        pred = read_results(results_dir, video)
        results[video.name] = vos.evaluate_sequence(pred, gt)
        if overlays:
            _write_overlays(out_dir, video, pred, gt)
    write_atomic(out_dir / f"global_results-{split}.csv", vos.global_csv(results).encode())
    write_atomic(out_dir / f"per-sequence_results-{split}.csv", vos.sequence_csv(results).encode())
    row = vos.global_table(results)
    md = [f"# VOS: {len(results)} sequences, {sum(len(j) for j, _ in results.values())} objects\n\n",
          "| " + " | ".join(vos.GLOBAL_COLUMNS) + " |\n", "|---" * len(vos.GLOBAL_COLUMNS) + "|\n",
          "| " + " | ".join(f"{row[c]:.3f}" for c in vos.GLOBAL_COLUMNS) + " |\n\n",
          "| object | J-Mean | F-Mean |\n|---|---|---|\n"]
    md += [line.replace(",", " | ").join(["| ", " |\n"]) for line in vos.sequence_csv(results).splitlines()[1:]]
    write_atomic(out_dir / "summary.md", "".join(md).encode())
    _plot(results, out_dir / "per_object_jf.png")
    return row


def run(cfg, out_dir: epath.PathLike) -> dict[str, float]:
    """`--mode=eval` on a DAVIS benchmark: scores `cfg.vos_results` against `cfg.data_root`'s `cfg.vos_split`
    (the first `cfg.max_videos` sequences when > 0)."""
    if not cfg.data_root or not cfg.vos_results:
        raise ValueError(f"benchmark {cfg.benchmark!r} scores a folder of results: set config.eval.data_root (the "
                         f"DAVIS folder) and config.eval.vos_results (<folder>/<seq>/<frame>.png palette PNGs); got "
                         f"data_root={cfg.data_root!r}, vos_results={cfg.vos_results!r}")
    year = BENCHMARKS[cfg.benchmark]
    names = davis.sequence_names(cfg.data_root, year=year, split=cfg.vos_split)
    names = names[:cfg.max_videos] if cfg.max_videos else names
    loaders = [functools.partial(davis.read_davis_sequence, cfg.data_root, n, year=year) for n in names]
    row = evaluate(loaders, cfg.vos_results, out_dir, cfg.vos_split)
    print(f"eval: {cfg.benchmark} {cfg.vos_split}, {len(names)} sequences: J&F {row['J&F-Mean']:.3f}, J "
          f"{row['J-Mean']:.3f}, F {row['F-Mean']:.3f}; wrote {epath.Path(out_dir) / 'summary.md'}")
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
