"""`--mode=eval` tracks DAVIS / YouTube-VOS itself: every object of every sequence, merged into one palette PNG per
frame, written as a results folder, then scored by `vos_benchmark`.

Protocol (foolwood/SiamMask `tools/test.py`, `track_vos`): each object on its own, initialised in its `first` frame
(`youtube_vos.VOSObject`; frame 0 on DAVIS) on the tight box of its mask there and tracked through its `last`
frame. Its map per frame is the given mask (1 / 0) in its first frame, the tracker's probabilities after it
(SiamMask: the best window's mask pasted into the frame, before the threshold) and -1 outside first..last. A frame's
label map (`Merge`) is the id of the object whose map is highest (the first object on ties, as `np.argmax`) where
that maximum exceeds the mask threshold (`track.siammask.MASK_THRESHOLD`), 0 elsewhere. Every tracker also gives
`<label>_box`: its boxes filled (map 1 inside, 0 outside), merged the same way: the baseline a mask branch must beat.
Trackers without masks give only that.

Result sets: `<out_dir>/results/<set>/<seq>/<frame>.png` (the DAVIS / YouTube-VOS submission layout). Each sequence
is written into a hidden folder renamed into place once complete, so a rerun tracks only the sequences without a
folder; each set's folder is keyed on its tracker, the benchmark, split and sequence names
(`jaxtrack.eval.results.open_folder`). Scores of each set: `<out_dir>/<set>/` (`vos_benchmark.evaluate_sequences`),
then `<out_dir>/summary.md` and `summary.json`, one row per set. Single process.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence

import numpy as np
from etils import epath
from tqdm.auto import tqdm

from jaxtrack import boxes
from jaxtrack.data.readers import davis
from jaxtrack.data.readers.images import read_image
from jaxtrack.data.readers.youtube_vos import VOSSequence
from jaxtrack.eval import results, vos, vos_benchmark
from jaxtrack.files import write_atomic
from jaxtrack.track import siammask


class Merge:
    """The label maps [T, H, W] of one sequence from its objects' maps: `add(k, t, probs)` for object k (0, 1, ...
    in order) in frame t, then `labels(ids, threshold)` (module docstring)."""

    def __init__(self, n_frames: int, hw: tuple[int, int]):
        self.best = np.full((n_frames, *hw), -1.0, np.float32)
        self.arg = np.zeros((n_frames, *hw), np.uint8)  # object index (ids are palette indices < 255)

    def add(self, k: int, t: int, probs: np.ndarray) -> None:
        higher = probs > self.best[t]  # strictly: an earlier object keeps a tie
        self.best[t][higher], self.arg[t][higher] = probs[higher], k

    def labels(self, ids: Sequence[int], threshold: float) -> np.ndarray:
        return np.where(self.best > threshold, np.asarray(ids, np.uint8)[self.arg], 0).astype(np.uint8)


class _MaskMaps:
    """A `siammask.MaskTracker`, initialised again for each object (one compile): `track(frame)` -> (box, its
    `last_probs`, the pasted window mask before the threshold)."""

    def __init__(self, tracker: siammask.MaskTracker):
        self.tracker = tracker

    def init(self, frame, box) -> None:
        self.tracker.init(frame, box)

    def track(self, frame):
        box, _ = self.tracker.track(frame)
        return np.asarray(box, np.float32), self.tracker.last_probs


class _BoxMaps:
    """Any tracker of the benchmark interface, a fresh one from `factory` per object: `track(frame)` -> (box,
    None)."""

    def __init__(self, factory):
        self.factory = factory

    def init(self, frame, box) -> None:
        self.tracker = self.factory()
        self.tracker.init(frame, box)

    def track(self, frame):
        return np.asarray(self.tracker.track(frame)[0], np.float32), None


def maps_of(factory):
    """The per-frame maps of `factory`'s trackers: masks and boxes (SiamMask) or boxes only."""
    tracker = factory()
    return _MaskMaps(tracker) if isinstance(tracker, siammask.MaskTracker) else _BoxMaps(factory)


def track_sequence(source, seq: VOSSequence, with_masks: bool) -> dict[str, np.ndarray]:
    """{"box": [T, H, W] uint8 label maps of the boxes filled, and with `with_masks` "masks": of the masks} of
    `seq`'s objects tracked one at a time by `source` (`maps_of`)."""
    hw = seq.video.masks.shape[1:]
    merges = {kind: Merge(len(seq.video), hw) for kind in (("masks", "box") if with_masks else ("box",))}
    for k, obj in enumerate(seq.objects):
        given = (seq.video.masks[obj.first] == obj.id).astype(np.float32)
        path = seq.video.frame_paths[obj.first]
        box = boxes.check_init_box(boxes.mask_to_xywh(given > 0), f"{path}: object {obj.id}'s mask box", hw)
        for t in range(obj.first, obj.last + 1):
            frame = read_image(seq.video.frame_paths[t])
            if frame.shape[:2] != hw:
                raise ValueError(f"{seq.video.frame_paths[t]}: frame is {frame.shape[1]}x{frame.shape[0]} but the "
                                 f"annotation is {hw[1]}x{hw[0]} (WxH)")
            if t == obj.first:
                source.init(frame, box)
                maps = {"masks": given, "box": given}
            else:
                b, probs = source.track(frame)
                maps = {"masks": probs, "box": boxes.box_mask(b, hw).astype(np.float32)}
            for kind, merge in merges.items():
                merge.add(k, t, maps[kind])
    ids = [o.id for o in seq.objects]
    return {kind: merge.labels(ids, siammask.MASK_THRESHOLD) for kind, merge in merges.items()}


