"""Synthetic tracking + summarization videos: textured targets among look-alike distractors, with shots and annotators.

Each video is a sequence of shots (scene cuts: new cluttered background, new lighting, new distractors); the
target moves smoothly with speed, scale, aspect and rotation changes, and a shot may hold one event
(fast motion, zoom-in, distractor crossing, occlusion, flash, out-of-view) that is visible in the pixels and
raises the simulated annotators' importance scores and keyshot picks. Ground truth follows GOT-10k/OTB
conventions: xywh boxes of the target's in-frame pixels, NaN + `visible=False` when fully occluded or out of
view, `masks` [T, H, W] uint8 (1 = the target's visible pixels: in the frame and not behind an occluder),
`cover` 0..8, OTB attribute flags measured on what was rendered (see `synthetic_annot`).

Same (index, seed, config) -> identical bytes. Timing: `python -m jaxtrack.data.synthetic --num_videos=300`.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import multiprocessing
import time
import zlib
from collections.abc import Iterator

import cv2
import numpy as np

from jaxtrack.data import synthetic_annot, synthetic_plan, synthetic_render
from jaxtrack.data.video import Video


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
    """Generator settings.

    Attributes:
      height, width: frame size in px (256 keeps SiamFC's 255 px search crops with context meaningful).
      n_frames: frames per video; n_shots: shots per video, each at least `min_shot_len` frames.
      n_distractors: look-alike objects per shot.
      n_annotators: simulated users U (TVSum has 20, SumMe 15-18).
      summary_ratio: mean fraction of frames in a user's keyshot summary.
      event_prob: probability that a shot holds an interesting event.
      clutter_prob: probability that a shot's background holds decoys of the target's texture family.
      target_size: range of the target's initial side, as a fraction of min(height, width).
      sprite_size: resolution (px) at which objects are drawn before warping.
      fps: nominal frame rate.
    """

    height: int = 256
    width: int = 256
    n_frames: int = 64
    n_shots: int = 4
    min_shot_len: int = 6
    n_distractors: int = 2
    n_annotators: int = 10
    summary_ratio: float = 0.15
    event_prob: float = 0.7
    clutter_prob: float = 0.15
    target_size: tuple[float, float] = (0.12, 0.3)
    sprite_size: int = 64
    fps: float = 30.0

    def __post_init__(self):
        if min(self.height, self.width) < 32:
            raise ValueError(f"SyntheticConfig: frame size must be >= 32 px, got {self.height}x{self.width}")
        if self.n_shots < 1 or self.min_shot_len < 1 or self.n_frames < self.n_shots * self.min_shot_len:
            raise ValueError(f"SyntheticConfig: n_frames={self.n_frames} must be >= n_shots={self.n_shots} * "
                             f"min_shot_len={self.min_shot_len} (both >= 1)")
        if self.n_annotators < 1 or self.n_distractors < 0:
            raise ValueError(f"SyntheticConfig: need n_annotators >= 1 and n_distractors >= 0, got "
                             f"{self.n_annotators} and {self.n_distractors}")
        if not 0 < self.summary_ratio < 1:
            raise ValueError(f"SyntheticConfig: summary_ratio must be in (0, 1), got {self.summary_ratio}")
        lo, hi = self.target_size
        if not 0 < lo <= hi <= 0.5:
            raise ValueError(f"SyntheticConfig: target_size must satisfy 0 < lo <= hi <= 0.5, got {self.target_size}")


def split_seed(seed: int, split: str) -> int:
    """Folds the split name into `seed` (stable across processes and runs), so splits never share videos."""
    return int(np.random.SeedSequence([seed, zlib.crc32(split.encode())]).generate_state(1)[0])


def make_plan(index: int, *, seed: int, config: SyntheticConfig) -> synthetic_plan.Plan:
    """The scene plan (shots, events, poses, interest) behind `make_video(index, seed=seed, config=config)`."""
    return synthetic_plan.make_plan(_rngs(index, seed)[0], config)


def _rngs(index: int, seed: int) -> list[np.random.Generator]:
    """Independent streams for plan, pixels and annotators (changing U does not change the pixels)."""
    return [np.random.default_rng(s) for s in np.random.SeedSequence([seed, index]).spawn(3)]


def make_video(index: int, *, seed: int, config: SyntheticConfig) -> Video:
    """Video `index` of the stream `seed`: frames [T, H, W, 3] uint8 and every annotation (see module doc)."""
    plan_rng, pixel_rng, user_rng = _rngs(index, seed)
    plan = synthetic_plan.make_plan(plan_rng, config)
    r = synthetic_render.render_video(pixel_rng, plan, config.height, config.width, config.sprite_size)
    visible = np.isfinite(r.boxes[:, 0])
    cover = np.where(visible, synthetic_annot.cover_class(r.visible), 0).astype(np.int8)
    scores = synthetic_annot.user_scores(user_rng, plan, config.n_annotators)
    return Video(
        name=f"synthetic_{seed}_{index:05d}",
        frames=r.frames,
        boxes=r.boxes,
        visible=visible,
        cover=cover,
        masks=r.masks,
        user_scores=scores,
        user_summaries=synthetic_annot.user_summaries(user_rng, plan, config.n_annotators, config.summary_ratio),
        change_points=plan.shots,
        gt_score=((scores.mean(0) - 1) / 4).astype(np.float32),
        fps=config.fps,
        attributes=synthetic_annot.attributes(plan, r.boxes, cover, r.inside, r.occluded, r.blur),
    )


def _worker_init() -> None:
    cv2.setNumThreads(1)


def _make_named(index: int, seed: int, config: SyntheticConfig, split: str) -> Video:
    return dataclasses.replace(make_video(index, seed=split_seed(seed, split), config=config),
                               name=f"{split}_{index:05d}")


def iter_videos(n: int, *, seed: int, config: SyntheticConfig = SyntheticConfig(), split: str = "train",
                num_workers: int = 0) -> Iterator[Video]:
    """Yields videos 0..n-1 of `split` in order, named `<split>_<index>`; `num_workers` > 0 renders in that many
    processes (identical output), holding at most 4 * num_workers videos at a time. Each video's frames
    (12.5 MB at the defaults) are pickled back to this process, so workers only pay off with idle cores."""
    if n < 0:
        raise ValueError(f"iter_videos: n must be >= 0, got {n}")
    if num_workers <= 0:
        for i in range(n):
            yield _make_named(i, seed, config, split)
        return
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(num_workers, mp_context=ctx, initializer=_worker_init) as pool:
        pending = []
        for i in range(n):
            pending.append(pool.submit(_make_named, i, seed, config, split))
            if len(pending) >= 4 * num_workers:
                yield pending.pop(0).result()
        for future in pending:
            yield future.result()


def make_videos(n: int, *, seed: int, config: SyntheticConfig = SyntheticConfig(), split: str = "train",
                num_workers: int = 0) -> list[Video]:
    """`n` videos of `split` (the split folds into the seed: train/val/test never coincide)."""
    return list(iter_videos(n, seed=seed, config=config, split=split, num_workers=num_workers))


def _main(argv) -> None:
    del argv
    config = SyntheticConfig(n_frames=FLAGS.num_frames)
    start = time.perf_counter()
    frames = sum(len(v) for v in iter_videos(FLAGS.num_videos, seed=0, config=config, num_workers=FLAGS.num_workers))
    seconds = time.perf_counter() - start
    print(f"generated {FLAGS.num_videos} videos ({frames} frames of {config.height}x{config.width}) with "
          f"num_workers={FLAGS.num_workers} in {seconds:.1f} s ({1e3 * seconds / max(frames, 1):.2f} ms/frame)")


if __name__ == "__main__":
    from absl import app, flags

    flags.DEFINE_integer("num_videos", 300, "videos to generate")
    flags.DEFINE_integer("num_frames", 64, "frames per video")
    flags.DEFINE_integer("num_workers", 0, "worker processes (0 = in this process)")
    FLAGS = flags.FLAGS
    app.run(_main)
