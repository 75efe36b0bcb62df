"""Input-pipeline throughput on the synthetic dataset: training pairs/s and summarization batches/s.

`launch.py --experiment=data_bench` runs these (with frame features/s) through `--mode=bench`. The TFDS source
builds the `synthetic_videos` split with `num_videos` videos on first use; pairs use `PairConfig()` (pysot
augmentation, 127/255 crops, negatives); a rate is items delivered per wall-clock second after `warmup` batches.
"""

from __future__ import annotations

import time

import grain

from jaxtrack.data import pipeline_pairs, pipeline_summ, synthetic, tfds_source
from jaxtrack.data.sources import InMemoryVideos, VideoDataset


def source(kind: str, *, split: str, num_videos: int, data_dir: str, image_format: str = "jpeg") -> VideoDataset:
    """`num_videos` synthetic videos of `split`, generated in memory (`kind` "memory") or read through the TFDS
    array_record source (`kind` "tfds", built under `data_dir` on first use)."""
    if kind == "memory":
        return InMemoryVideos(synthetic.make_videos(num_videos, seed=0, split=split))
    if kind != "tfds":
        raise ValueError(f"data_bench.source must be 'memory' or 'tfds', got {kind!r}")
    counts = {"num_train": 0, "num_val": 0, "num_test": 0, f"num_{split}": num_videos}
    return tfds_source.load("synthetic_videos", split, data_dir=data_dir, num_workers=2, image_format=image_format,
                            **counts)


def rate(iterator, batches: int, warmup: int, size) -> float:
    """Items per second over `batches` batches of `iterator` after `warmup`; `size(batch)` counts items."""
    for _ in range(warmup):
        next(iterator)
    start, items = time.perf_counter(), 0
    for _ in range(batches):
        items += size(next(iterator))
    return items / (time.perf_counter() - start)


def pair_rate(videos: VideoDataset, *, batch_size: int, batches: int, warmup: int, num_threads: int,
              num_workers: int, cv2_threads: int) -> float:
    """Training pairs per second of the grain pair pipeline."""
    it = iter(pipeline_pairs.pair_batches(
        videos, batch_size=batch_size, seed=0, shard_options=grain.sharding.NoSharding(), num_threads=num_threads,
        num_workers=num_workers, cv2_threads=cv2_threads))
    try:
        return rate(it, batches, warmup, lambda b: len(b["negative"]))
    finally:
        it.close()


def summ_rate(videos: VideoDataset, features, *, batch_size: int, batches: int) -> float:
    """Summarization batches per second over per-video `features` [N_i, D]."""
    it = iter(pipeline_summ.summ_batches(videos, batch_size=batch_size, features=features, num_epochs=None,
                                         shard_options=grain.sharding.NoSharding()))
    return rate(it, batches, 1, lambda b: 1)
