"""Labelled clip batches for action recognition (TSN / TRN / ECO) as a deterministic, sharded grain pipeline.

Per video: K segments, one snippet of L consecutive frames each (`sampling.segment_indices`, TSN): a random start
inside each segment in training, the segment centre in test (clip c of `num_clips` test clips: the point
(c + 0.5) / num_clips of each segment, as the papers average several clips). A video with fewer than K snippet
starts (n - L + 1 < K) gets each start once and masked padding after them, instead of repeated frames.
Frames are resized (shorter side `image_size`, then a centre crop; 0 keeps the stored size).
Test views (`test_crops`, TSN's protocol as mmaction2's pipelines): 1, that centre crop; 3, ThreeCrop (shorter side
to S = `image_size` or the stored shorter side, S x S crops at the start, end and middle of the longer side); 10,
TenCrop (shorter side to round(S * 256 / 224), S x S crops at the four corners and the centre on a grid of
(size - S) // 4 steps, each followed by its horizontal flip). Every clip of every video comes in every view.

A batch: frames [B, K, L, H, W, 3] uint8, mask [B, K] bool (real segments), label [B] int32, index [B] int32 (video
index in the source), clip [B] int32 (test clip number), crop [B] int32 (test view), flip [B] bool (a mirrored view).
"""

from __future__ import annotations

import dataclasses

import cv2
import grain
import numpy as np
from etils import epath

from jaxtrack.data import tfds_source
from jaxtrack.data.sampling import epoch_shuffle, segment_indices, shard_indices
from jaxtrack.data.sources import VideoDataset
from jaxtrack.data.tfds_builders import BUILDERS

TEST_CROPS = (1, 3, 10)  # test views per clip: centre crop, ThreeCrop, TenCrop (module docstring)
TEN_CROP_SCALE = 256 / 224  # TenCrop's shorter side over its crop side (TSN: 256 px frames, 224 px crops)


@dataclasses.dataclass(frozen=True)
class ClipConfig:
    """K = num_segments, L = snippet_len, square frames of `image_size` px (0: as stored), `num_clips` test clips,
    `test_crops` test views of each (one of TEST_CROPS)."""

    num_segments: int = 4
    snippet_len: int = 1
    image_size: int = 0
    num_clips: int = 1
    test_crops: int = 1

    def __post_init__(self):
        if self.num_segments < 1 or self.snippet_len < 1 or self.num_clips < 1 or self.image_size < 0:
            raise ValueError(f"ClipConfig: num_segments, snippet_len, num_clips must be >= 1 and image_size >= 0, "
                             f"got {self}")
        if self.test_crops not in TEST_CROPS:
            raise ValueError(f"ClipConfig: test_crops must be one of {TEST_CROPS}, got {self.test_crops}")


@dataclasses.dataclass(frozen=True)
class LabelledVideos:
    """A VideoDataset split with one class label per video: `labels` [V] int (-1: none), `classes` [C] names."""

    source: VideoDataset
    labels: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self):
        if len(self.labels) != len(self.source.videos):
            raise ValueError(f"{len(self.labels)} labels for {len(self.source.videos)} videos")


def load(name: str, split: str, *, data_dir: epath.PathLike | None = None, manual_dir: epath.PathLike | None = None,
         **options) -> LabelledVideos:
    """Split `split` of the labelled dataset `name` (synthetic_actions, ssv2, ucf101), built on first use."""
    source = tfds_source.load(name, split, data_dir=data_dir, manual_dir=manual_dir, **options)
    cls = BUILDERS[name]
    metadata = cls(config=cls.make_config("videos", **options), data_dir=data_dir).info.metadata or {}
    if "labels" not in metadata or split not in metadata["labels"]:
        raise ValueError(f"{name}/{split}: the dataset stores no class labels (not an action recognition set)")
    return LabelledVideos(source, np.asarray(metadata["labels"][split], np.int32), tuple(metadata["classes"]))


class _FixedOffset:
    """An rng stand-in for `segment_indices` whose draws are all `u` (test clips at a fixed point of each segment)."""

    def __init__(self, u: float):
        self.u = u

    def random(self, n: int) -> np.ndarray:
        return np.full(n, self.u)


def clip_indices(n: int, config: ClipConfig, rng: np.random.Generator | None = None, clip: int = 0
                 ) -> tuple[np.ndarray, np.ndarray]:
    """([K, L] frame indices, [K] mask) of an n-frame video: random starts with `rng`, else test clip `clip`."""
    k, length = config.num_segments, min(config.snippet_len, n)
    starts = n - length + 1
    if starts < k:
        idx = np.zeros((k, config.snippet_len), np.int64)
        idx[:starts] = np.minimum(np.arange(starts)[:, None] + np.arange(config.snippet_len), n - 1)
        return idx, np.arange(k) < starts
    sampler = rng if rng is not None else _FixedOffset((clip + 0.5) / config.num_clips)
    idx = segment_indices(n, k, length, sampler)
    idx = np.concatenate([idx, np.repeat(idx[:, -1:], config.snippet_len - length, 1)], 1)  # L > n: last repeats
    return idx, np.ones(k, bool)


