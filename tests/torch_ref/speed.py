"""Per-frame speed, side by side in one process: the jaxtrack tracker of a converted model-zoo checkpoint against
the reference torch model + pysot tracker loop (tests/torch_ref/tracker_loop.py with cv2's resize, as pysot), same
weights (full size, random), same frames.

    python -m tests.torch_ref.speed [--frames=40] [--repeats=3] [--threads=2] [--out=speed.md] [--models=a,b]

Both trackers are initialised on frame 0 and track frames 1..N; a tracker's per-frame figure is the median over
the frames of the fastest of `repeats` passes (jaxtrack compiled on a first pass). The two trackers' passes
alternate (torch, jaxtrack, torch, ...), so that a change of load on a shared machine hits both alike; the load
average is printed with the table. torch runs with `--threads` intra-op threads, XLA with its default (all cores).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import os
import pathlib
import platform
import tempfile
import time

import jax
import numpy as np
import torch

from jaxtrack import workdir
from jaxtrack.data import synthetic
from jaxtrack.modes import convert as convert_mode
from tests.torch_ref import builders, tracker_loop

ZOO = ("siamrpn_alex_dwxcorr", "siamrpn_mobilev2_l234_dwxcorr", "siamrpn_r50_l234_dwxcorr", "siamban_r50_l234")


def per_frame_ms(steps, frames, repeats: int) -> list[float]:
    """For each (step, its frames) of `steps`: the median over frames of the fastest of `repeats` passes, in ms;
    the steps' passes alternate."""
    best = [np.full(len(frames[0]), np.inf) for _ in steps]
    for _ in range(repeats):
        for step, step_frames, times in zip(steps, frames, best):
            for i, frame in enumerate(step_frames):
                start = time.perf_counter()
                step(frame)
                times[i] = min(times[i], time.perf_counter() - start)
    return [float(np.median(times) * 1e3) for times in best]


def trackers(name: str, video, tmp: pathlib.Path):
    """(jaxtrack tracker, reference tracker) of zoo entry `name` with the same random full-size weights."""
    config = importlib.import_module(f"experiments.{name}").get_config()
    box0 = np.asarray(video.boxes[0], np.float64)
    crops = tracker_loop.first_crops(video.frames[0][..., ::-1], box0, config.track)
    model = builders.tame(builders.zoo_model(name, *crops))
    torch.save(model.state_dict(), tmp / f"{name}.pth")
    config.convert.checkpoint = str(tmp / f"{name}.pth")
    with contextlib.redirect_stdout(io.StringIO()):
        convert_mode.run(config, str(tmp / name))
    ours = workdir.load_tracker(tmp / name)
    ref = tracker_loop.Tracker(model, tracker_loop.reference_settings(config.track, name.startswith("siamban")),
                               cv2_resize=True)
    return ours, ref


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.torch_ref.speed", description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default="")
    parser.add_argument("--models", default=",".join(ZOO), help="comma-separated zoo experiments")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.set_flush_denormal(True)  # as XLA on CPU: random weights otherwise make denormals that stall torch
    cfg = synthetic.SyntheticConfig(height=360, width=480, n_frames=args.frames + 1, n_shots=1,
                                    min_shot_len=args.frames + 1)
    video = synthetic.make_video(1, seed=5, config=cfg)
    bgr = [np.ascontiguousarray(f[..., ::-1]) for f in video.frames]
    rows = [f"{platform.processor() or platform.machine()}, {jax.devices()[0].device_kind} ({jax.default_backend()}),"
            f" jax {jax.__version__}, torch {torch.__version__} ({args.threads} threads), {time.strftime('%Y-%m-%d')};"
            f" {args.frames} frames of 480x360, median of the best of {args.repeats}", "",
            "| model | torch + pysot loop (ms/frame) | jaxtrack (ms/frame) | speed-up |", "|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            ours, ref = trackers(name, video, pathlib.Path(tmp))
            ours.init(video.frames[0], np.float32(video.boxes[0]))
            ours.track(video.frames[1])  # compile
            ref.init(bgr[0], np.float64(video.boxes[0]))

            def ours_step(frame, t=ours):
                t.track(frame)

            def ref_step(frame, t=ref):
                t.track(frame)

            ms_ref, ms_ours = per_frame_ms((ref_step, ours_step), (bgr[1:], video.frames[1:]), args.repeats)
            rows.append(f"| {name} | {ms_ref:.1f} | {ms_ours:.1f} | {ms_ref / ms_ours:.2f}x |")
            print(rows[-1], flush=True)
    rows.append(f"\nload average (1, 5, 15 min) at the end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    text = "\n".join(rows) + "\n"
    print(text)
    if args.out:
        pathlib.Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
