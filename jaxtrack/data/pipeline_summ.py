"""Summarization batches (dppLSTM / vsLSTM) as a deterministic, sharded, checkpointable grain pipeline.

Per video, over its N steps (`picks`, or every frame when a video has none):
  features   [N, D] float32  frame features (`Video.features`, or given, e.g. `features.video_features`)
  scores     [N] float32     importance: `gt_score`, else the users' mean score min-max normalised to [0, 1]
  keyframes  [N] bool        frames in the summaries of at least `keyframe_threshold` of the users
  picks      [N] int32       frame index of each step
and, on the video's F = n_frames frames, `user_summaries` [U, F] uint8 and `change_points` [S, 2] int32.

A batch pads every axis and says with a bool mask which entries are real:
  features [B, T, D] (0.0), scores [B, T] (0.0), keyframes [B, T] (False), picks [B, T] (-1),
  mask [B, T]; user_summaries [B, U, Fb] (0), user_mask [B, U], frame_mask [B, Fb];
  change_points [B, S, 2] (-1), segment_mask [B, S]; length [B], n_frames [B], index [B] (video index),
with T = `bucket_length(max N)`, Fb = `bucket_length(max F)` over the batch (so a jitted model sees one
shape per bucket) and U, S the batch maxima (they feed numpy evaluation, not the model).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence

import grain
import numpy as np

from jaxtrack.data.sampling import epoch_shuffle, shard_indices
from jaxtrack.data.sources import VideoDataset
from jaxtrack.data.video import Video

PAD = {"features": 0.0, "scores": 0.0, "keyframes": False, "picks": -1, "user_summaries": 0, "change_points": -1}


@dataclasses.dataclass(frozen=True)
class SummConfig:
    """Attributes: buckets (increasing padded lengths; longer sequences round up to a multiple of the
    last), keyframe_threshold (fraction of users that must select a frame for a keyframe label)."""

    buckets: tuple[int, ...] = (64, 128, 256, 512, 1024)
    keyframe_threshold: float = 0.5

    def __post_init__(self):
        if not self.buckets or list(self.buckets) != sorted(set(self.buckets)) or self.buckets[0] < 1:
            raise ValueError(f"SummConfig.buckets must be strictly increasing positive lengths, got {self.buckets}")


def bucket_length(n: int, buckets: Sequence[int]) -> int:
    """The smallest bucket >= n, or n rounded up to a multiple of the largest bucket."""
    fits = [b for b in buckets if b >= n]
    return fits[0] if fits else -(-n // buckets[-1]) * buckets[-1]


def video_example(video: Video, features: np.ndarray | None, *, keyframe_threshold: float = 0.5) -> dict:
    """The unpadded arrays of one video (module docstring); `features` [N, D] overrides `video.features`."""
    feats = video.features if features is None else features
    picks = np.arange(len(video)) if video.picks is None else np.asarray(video.picks)
    if feats is None:
        raise ValueError(f"video {video.name!r}: no features (compute them with jaxtrack.models.features)")
    if video.user_summaries is None:
        raise ValueError(f"video {video.name!r}: user_summaries are needed for keyframe labels")
    if feats.ndim != 2 or len(feats) != len(picks):
        raise ValueError(f"video {video.name!r}: features must be [{len(picks)}, D], got {feats.shape}")
    if video.gt_score is not None:
        scores = np.asarray(video.gt_score, np.float32)
    elif video.user_scores is not None:
        mean = video.user_scores[:, picks].mean(0)
        scores = (mean - mean.min()) / max(float(mean.max() - mean.min()), 1e-12)
    else:
        raise ValueError(f"video {video.name!r}: needs gt_score or user_scores for importance scores")
    if scores.shape != picks.shape:
        raise ValueError(f"video {video.name!r}: gt_score must be [{len(picks)}], got {scores.shape}")
    cps = np.zeros((0, 2), np.int32) if video.change_points is None else video.change_points
    return {"features": np.asarray(feats, np.float32), "scores": scores.astype(np.float32),
            "keyframes": video.user_summaries[:, picks].astype(np.float32).mean(0) >= keyframe_threshold,
            "picks": picks.astype(np.int32), "user_summaries": np.asarray(video.user_summaries, np.uint8),
            "change_points": np.asarray(cps, np.int32).reshape(-1, 2)}


def _pad(a: np.ndarray, shape: Sequence[int], value) -> np.ndarray:
    out = np.full(shape, value, a.dtype)
    out[tuple(slice(0, n) for n in a.shape)] = a
    return out


def pad_batch(examples: Sequence[dict], buckets: Sequence[int]) -> dict[str, np.ndarray]:
    """Stacks `video_example`s (plus "index") into one padded batch with masks (module docstring)."""
    lengths = np.array([len(e["picks"]) for e in examples], np.int32)
    n_frames = np.array([e["user_summaries"].shape[1] for e in examples], np.int32)
    users = np.array([len(e["user_summaries"]) for e in examples])
    segments = np.array([len(e["change_points"]) for e in examples])
    t, f = bucket_length(int(lengths.max()), buckets), bucket_length(int(n_frames.max()), buckets)
    dim = examples[0]["features"].shape[1]
    shapes = {"features": (t, dim), "scores": (t,), "keyframes": (t,), "picks": (t,),
              "user_summaries": (users.max(), f), "change_points": (segments.max(), 2)}
    batch = {k: np.stack([_pad(e[k], shape, PAD[k]) for e in examples]) for k, shape in shapes.items()}
    batch["mask"] = np.arange(t) < lengths[:, None]
    batch["frame_mask"] = np.arange(f) < n_frames[:, None]
    batch["user_mask"] = np.arange(users.max()) < users[:, None]
    batch["segment_mask"] = np.arange(segments.max()) < segments[:, None]
    batch.update(length=lengths, n_frames=n_frames, index=np.array([e["index"] for e in examples], np.int32))
    return batch


@dataclasses.dataclass(frozen=True)
class _Example:
    """Video index -> its `video_example` plus "index" (a picklable grain map function)."""

    videos: Sequence[Video]
    features: Sequence[np.ndarray] | None
    keyframe_threshold: float

    def __call__(self, index) -> dict:
        i = int(index)
        feats = None if self.features is None else self.features[i]
        example = video_example(self.videos[i], feats, keyframe_threshold=self.keyframe_threshold)
        return {**example, "index": i}


def summ_batches(source: VideoDataset, config: SummConfig = SummConfig(), *, batch_size: int, seed: int = 0,
                 features: Sequence[np.ndarray] | None = None, shuffle: bool = True, num_epochs: int | None = 1,
                 drop_remainder: bool = False, shard_options: grain.sharding.ShardOptions | None = None,
                 num_threads: int = 0) -> grain.IterDataset:
    """Padded batches of this shard's videos (module docstring); deterministic given `seed`.

    features: per-video [N_i, D] arrays in `source.videos` order (default: each `Video.features`).
    shuffle: reshuffle every epoch (training) or keep video order (evaluation).
    num_epochs: None repeats forever. drop_remainder: drop a last partial batch (else it has < B rows).
    shard_options: default `grain.sharding.ShardByJaxProcess(drop_remainder=False)`; shards are disjoint.
    `iter(...)` gives a grain DatasetIterator with `get_state()` / `set_state()`.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if features is not None and len(features) != len(source.videos):
        raise ValueError(f"features must hold one array per video ({len(source.videos)}), got {len(features)}")
    shard = shard_options or grain.sharding.ShardByJaxProcess(drop_remainder=False)
    items = shard_indices(len(source.videos), shard)
    if not len(items):
        raise ValueError(f"shard {shard.shard_index}/{shard.shard_count} of {len(source.videos)} videos is empty")
    shard_seed = int(np.random.SeedSequence([seed, shard.shard_index]).generate_state(1)[0])
    ds = epoch_shuffle(items, seed=shard_seed, num_epochs=num_epochs) if shuffle else \
        grain.MapDataset.source(items).repeat(num_epochs)
    ds = ds.map(_Example(source.videos, features, config.keyframe_threshold))
    ds = ds.batch(batch_size, drop_remainder=drop_remainder,
                  batch_fn=functools.partial(pad_batch, buckets=config.buckets))
    return ds.to_iter_dataset(grain.ReadOptions(num_threads=num_threads))
