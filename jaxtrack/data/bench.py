"""Input-pipeline throughput on the synthetic dataset: training pairs/s, frame features/s, summarization batches/s.

    python -m jaxtrack.data.bench --data_dir=/tmp/tfds   # through the TFDS (array_record, JPEG) source
    python -m jaxtrack.data.bench --source=memory        # generated videos held in memory

The TFDS source builds the `synthetic_videos` split with `--num_videos` videos on first use.

Pairs use `PairConfig()` (pysot augmentation, 127/255 crops, negatives); the figure is pairs delivered
by the grain iterator per wall-clock second after `--warmup` batches.
"""

from __future__ import annotations

import time

import grain
import numpy as np
from absl import app, flags

from jaxtrack.data import features, pipeline_pairs, pipeline_summ, synthetic
from jaxtrack.data.sources import InMemoryVideos, VideoDataset

FLAGS = flags.FLAGS
flags.DEFINE_enum("source", "tfds", ["tfds", "memory"], "read frames through the TFDS source or from memory")
flags.DEFINE_string("tfds_name", "synthetic_videos", "TFDS dataset name (--source=tfds)")
flags.DEFINE_string("split", "train", "split")
flags.DEFINE_string("data_dir", None, "TFDS data_dir (--source=tfds)")
flags.DEFINE_enum("image_format", "jpeg", ["png", "jpeg"], "stored frame encoding (--source=tfds)")
flags.DEFINE_integer("num_videos", 32, "videos of --split to generate (memory) or to build the TFDS split with")
flags.DEFINE_integer("batch_size", 32, "pairs per batch")
flags.DEFINE_integer("batches", 40, "timed pair batches")
flags.DEFINE_integer("warmup", 3, "untimed batches first")
flags.DEFINE_integer("num_threads", 4, "grain reader threads per process (and frame-reading threads for features)")
flags.DEFINE_integer("num_workers", 0, "grain worker processes (0 = none)")
flags.DEFINE_integer("cv2_threads", 1, "cv2.setNumThreads in every process")
flags.DEFINE_integer("summ_batch_size", 8, "videos per summarization batch")
flags.DEFINE_integer("summ_batches", 50, "timed summarization batches")


def memory_source() -> VideoDataset:
    return InMemoryVideos(synthetic.make_videos(FLAGS.num_videos, seed=0, split=FLAGS.split))


def tfds_source() -> VideoDataset:
    from jaxtrack.data import tfds_source as tfds_module

    counts = {"num_train": 0, "num_val": 0, "num_test": 0, f"num_{FLAGS.split}": FLAGS.num_videos}
    return tfds_module.load(FLAGS.tfds_name, FLAGS.split, data_dir=FLAGS.data_dir, num_workers=2,
                            image_format=FLAGS.image_format, **counts)


SOURCES = {"memory": memory_source, "tfds": tfds_source}


def rate(iterator, batches: int, warmup: int, size) -> float:
    """Items per second over `batches` batches of `iterator` after `warmup`; `size(batch)` counts items."""
    for _ in range(warmup):
        next(iterator)
    start, items = time.perf_counter(), 0
    for _ in range(batches):
        items += size(next(iterator))
    return items / (time.perf_counter() - start)


def main(argv) -> None:
    del argv
    start = time.perf_counter()
    source = SOURCES[FLAGS.source]()
    print(f"source={FLAGS.source}: {len(source.videos)} videos ready in {time.perf_counter() - start:.1f} s")
    ds = pipeline_pairs.pair_batches(
        source, batch_size=FLAGS.batch_size, seed=0, shard_options=grain.sharding.NoSharding(),
        num_threads=FLAGS.num_threads, num_workers=FLAGS.num_workers, cv2_threads=FLAGS.cv2_threads)
    it = iter(ds)
    pairs = rate(it, FLAGS.batches, FLAGS.warmup, lambda b: len(b["negative"]))
    it.close()
    print(f"pairs/s: {pairs:.0f}  (batch {FLAGS.batch_size}, threads {FLAGS.num_threads}, "
          f"workers {FLAGS.num_workers}, cv2 threads {FLAGS.cv2_threads}, {FLAGS.batches} batches)")

    extractor = features.FrameFeatures()
    extractor(np.zeros((1, 8, 8, 3), np.uint8))  # compile outside the timing
    start = time.perf_counter()
    feats = features.video_features(source, extractor, num_threads=FLAGS.num_threads)
    seconds = time.perf_counter() - start
    frames = sum(len(f) for f in feats)
    print(f"frame features ({extractor.config.backbone}, {extractor.config.image_size}px, D={extractor.dim}): "
          f"{frames / seconds:.0f} frames/s ({frames} frames, {seconds:.1f} s)")

    summ = iter(pipeline_summ.summ_batches(source, batch_size=FLAGS.summ_batch_size, features=feats,
                                           num_epochs=None, shard_options=grain.sharding.NoSharding()))
    batches = rate(summ, FLAGS.summ_batches, 1, lambda b: 1)
    print(f"summarization batches/s: {batches:.0f}  (batch {FLAGS.summ_batch_size} videos)")


if __name__ == "__main__":
    app.run(main)
