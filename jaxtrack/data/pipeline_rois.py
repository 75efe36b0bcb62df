"""DAT / RT-MDNet training batches: one frame crop per element with positive and negative RoIs sampled around the
ground-truth box by IoU (MDNet: positives >= 0.7, negatives < 0.5), as a deterministic grain pipeline.

One epoch holds `items_per_video` items per usable video (a valid box somewhere); item k of a video takes a frame
from TSN segment k of its valid frames. The crop is a square of side `sqrt(w h) / target_frac` around the target,
jittered in scale (`scale_jitter ** U(-1, 1)`) and shift (`shift_frac * crop_size * U(-1, 1)` px), resized to
`crop_size` (the tracker crops the same way around its last box, `jaxtrack.track.dat`). The element's domain is
the video's index among the usable videos (fc6 branch).

Element, batched along a new leading axis B by `roi_batches`:
  image    [S, S, 3] uint8      the crop (S = crop_size)
  box      [4] float32          the target in the crop, xywh crop pixels
  pos      [P, 4] float32       positive RoIs, xywh (P = num_pos; `box_samples` gaussian(0.1, 1.3), IoU >= pos_iou)
  neg      [Q, 4] float32       negative RoIs, xywh (Q = num_neg; uniform(1, 1.6), IoU < neg_iou)
  domain   int32                video index among the usable videos
"""

from __future__ import annotations

import dataclasses

import grain
import numpy as np

from jaxtrack import boxes
from jaxtrack.data import box_samples, crops, sampling
from jaxtrack.data.sources import VideoDataset


@dataclasses.dataclass(frozen=True)
class RoiConfig:
    """Crop and RoI sampling of `roi_batches` (module docstring); MDNet draws 32 positives and 96 negatives per
    frame of which 8 frames make a batch."""

    crop_size: int = 112
    target_frac: float = 0.3
    scale_jitter: float = 1.2
    shift_frac: float = 0.15
    num_pos: int = 16
    num_neg: int = 48
    pos_iou: float = 0.7
    neg_iou: float = 0.5
    items_per_video: int = 8

    def __post_init__(self):
        if self.crop_size < 32 or not 0 < self.target_frac <= 1 or self.num_pos < 1 or self.num_neg < 1:
            raise ValueError(f"RoiConfig needs crop_size >= 32, 0 < target_frac <= 1, num_pos, num_neg >= 1; got "
                             f"{self.crop_size}, {self.target_frac}, {self.num_pos}, {self.num_neg}")
        if not 0 < self.neg_iou <= self.pos_iou <= 1:
            raise ValueError(f"RoiConfig needs 0 < neg_iou <= pos_iou <= 1, got {self.neg_iou}, {self.pos_iou}")


def crop_side(box, target_frac: float) -> float:
    """Image side of the square crop around `box` [4] xywh in which the target's mean side is `target_frac` of
    the crop (training and tracking)."""
    return float(np.sqrt(max(box[2], 1.0) * max(box[3], 1.0))) / target_frac


def sample_rois(rng: np.random.Generator, box, config: RoiConfig, image_wh) -> tuple[np.ndarray, np.ndarray]:
    """(positives [P, 4], negatives [Q, 4]) float32 xywh around `box` in an image of `image_wh`."""
    pos = box_samples.sample(rng, box, config.num_pos, "gaussian", 0.1, 1.3, image_wh,
                             iou_range=(config.pos_iou, 1.0))
    neg = box_samples.sample(rng, box, config.num_neg, "uniform", 1.0, 1.6, image_wh,
                             iou_range=(0.0, config.neg_iou))
    return pos.astype(np.float32), neg.astype(np.float32)


class RoiSampler(grain.transforms.RandomMap):
    """Epoch item index (and a grain-seeded rng) -> one element; see the module docstring."""

    def __init__(self, source: VideoDataset, config: RoiConfig = RoiConfig()):
        self.source, self.config = source, config
        valid = [np.flatnonzero(v.valid()) for v in source.videos]
        self.usable = np.array([i for i, frames in enumerate(valid) if len(frames)], np.int64)
        self.valid = {int(i): valid[i] for i in self.usable}
        if not len(self.usable):
            raise ValueError(f"source: no video has a frame with a valid box ({len(valid)} videos)")

    def __len__(self) -> int:
        return len(self.usable) * self.config.items_per_video

    def random_map(self, index, rng: np.random.Generator) -> dict[str, np.ndarray]:
        cfg = self.config
        slot, segment = divmod(int(index), cfg.items_per_video)
        video = int(self.usable[slot])
        frames = self.valid[video]
        t = int(frames[sampling.segment_indices(len(frames), cfg.items_per_video, 1, rng)[segment, 0]])
        box = self.source.videos[video].boxes[t]
        s = cfg.scale_jitter ** rng.uniform(-1, 1)
        shift = tuple(cfg.shift_frac * cfg.crop_size * rng.uniform(-1, 1, 2))
        matrix = crops.crop_matrix(box, crop_side(box, cfg.target_frac), cfg.crop_size, scale=(s, s), shift=shift)
        image = crops.warp_crop(self.source.frame(video, t), matrix, cfg.crop_size)
        target = boxes.transform_box(box, matrix)
        pos, neg = sample_rois(rng, target, cfg, (cfg.crop_size, cfg.crop_size))
        return {"image": image, "box": target.astype(np.float32), "pos": pos, "neg": neg,
                "domain": np.int32(slot)}


def roi_batches(source: VideoDataset, config: RoiConfig = RoiConfig(), *, batch_size: int, seed: int,
                num_epochs: int | None = None, num_threads: int = 2) -> grain.IterDataset:
    """Batches of elements (leaves gain a leading [B] axis; the last partial batch dropped); deterministic given
    `seed`, checkpointable (`get_state` / `set_state`)."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    sampler = RoiSampler(source, config)
    order_seed, draw_seed = (int(s) for s in np.random.SeedSequence([seed, 1]).generate_state(2))
    ds = sampling.epoch_shuffle(np.arange(len(sampler)), seed=order_seed, num_epochs=num_epochs)
    ds = ds.random_map(sampler, seed=draw_seed)
    ds = ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=4 * batch_size))
    return ds.batch(batch_size, drop_remainder=True)