def _short_side(frame: np.ndarray, size: int) -> np.ndarray:
    """`frame` resized (INTER_AREA) so that its shorter side is `size` px."""
    h, w = frame.shape[:2]
    if min(h, w) == size:
        return frame
    scale = size / min(h, w)
    return cv2.resize(frame, (max(size, round(w * scale)), max(size, round(h * scale))), interpolation=cv2.INTER_AREA)


def _resize(frame: np.ndarray, size: int) -> np.ndarray:
    if not size or frame.shape[:2] == (size, size):
        return frame
    frame = _short_side(frame, size)
    top, left = (frame.shape[0] - size) // 2, (frame.shape[1] - size) // 2
    return frame[top:top + size, left:left + size]


def crop_view(frame: np.ndarray, size: int, crops: int, crop: int) -> np.ndarray:
    """View `crop` of `crops` (TEST_CROPS; module docstring) of a [H, W, C] frame; `size` 0: its shorter side."""
    if crops == 1:
        return _resize(frame, size)
    side = size or min(frame.shape[:2])
    frame = _short_side(frame, side if crops == 3 else round(side * TEN_CROP_SCALE))
    h, w = frame.shape[:2]
    if crops == 3:  # along the longer side: start, end, middle
        step = (max(h, w) - side) // 2
        top, left = ((0, (0, 2 * step, step)[crop]) if w >= h else ((0, 2 * step, step)[crop], 0))
    else:  # corners, centre; odd views mirrored
        ws, hs = (w - side) // 4, (h - side) // 4
        left, top = ((0, 0), (4 * ws, 0), (0, 4 * hs), (4 * ws, 4 * hs), (2 * ws, 2 * hs))[crop // 2]
    view = frame[top:top + side, left:left + side]
    return view[:, ::-1] if crops == 10 and crop % 2 else view


def _first_clip(video_index: int) -> tuple[int, int, int]:
    return video_index, 0, 0


@dataclasses.dataclass(frozen=True)
class _Example:
    """(absolute index, (video index, clip, view)) -> one clip example; training draws offsets from (seed, index)."""

    data: LabelledVideos
    config: ClipConfig
    seed: int
    train: bool

    def __call__(self, index: int, item) -> dict:
        video_index, clip, crop = (int(v) for v in item)
        n = len(self.data.source.videos[video_index])
        rng = np.random.default_rng([self.seed, int(index)]) if self.train else None
        idx, mask = clip_indices(n, self.config, rng, clip)
        crops = 1 if self.train else self.config.test_crops
        frames = [[crop_view(self.data.source.frame(video_index, int(t)), self.config.image_size, crops, crop)
                   for t in row] for row in idx]
        frames = np.stack([np.stack(row) for row in frames])
        frames[~mask] = 0
        return {"frames": frames, "mask": mask, "label": np.int32(self.data.labels[video_index]),
                "index": np.int32(video_index), "clip": np.int32(clip), "crop": np.int32(crop),
                "flip": np.bool_(crops == 10 and crop % 2 == 1)}


def clip_batches(data: LabelledVideos, config: ClipConfig = ClipConfig(), *, batch_size: int, seed: int = 0,
                 train: bool = True, num_epochs: int | None = None,
                 shard_options: grain.sharding.ShardOptions | None = None, num_threads: int = 0) -> grain.IterDataset:
    """Batches of this shard's clips (module docstring), deterministic given `seed`.

    train: reshuffled epochs, random segment offsets, full batches only (`num_epochs` None: forever). Otherwise
    every video's `num_clips` test clips in `test_crops` views each, in order, once, the last batch possibly
    smaller.
    shard_options: default `grain.sharding.ShardByJaxProcess(drop_remainder=train)`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    shard = shard_options or grain.sharding.ShardByJaxProcess(drop_remainder=train)
    videos = shard_indices(len(data.source.videos), shard)
    if not len(videos):
        raise ValueError(f"shard {shard.shard_index}/{shard.shard_count} of {len(data.source.videos)} videos is empty")
    if train:
        shard_seed = int(np.random.SeedSequence([seed, shard.shard_index]).generate_state(1)[0])
        ds = epoch_shuffle(videos, seed=shard_seed, num_epochs=num_epochs).map(_first_clip)
    else:
        items = [(v, c, crop) for v in videos for c in range(config.num_clips) for crop in range(config.test_crops)]
        ds = grain.MapDataset.source(items)
    ds = ds.map_with_index(_Example(data, config, seed, train))
    ds = ds.batch(batch_size, drop_remainder=train)
    return ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads))
