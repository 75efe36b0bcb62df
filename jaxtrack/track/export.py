"""Trackers as serialized StableHLO (`jax.export`): run a trained tracker with nothing but `jax` and `numpy`.

`export_tracker(tracker, out_dir)` writes, with the weights baked in as constants:
    init.jaxexport   (frame [H, W, 3] uint8, box [4] float32 xywh 0-based) -> state
    step.jaxexport   (state, frame [H, W, 3] uint8) -> (state, box [4] float32 xywh, score [] float32)
                     SiamMask (`track.siammask.has_masks`): ... -> (state, box, score, mask [H, W] uint8, 1 = target)
    manifest.json    model name, build kwargs, tracking hyper-parameters, platforms, jax version, signatures,
                     "outputs": the step's outputs after the state (["box", "score"] or ["box", "score", "mask"])
H and W are symbolic: one artifact serves every frame size. Reloading needs no jaxtrack code:

    import jax, numpy as np
    init, step = (jax.export.deserialize(open(f"{d}/{n}.jaxexport", "rb").read()) for n in ("init", "step"))
    state = init.call(frame, np.float32([x, y, w, h]))
    state, box, score = step.call(state, next_frame)          # SiamMask: state, box, score, mask = ...

`--mode=export` (`jaxtrack.modes.export`) writes them for a training workdir. `ExportedTracker(out_dir)` wraps
that behind the benchmark `init` / `track` interface (with masks: `last_mask` and `last_polygon`, the rotated box
computed on the host by cv2 as `MaskTracker`'s), and
`python -m jaxtrack.track.export DIR --frames='video/*.jpg' --box=x,y,w,h --out=boxes.txt` tracks a folder of
frames with it (an export with masks also writes `boxes/<frame>.png`, DAVIS palette PNGs, and `boxes_polygons.txt`,
VOT polygons, in `--mode=track`'s layout; frame 0: the box filled / its corners).
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
from etils import epath

from jaxtrack import boxes
from jaxtrack.data.readers import davis, images
from jaxtrack.files import write_atomic
from jaxtrack.models import conv
from jaxtrack.track import siamese, siammask

FILES = {"init": "init.jaxexport", "step": "step.jaxexport"}
PLATFORMS = ("cpu", "cuda", "tpu")
BOX_STEP = "(state, frame [H, W, 3] uint8) -> (state, box [4] float32 xywh 0-based, score [] float32"


def export_tracker(tracker, out_dir: epath.PathLike, *, platforms=PLATFORMS, model_kwargs: dict | None = None) -> dict:
    """Serializes `tracker`'s (a `siamese.Tracker` or `siammask.MaskTracker`) init and per-frame step (weights
    included) into `out_dir` for `platforms`; returns the manifest. Files are written atomically."""
    out_dir = epath.Path(out_dir)
    h, w = jax.export.symbolic_shape("h, w")
    frame = jax.ShapeDtypeStruct((h, w, 3), jnp.uint8)
    box = jax.ShapeDtypeStruct((4,), jnp.float32)
    init = _xla_convs(functools.partial(siamese.init_state, tracker.model, tracker.config, tracker.variables))
    masks = siammask.has_masks(tracker.model)
    frame_step = siammask.step if masks else siamese.step
    step = _xla_convs(functools.partial(frame_step, tracker.model, tracker.config, tracker.variables))
    exp_init = jax.export.export(jax.jit(init), platforms=tuple(platforms))(frame, box)
    state = jax.tree_util.tree_unflatten(exp_init.out_tree, exp_init.out_avals)
    exp_step = jax.export.export(jax.jit(step), platforms=tuple(platforms))(state, frame)
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, exp in (("init", exp_init), ("step", exp_step)):
        write_atomic(out_dir / FILES[name], bytes(exp.serialize()))
    manifest = {
        "model": tracker.name, "model_kwargs": model_kwargs or {}, "tracking": dataclasses.asdict(tracker.config),
        "platforms": list(exp_step.platforms), "jax": jax.__version__,
        "init": "(frame [H, W, 3] uint8, box [4] float32 xywh 0-based) -> state",
        "step": BOX_STEP + (", mask [H, W] uint8 1 = target)" if masks else ")"),
        "outputs": ["box", "score", "mask"] if masks else ["box", "score"],
        "files": FILES,
    }
    write_atomic(out_dir / "manifest.json", json.dumps(manifest, indent=1).encode())
    return manifest


def _xla_convs(fn):
    """`fn` traced with XLA's convolution for every conv (`models.conv.default_impl`): the artifacts serve
    every platform, where the CPU-measured inference forms need not be the fastest."""

    @functools.wraps(fn)
    def traced(*args):
        with conv.default_impl("xla"):
            return fn(*args)

    return traced


class ExportedTracker:
    """The `init(frame, box)` / `track(frame) -> (box [4], score)` interface over an `export_tracker` folder. When
    the step returns masks (manifest "outputs"), `last_mask` [H, W] uint8 and `last_polygon` [4, 2] float32 (the
    rotated box, `siammask.rotated_box`) hold the last `track`'s, as `siammask.MaskTracker`'s (None after `init`);
    otherwise the tracker has no such attributes (`eval.benchmark.run_sequence` looks for them)."""

    def __init__(self, out_dir: epath.PathLike):
        out_dir = epath.Path(out_dir)
        missing = [f for f in FILES.values() if not (out_dir / f).exists()]
        if missing:
            raise FileNotFoundError(f"{out_dir}: missing {missing}; write them with launch.py --mode=export")
        self.manifest = json.loads((out_dir / "manifest.json").read_text())
        self.name = self.manifest["model"]
        self._init, self._step = (jax.export.deserialize(bytearray((out_dir / FILES[k]).read_bytes()))
                                  for k in ("init", "step"))
        self.state = None
        self._masks = "mask" in self.manifest.get("outputs", ["box", "score"])
        if self._masks:
            self.last_mask = self.last_polygon = None

    def init(self, frame, box) -> None:
        self.state = self._init.call(_frame(frame), np.asarray(box, np.float32).reshape(4))
        if self._masks:
            self.last_mask = self.last_polygon = None

    def track(self, frame) -> tuple[np.ndarray, float]:
        if self.state is None:
            raise RuntimeError(f"exported tracker {self.name!r}: track() called before init()")
        self.state, box, score, *mask = self._step.call(self.state, _frame(frame))
        box = np.asarray(box)
        if self._masks:
            self.last_mask = np.asarray(mask[0])
            self.last_polygon = siammask.rotated_box(self.last_mask, box)
        return box, float(score)


def _frame(frame) -> np.ndarray:
    frame = np.asarray(frame)
    if frame.ndim != 3 or frame.shape[-1] != 3 or frame.dtype != np.uint8:
        raise ValueError(f"frame must be [H, W, 3] uint8, got {frame.shape} {frame.dtype}")
    return frame


def track_files(tracker, paths: list[str], box) -> tuple[np.ndarray, list | None, list | None]:
    """Tracks the image files `paths` (sorted order = frame order) from `box` [4] xywh on the first one (checked
    against it: `boxes.check_init_box`). Returns ([T, 4] float32 boxes (row 0 = `box`), masks, polygons): with a
    tracker with masks (`last_mask`), T [H, W] uint8 masks and [4, 2] rotated boxes (frame 0: the box filled / its
    corners), else None."""
    out, masks, polygons = [], [], []
    for t, path in enumerate(paths):
        frame = images.read_image(path)
        if t == 0:
            out.append(boxes.check_init_box(box, f"{path}: --box", frame.shape[:2]))
            tracker.init(frame, out[0])
        else:
            out.append(tracker.track(frame)[0])
        if hasattr(tracker, "last_mask"):
            masks.append(tracker.last_mask if t else boxes.box_mask(out[0], frame.shape[:2]))
            polygons.append(tracker.last_polygon if t else boxes.xywh_to_corners(out[0]))
    return np.stack(out), masks or None, polygons or None


def main(argv: list[str]) -> None:
    """The frames CLI (module docstring). Bad input (export folder, frames, box) exits with one line, before any
    output is written."""
    parser = argparse.ArgumentParser(prog="python -m jaxtrack.track.export",
                                     description="Track a folder of frames with an exported tracker.")
    parser.add_argument("export_dir", help="folder written by launch.py --mode=export")
    parser.add_argument("--frames", required=True, help="glob of the frame files, e.g. 'video/img/*.jpg' (sorted)")
    parser.add_argument("--box", required=True, help="initial box x,y,w,h (0-based pixels) on the first frame")
    parser.add_argument("--out", default="boxes.txt", help="output file, one x,y,w,h line per frame")
    args = parser.parse_args(argv)
    try:
        video = images.glob_video(args.frames, args.box, where="-")
        out, masks, polygons = track_files(ExportedTracker(args.export_dir), list(video.frame_paths),
                                           video.boxes[0])
    except (FileNotFoundError, ValueError) as e:
        sys.exit(f"{parser.prog}: error: {' '.join(str(e).replace('-.', '--').split())}")
    lines = lambda rows: "".join(",".join(f"{v:.4f}" for v in np.reshape(r, -1)) + "\n" for r in rows).encode()
    out_path = epath.Path(args.out)
    write_atomic(out_path, lines(out))
    print(f"tracked {len(video)} frames -> {args.out}")
    if masks is not None:
        stem = out_path.parent / out_path.stem
        for path, mask in zip(video.frame_paths, masks):
            write_atomic(stem / f"{epath.Path(path).stem}.png", davis.label_png_bytes(mask))
        write_atomic(stem.parent / f"{stem.name}_polygons.txt", lines(polygons))
        print(f"masks -> {stem}/, rotated boxes -> {stem}_polygons.txt")


if __name__ == "__main__":
    main(sys.argv[1:])
