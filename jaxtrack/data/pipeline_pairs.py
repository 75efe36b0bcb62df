"""Siamese training pairs (SiamFC / pysot) as a deterministic, sharded, checkpointable grain pipeline.

One epoch holds `pairs_per_video` items per usable video (a video is usable when it has at least one
frame with a valid box, `Video.valid()`; the others are skipped and counted in the log). Item k of a
video takes its template frame from TSN segment k of the video's valid frames (`sampling`), so an
epoch covers each video evenly. A positive pair takes the search frame uniformly among the valid
frames within `frame_range` of the template (the template frame itself included, as in pysot); with
probability `neg_prob` the search frame is a random valid frame of another video instead.

Element (one pair), batched along a new leading axis B by `pair_batches`:
  template      [127, 127, 3] uint8   template crop (`template_size`)
  search        [255, 255, 3] uint8   search crop (`search_size`)
  template_box  [4] float32           target box in the template crop, xywh crop pixels
  search_box    [4] float32           box of the search frame's target in the search crop, xywh
  negative      bool                  search frame from another video
  template_id   [2] int32             (video index, frame index) of the template in the source
  search_id     [2] int32             (video index, frame index) of the search frame
  search_mask   [255, 255] uint8      with `PairConfig.masks` only: the search frame's target mask (label map > 0)
                                      warped by the search crop's matrix (bilinear, > 0.5), 1 = target
"""

from __future__ import annotations

import dataclasses
import functools

import cv2
import grain
import numpy as np
from absl import logging

from jaxtrack import boxes
from jaxtrack.data import augment, crops, sampling
from jaxtrack.data.sources import VideoDataset


@dataclasses.dataclass(frozen=True)
class PairConfig:
    """Pair sampling and cropping; defaults are pysot's (SiamRPN++) training settings.

    Attributes:
      template_size, search_size: crop sides in pixels (127, 255).
      context: context amount of the template side `s_z` (0.5).
      frame_range: max |t_search - t_template| in frames for positive pairs (pysot VID: 100). A maximum, as
        in pysot/SiamFC: a video shorter than the range pairs any two of its valid frames (not an error).
      neg_prob: probability of a negative pair (pysot `DATASET.NEG`).
      gray_prob: probability of turning both crops of a pair gray (pysot `DATASET.GRAY`).
      pairs_per_video: items (TSN template segments) per usable video and epoch.
      template_aug, search_aug: crop augmentation (pysot `DATASET.TEMPLATE` / `DATASET.SEARCH`).
      masks: add `search_mask` to each pair (SiamMask); the source must hold masks (`VideoDataset.mask`).
    """

    template_size: int = 127
    search_size: int = 255
    context: float = 0.5
    frame_range: int = 100
    neg_prob: float = 0.2
    gray_prob: float = 0.0
    pairs_per_video: int = 1
    template_aug: augment.AugmentConfig = augment.TEMPLATE_AUG
    search_aug: augment.AugmentConfig = augment.SEARCH_AUG
    masks: bool = False

    def __post_init__(self):
        for name in ("neg_prob", "gray_prob"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"PairConfig.{name} is a probability in [0, 1], got {getattr(self, name)}")
        if self.frame_range < 0 or self.pairs_per_video < 1:
            raise ValueError(f"PairConfig needs frame_range >= 0 and pairs_per_video >= 1, "
                             f"got {self.frame_range}, {self.pairs_per_video}")


class PairSampler(grain.transforms.RandomMap):
    """Maps an epoch item index (and a grain-seeded rng) to one pair; see the module docstring."""

    def __init__(self, source: VideoDataset, config: PairConfig = PairConfig()):
        self.source, self.config = source, config
        valid = [np.flatnonzero(v.valid()) for v in source.videos]
        self.usable = np.array([i for i, frames in enumerate(valid) if len(frames)], np.int64)
        self.valid = {int(i): valid[i] for i in self.usable}
        self.skipped = len(valid) - len(self.usable)
        if self.skipped:
            logging.warning("pairs: skipped %d of %d videos without a valid box", self.skipped, len(valid))
        if not len(self.usable):
            raise ValueError(f"source: no video has a frame with a valid box ({len(valid)} videos)")
        if config.neg_prob > 0 and len(self.usable) < 2:
            raise ValueError(f"neg_prob={config.neg_prob} needs >= 2 usable videos, got {len(self.usable)}")
        if config.masks:
            first = int(self.usable[0])
            if getattr(source, "mask", None) is None or source.mask(first, int(self.valid[first][0])) is None:
                raise ValueError(f"data.pairs.masks=True: the source holds no target masks (video "
                                 f"{source.videos[first].name!r} has none); use a dataset with masks "
                                 f"(synthetic_videos) or masks=False")

    def __len__(self) -> int:
        return len(self.usable) * self.config.pairs_per_video

    def random_map(self, index, rng: np.random.Generator) -> dict[str, np.ndarray]:
        cfg = self.config
        slot, segment = divmod(int(index), cfg.pairs_per_video)
        video = int(self.usable[slot])
        frames = self.valid[video]
        t_z = int(frames[sampling.segment_indices(len(frames), cfg.pairs_per_video, 1, rng)[segment, 0]])
        negative = bool(rng.random() < cfg.neg_prob)
        to_gray = bool(rng.random() < cfg.gray_prob)
        if negative:
            other = int(rng.integers(len(self.usable) - 1))
            search_video = int(self.usable[other + (other >= slot)])
            t_x = int(rng.choice(self.valid[search_video]))
        else:
            search_video = video
            t_x = int(rng.choice(frames[np.abs(frames - t_z) <= cfg.frame_range]))
        template, template_box, _ = self._crop(video, t_z, cfg.template_size, cfg.template_aug, rng, to_gray)
        search, search_box, matrix = self._crop(search_video, t_x, cfg.search_size, cfg.search_aug, rng, to_gray)
        pair = {"template": template, "search": search,
                "template_box": template_box.astype(np.float32), "search_box": search_box.astype(np.float32),
                "negative": np.bool_(negative),
                "template_id": np.array([video, t_z], np.int32), "search_id": np.array([search_video, t_x], np.int32)}
        if cfg.masks:
            pair["search_mask"] = crops.warp_mask(self.source.mask(search_video, t_x), matrix, cfg.search_size)
        return pair

    def _crop(self, video: int, t: int, size: int, aug: augment.AugmentConfig, rng, to_gray: bool):
        box = self.source.videos[video].boxes[t]
        d = augment.draw(aug, rng)
        side = crops.crop_side(box, size, context=self.config.context, template_size=self.config.template_size)
        matrix = crops.crop_matrix(box, side, size, scale=d.scale, shift=d.shift, flip=d.flip)
        crop = crops.warp_crop(self.source.frame(video, t), matrix, size)
        return augment.photometric(crop, d, to_gray=to_gray), boxes.transform_box(box, matrix), matrix


