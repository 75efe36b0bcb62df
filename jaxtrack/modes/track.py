"""`--mode=track`: run a trained tracker on videos and write its boxes and pictures of them.

    python launch.py --experiment=siamban_acm_synthetic --workdir=runs/siamban_acm_synthetic --mode=track
    python launch.py --experiment=siamban_acm_synthetic --workdir=runs/siamban_acm_synthetic --mode=track \\
        --config.track_video.frames='/data/my_video/*.jpg' --config.track_video.box=120,80,40,60

The tracker is the workdir's latest checkpoint (or, with `track_video.exported`, the `jax.export` artifact that
`--mode=export` wrote to `<workdir>/export`). Config section `track_video` (`jaxtrack.config.experiment`):
  frames: a glob of one video's frame files (sorted = frame order) with `box` "x,y,w,h" (0-based px) on the
    first frame; empty: the first `num_videos` synthetic test videos of stream `seed` (`synthetic`: SyntheticConfig
    overrides), whose ground truth is known. Before anything is written, every frame file is checked (readable,
    frame 0's size) and the box must have w, h > 0 and overlap the first frame (`images.glob_video`).
Writes `<workdir>/track/<video>.txt` (x,y,w,h per frame, 0-based, 4 decimals), `<video>.png` (predicted red,
ground truth green) and `track.json` (per video: frames, FPS and, with ground truth, OTB success AUC and GOT-10k
AO: the mean IoU over frames 1.. where the target is visible). A tracker with masks (SiamMask) also writes
`<video>/<frame>.png`, DAVIS-style palette PNGs (index 1 = target; `<frame>` the frame file's stem, or 00000..;
frame 0: the initial box filled), the layout `--mode=eval` scores, and `<video>_polygons.txt` (its rotated box per
frame: x1,y1,x2,y2,x3,y3,x4,y4, VOT's polygon format; frame 0: the initial box's corners).
"""

from __future__ import annotations

import json

import numpy as np
from etils import epath

from jaxtrack import workdir as jt_workdir
from jaxtrack.data import synthetic
from jaxtrack.data.readers import davis, images
from jaxtrack.data.video import Video
from jaxtrack.eval import benchmark
from jaxtrack.files import write_atomic
from jaxtrack.track import draw, export


def videos(cfg) -> list[Video]:
    """The videos the `track_video` section names (see the module docstring)."""
    if cfg.frames:
        return [images.glob_video(cfg.frames, cfg.box, where="config.track_video")]
    options = synthetic.SyntheticConfig(**cfg.synthetic.to_dict())
    return synthetic.make_videos(int(cfg.num_videos), seed=int(cfg.seed), config=options, split="test")


def write_masks(out_dir: epath.Path, video: Video, result: benchmark.Run) -> None:
    """The run's masks as `<out_dir>/<video>/<frame>.png` palette PNGs and its polygons as `<video>_polygons.txt`."""
    for t, mask in enumerate(result.masks):
        stem = epath.Path(video.frame_paths[t]).stem if video.frame_paths is not None else f"{t:05d}"
        write_atomic(out_dir / video.name / f"{stem}.png", davis.label_png_bytes(mask))
    lines = "".join(",".join(f"{v:.4f}" for v in p.reshape(-1)) + "\n" for p in result.polygons)
    write_atomic(out_dir / f"{video.name}_polygons.txt", lines.encode())


def run(config, workdir: str) -> dict:
    """Tracks the configured videos with the workdir's tracker; returns the `track.json` dict."""
    cfg, workdir = config.track_video, epath.Path(workdir)
    todo = videos(cfg)  # frames and box checked before the tracker loads and anything is written
    if cfg.exported:
        tracker = export.ExportedTracker(workdir / "export")
    else:
        tracker = jt_workdir.load_tracker(workdir, config=config)
    out_dir, report = workdir / "track", {}
    print(f"track: {tracker.name} ...", flush=True)
    for video in todo:
        result = benchmark.run_sequence(tracker, video)
        lines = "".join(",".join(f"{v:.4f}" for v in b) + "\n" for b in result.boxes)
        write_atomic(out_dir / f"{video.name}.txt", lines.encode())
        if result.masks is not None:
            write_masks(out_dir, video, result)
        steps = draw.frame_steps(len(video))  # decode only the frames drawn
        shown = [video.frames[t] if video.frames is not None else images.read_image(video.frame_paths[t])
                 for t in steps]
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
