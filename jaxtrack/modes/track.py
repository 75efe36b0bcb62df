"""`--mode=track`: run a trained tracker on videos and write its boxes and pictures of them.

    python launch.py --experiment=siamban_acm_synthetic --workdir=runs/siamban_acm_synthetic --mode=track
    python launch.py --experiment=siamban_acm_synthetic --workdir=runs/siamban_acm_synthetic --mode=track \\
        --config.track_video.frames='/data/my_video/*.jpg' --config.track_video.box=120,80,40,60

The tracker is the workdir's latest checkpoint (or, with `track_video.exported`, the `jax.export` artifact that
`--mode=export` wrote to `<workdir>/export`). Config section `track_video` (`default_config()`):
  frames: a glob of one video's frame files (sorted = frame order) with `box` "x,y,w,h" (0-based px) on the
    first frame; empty: the first `num_videos` synthetic test videos of stream `seed` (`synthetic`: SyntheticConfig
    overrides), whose ground truth is known.
Writes `<workdir>/track/<video>.txt` (x,y,w,h per frame), `<video>.png` (predicted red, ground truth green)
and `track.json` (per video: frames, FPS and, with ground truth, OTB success AUC and GOT-10k AO: the mean IoU
over frames 1.. where the target is visible).
"""

from __future__ import annotations

import glob
import json

import ml_collections
import numpy as np
from etils import epath

from jaxtrack.data import synthetic
from jaxtrack.data.readers.images import read_image
from jaxtrack.data.video import Video
from jaxtrack.eval import benchmark
from jaxtrack.files import write_atomic
from jaxtrack.track import draw, export, trained


def default_config() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({"frames": "", "box": "", "num_videos": 2, "seed": 0, "synthetic": {},
                                      "exported": False})


def videos(cfg) -> list[Video]:
    """The videos the `track_video` section names (see the module docstring)."""
    if not cfg.frames:
        options = synthetic.SyntheticConfig(**dict(cfg.synthetic))
        return synthetic.make_videos(int(cfg.num_videos), seed=int(cfg.seed), config=options, split="test")
    paths = tuple(sorted(glob.glob(cfg.frames)))
    if not paths:
        raise FileNotFoundError(f"config.track_video.frames={cfg.frames!r} matches no file")
    try:
        box = np.array([float(v) for v in str(cfg.box).strip("()[] ").split(",")], np.float32)
    except ValueError:
        box = np.zeros(0)
    if box.shape != (4,) or (box[2:] <= 0).any():
        raise ValueError(f"config.track_video.box must be x,y,w,h with w, h > 0 (0-based px), got {cfg.box!r}")
    boxes = np.full((len(paths), 4), np.nan, np.float32)
    boxes[0] = box
    return [Video(epath.Path(paths[0]).parent.name or "video", frame_paths=paths, boxes=boxes)]


def run(config, workdir: str) -> dict:
    """Tracks the configured videos with the workdir's tracker; returns the `track.json` dict."""
    cfg = default_config()
    cfg.update(dict(config.get("track_video", None) or {}))
    workdir = epath.Path(workdir)
    if cfg.exported:
        tracker = export.ExportedTracker(workdir / "export")
    else:
        tracker = trained.load_tracker(workdir, trained=json.loads(config.to_json_best_effort()))
    out_dir, report = workdir / "track", {}
    for video in videos(cfg):
        result = benchmark.run_sequence(tracker, video)
        lines = "".join(",".join(f"{v:.2f}" for v in b) + "\n" for b in result.boxes)
        write_atomic(out_dir / f"{video.name}.txt", lines.encode())
        steps = draw.frame_steps(len(video))  # decode only the frames drawn
        shown = [video.frames[t] if video.frames is not None else read_image(video.frame_paths[t]) for t in steps]
        has_gt = bool(np.isfinite(video.boxes[1:]).any())
        write_atomic(out_dir / f"{video.name}.png", draw.png_bytes(draw.tracked_frames(
            shown, steps, result.boxes, video.boxes if has_gt else None)))
        entry = {"frames": len(video), "fps": (len(video) - 1) / max(float(result.seconds[1:].sum()), 1e-9)}
        if has_gt:
            score = benchmark.score_sequence(video, result)
            entry |= {"auc": float(score.otb.success_auc), "ao": float(np.mean(score.got_ious))}
        report[video.name] = entry
        print(f"{video.name}: " + ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                            for k, v in entry.items()))
    write_atomic(out_dir / "track.json", json.dumps(report, indent=1).encode())
    return report
