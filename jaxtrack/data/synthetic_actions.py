"""Synthetic action clips where order matters: labelled short videos for the temporal fusion models (TSN / TRN / ECO).

Ten classes. Eight form four time-reverse pairs (`REVERSE_PAIRS`): the second class of a pair is the first one's
clip played backwards, rendered from the same distribution, so a single frame -- or any order-free set of frames
-- cannot tell the two apart:
  move_left_to_right / move_right_to_left   a disc or square crosses the frame horizontally
  zoom_in / zoom_out                        the object grows from small to large (camera approaching)
  enter / leave                             the object comes in from outside one border and stops inside
  occluder_arrives / occluder_departs       a grey bar slides over the static object until it covers it
Two are told apart by appearance (`APPEARANCE`): colour_flash (the frame is tinted with a saturated colour for
a third of the clip) and cross_shape (a plus-shaped object, drifting either way). The other classes never show
a flash or a cross. Backgrounds are a random colour with a gradient and pixel noise.

Clip `index` of `(seed, split)` has label `index % NUM_CLASSES` (balanced splits) and is deterministic:
same (index, seed, split, config) -> identical frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from jaxtrack.data.synthetic import split_seed
from jaxtrack.data.video import Video

CLASSES = ("move_left_to_right", "move_right_to_left", "zoom_in", "zoom_out", "enter", "leave",
           "occluder_arrives", "occluder_departs", "colour_flash", "cross_shape")
NUM_CLASSES = len(CLASSES)
REVERSE_PAIRS = ((0, 1), (2, 3), (4, 5), (6, 7))  # (forward class, its time reverse)
ORDER_ONLY = tuple(c for pair in REVERSE_PAIRS for c in pair)
APPEARANCE = (8, 9)


@dataclasses.dataclass(frozen=True)
class ActionConfig:
    """Clip settings: `size` (square frames, px), frames per clip in [`min_frames`, `n_frames`], pixel `noise`
    (std, 0..255 scale), object side as a fraction of the frame (`object_size` range), `fps`."""

    size: int = 32
    n_frames: int = 16
    min_frames: int = 16
    noise: float = 6.0
    object_size: tuple[float, float] = (0.18, 0.3)
    fps: float = 15.0

    def __post_init__(self):
        if self.size < 16:
            raise ValueError(f"ActionConfig: size must be >= 16 px, got {self.size}")
        if not 2 <= self.min_frames <= self.n_frames:
            raise ValueError(f"ActionConfig: need 2 <= min_frames <= n_frames, got {self.min_frames}, {self.n_frames}")
        lo, hi = self.object_size
        if not 0 < lo <= hi <= 0.5:
            raise ValueError(f"ActionConfig: object_size must satisfy 0 < lo <= hi <= 0.5, got {self.object_size}")


def label(index: int) -> int:
    """The class of clip `index` (every split cycles through the classes)."""
    return index % NUM_CLASSES


@dataclasses.dataclass
class _Track:
    """Per-frame object state: centre (cx, cy) and half side r in px, shape name; occluder x extent or None."""

    cx: np.ndarray
    cy: np.ndarray
    r: np.ndarray
    shape: str
    occluder: np.ndarray | None = None  # [T, 2] (x0, x1) of a full-height bar
    flash: np.ndarray | None = None  # [T] bool


def _forward_track(cls: int, t: np.ndarray, size: int, rng: np.random.Generator, cfg: ActionConfig) -> _Track:
    """The motion of the first class of a pair (or of an appearance class) at times t in [0, 1]."""
    r0 = size * rng.uniform(*cfg.object_size) / 2
    shape = "cross" if cls == 9 else str(rng.choice(["disc", "square"]))
    ease = t * t * (3 - 2 * t) if rng.random() < 0.5 else t
    cy = np.full_like(t, rng.uniform(0.3, 0.7) * size)
    if cls in (0, 1):
        x0, x1 = rng.uniform(0.1, 0.35) * size, rng.uniform(0.65, 0.9) * size
        return _Track(x0 + (x1 - x0) * ease, cy, np.full_like(t, r0), shape)
    if cls in (2, 3):
        cx, cy0 = rng.uniform(0.35, 0.65, 2) * size
        grow = np.exp(np.log(0.5) + (np.log(2.2) - np.log(0.5)) * ease)
        return _Track(np.full_like(t, cx), np.full_like(t, cy0), r0 * grow, shape)
    if cls in (4, 5):  # from outside a random border to a random inside point
        side = rng.integers(4)
        inside = rng.uniform(0.3, 0.7, 2) * size
        outside = inside.copy()
        outside[side % 2] = -1.5 * r0 if side < 2 else size + 1.5 * r0
        pos = outside[:, None] + (inside - outside)[:, None] * ease[None]
        return _Track(pos[0], pos[1], np.full_like(t, r0), shape)
    if cls in (6, 7):
        cx = rng.uniform(0.3, 0.7) * size
        width = 2.6 * r0
        start = -width if rng.random() < 0.5 else size
        x0 = start + (cx - width / 2 - start) * ease
        return _Track(np.full_like(t, cx), cy, np.full_like(t, r0), shape, occluder=np.stack([x0, x0 + width], 1))
    # appearance classes: a drift in a random direction (either way), and for colour_flash a tinted third
    v = rng.uniform(-0.25, 0.25, 2) * size
    c = rng.uniform(0.35, 0.65, 2) * size
    track = _Track(c[0] + v[0] * (t - 0.5), c[1] + v[1] * (t - 0.5), np.full_like(t, r0), shape)
    if cls == 8:
        n = len(t)
        length = max(2, int(np.ceil(n / 3)))
        first = rng.integers(0, n - length + 1)
        track.flash = (np.arange(n) >= first) & (np.arange(n) < first + length)
    return track


def _mask(shape: str, xx, yy, cx: float, cy: float, r: float) -> np.ndarray:
    dx, dy = np.abs(xx - cx), np.abs(yy - cy)
    if shape == "disc":
        return dx**2 + dy**2 <= r**2
    if shape == "square":
        return (dx <= r * 0.89) & (dy <= r * 0.89)
    return ((dx <= r) & (dy <= r / 3)) | ((dy <= r) & (dx <= r / 3))


def make_clip(index: int, *, seed: int, config: ActionConfig = ActionConfig()) -> tuple[Video, int]:
    """(Video with frames [T, S, S, 3] uint8, label) of clip `index` of the stream `seed`."""
    cls = label(index)
    rng = np.random.default_rng([seed, index])
    n = int(rng.integers(config.min_frames, config.n_frames + 1))
    s = config.size
    t = np.linspace(0.0, 1.0, n)
    forward = cls - 1 if cls in ORDER_ONLY and cls % 2 else cls
    track = _forward_track(forward, t, s, rng, config)
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32) + 0.5
    background = rng.uniform(20, 140, 3) + rng.uniform(-30, 30, 3) * (xx / s)[..., None]
    colour = rng.uniform(150, 255, 3) * (rng.random(3) < 0.8) + 40
    grey = rng.uniform(90, 130)
    tint = np.eye(3)[rng.integers(3)] * 255
    frames = np.empty((n, s, s, 3), np.float32)
    for i in range(n):
        img = background.copy()
        img[_mask(track.shape, xx, yy, track.cx[i], track.cy[i], track.r[i])] = colour
        if track.occluder is not None:
            img[:, (xx[0] >= track.occluder[i, 0]) & (xx[0] < track.occluder[i, 1])] = grey
        if track.flash is not None and track.flash[i]:
            img = 0.4 * img + 0.6 * tint
        frames[i] = img + rng.normal(0, config.noise, img.shape)
    frames = np.clip(np.rint(frames), 0, 255).astype(np.uint8)
    if cls != forward:  # the time-reverse class: the same kind of clip, played backwards
        frames = frames[::-1].copy()
    return Video(name=f"clip_{seed}_{index:05d}", frames=frames, fps=config.fps), cls


def iter_clips(n: int, *, seed: int, config: ActionConfig = ActionConfig(), split: str = "train"
               ) -> Iterator[tuple[Video, int]]:
    """Clips 0..n-1 of `split` (folded into the seed: splits never share clips), named `<split>_<index>`."""
    stream = split_seed(seed, split)
    for i in range(n):
        video, cls = make_clip(i, seed=stream, config=config)
        yield dataclasses.replace(video, name=f"{split}_{i:05d}"), cls