def write_sequence(folder: epath.Path, seq: VOSSequence, labels: np.ndarray) -> None:
    """`<folder>/<seq>/<frame>.png` palette PNGs, written into `.<seq>.new/` and renamed into place."""
    tmp = folder / f".{seq.name}.new"
    if tmp.exists():  # left by a killed run
        shutil.rmtree(tmp)
    for path, label in zip(seq.video.frame_paths, labels, strict=True):
        write_atomic(tmp / f"{epath.Path(path).stem}.png", davis.label_png_bytes(label))
    os.replace(tmp, folder / seq.name)


def _identity(cfg, tracker: dict, kind: str, names: list[str]) -> dict:
    body = {"tracker": {**tracker, "vos": kind}, "videos": {"benchmark": cfg.benchmark, "split": cfg.vos_split,
                                                             "data_root": str(cfg.data_root), "names": names}}
    return {"key": results.digest(body)[:16], **body}


def run(cfg, trackers: dict, out_dir: epath.PathLike) -> dict[str, dict[str, float] | None]:
    """Tracks the sequences of `cfg` (`vos_benchmark.sequences`) with every tracker of `trackers` ({label:
    (factory, identity)}, `modes.eval.make_trackers`), completes its result sets and scores them; returns {set:
    global row, or None where nothing is scored}."""
    if not cfg.data_root:
        raise ValueError(f"benchmark {cfg.benchmark!r} needs config.eval.data_root (the dataset folder)")
    out_dir, bench = epath.Path(out_dir), vos_benchmark.BENCHMARKS[cfg.benchmark]
    names, loaders = vos_benchmark.sequences(cfg)
    for path in (out_dir / "summary.json", out_dir / "summary.md"):
        if path.exists():
            path.unlink()
    sources, sets = {}, {}
    for label, (factory, ident) in trackers.items():
        sources[label] = maps_of(factory)
        kinds = ("masks", "box") if isinstance(sources[label], _MaskMaps) else ("box",)
        sets.update({(label, kind): label if kind == "masks" else f"{label}_box" for kind in kinds})
        for kind in kinds:
            results.open_folder(out_dir / "results", sets[label, kind], _identity(cfg, ident, kind, names))
    results.set_aside_others(out_dir / "results", list(sets.values()))
    for label, source in sources.items():
        mine = {kind: out_dir / "results" / name for (lab, kind), name in sets.items() if lab == label}
        todo = [i for i, n in enumerate(names) if not all((folder / n).is_dir() for folder in mine.values())]
        for i in tqdm(todo, desc=label, unit="seq", leave=False):
            seq = loaders[i]()
            maps = track_sequence(source, seq, "masks" in mine)
            for kind, folder in mine.items():
                if not (folder / seq.name).is_dir():
                    write_sequence(folder, seq, maps[kind])
    rows = {}
    for name in sets.values():
        rows[name] = vos_benchmark.evaluate_sequences(loaders, out_dir / "results" / name, out_dir / name,
                                                      cfg.vos_split, scored=bench.scored,
                                                      last_frame_scored=bench.last_frame_scored)
        vos_benchmark.report(cfg, rows[name], f", {name}", len(names), out_dir / name / "summary.md")
    md = [f"# {cfg.benchmark} {cfg.vos_split}: {len(names)} sequences, tracked\n\nScored: {bench.scored}.\n\n",
          "| method | " + " | ".join(vos.GLOBAL_COLUMNS) + " |\n", "|---" * (len(vos.GLOBAL_COLUMNS) + 1) + "|\n"]
    md += [f"| {name} | " + (" | ".join(f"{row[c]:.3f}" for c in vos.GLOBAL_COLUMNS) if row else
                             "no ground truth past each object's first frame (results only)") + " |\n"
           for name, row in rows.items()]
    md += [f"\nResult folders (`results/<set>/<seq>/<frame>.png`): {', '.join(f'`{n}`' for n in rows)}.\n"]
    write_atomic(out_dir / "summary.md", "".join(md).encode())
    write_atomic(out_dir / "summary.json", json.dumps(rows, indent=1).encode())
    return rows