def pair_dataset(source: VideoDataset, config: PairConfig = PairConfig(), *, seed: int,
                 num_epochs: int | None = None) -> grain.MapDataset:
    """All pairs as a grain MapDataset (the global stream): the epoch's items shuffled and re-augmented each
    epoch, `num_epochs=None` repeating forever. Deterministic given `seed`; element i depends on i only."""
    sampler = PairSampler(source, config)
    order_seed, augment_seed = (int(s) for s in np.random.SeedSequence([seed, 0]).generate_state(2))
    items = np.arange(len(sampler))
    return sampling.epoch_shuffle(items, seed=order_seed, num_epochs=num_epochs).random_map(sampler, seed=augment_seed)


class _ShardRows:
    """Position k of shard `index` of `count` -> element of `stream`: row k % B of global batch k // B, whose
    shard rows start at `index * B` (B = `batch_size`, the global batch holds `count * B` rows)."""

    def __init__(self, stream: grain.MapDataset, batch_size: int, index: int, count: int):
        self.stream, self.batch_size, self.index, self.count = stream, batch_size, index, count

    def __call__(self, k: int):
        batch, row = divmod(int(k), self.batch_size)
        return self.stream[(batch * self.count + self.index) * self.batch_size + row]


def set_cv2_threads(num_threads: int, *_worker_info) -> None:
    """`cv2.setNumThreads` (process-wide); also a grain `worker_init_fn` (extra worker args ignored)."""
    cv2.setNumThreads(num_threads)


def pair_batches(source: VideoDataset, config: PairConfig = PairConfig(), *, batch_size: int, seed: int,
                 num_epochs: int | None = None, shard_options: grain.sharding.ShardOptions | None = None,
                 num_threads: int = 4, num_workers: int = 0, cv2_threads: int = 1) -> grain.IterDataset:
    """Batches of pairs (leaves gain a leading [B] axis; last partial batch dropped).

    Sharding (`shard_options`, default `grain.sharding.ShardByJaxProcess()`): the `shard_count` shards split
    each global batch of `shard_count * batch_size` pairs of `pair_dataset`, shard i taking rows
    [i * B, (i + 1) * B). So N processes with batch B each see together exactly the batches of one process
    with batch N * B (same pairs, same augmentation); `drop_remainder` is implied (no partial global batch).
    `iter(...)` gives a grain DatasetIterator whose `get_state()` / `set_state()` resume mid-epoch.
    Parallelism: `num_threads` grain reader threads per process (any count gives the same batches),
    `num_workers` grain worker processes (0 = none; each batches its own slice, so batches are
    deterministic for a fixed `num_workers` but differ between counts); `cv2_threads` is set with
    `cv2.setNumThreads` here and in every worker.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    set_cv2_threads(cv2_threads)
    ds = pair_dataset(source, config, seed=seed, num_epochs=num_epochs)
    shard = shard_options or grain.sharding.ShardByJaxProcess()
    if shard.shard_count > 1:
        rows = len(ds) // (batch_size * shard.shard_count) * batch_size
        if not rows:
            raise ValueError(f"{len(ds)} pairs do not fill one global batch of {shard.shard_count} shards x "
                             f"{batch_size}")
        ds = grain.MapDataset.range(rows).map(_ShardRows(ds, batch_size, shard.shard_index, shard.shard_count))
    ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=4 * batch_size))
    ds = ds.batch(batch_size, drop_remainder=True)
    if num_workers:
        ds = ds.mp_prefetch(grain.MultiprocessingOptions(num_workers=num_workers),
                            worker_init_fn=functools.partial(set_cv2_threads, cv2_threads))
    return ds
