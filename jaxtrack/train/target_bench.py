"""Target assignment for one batch: inside jit (jnp, as in the train step) vs on the host (numpy, as in the pipeline).

    python -m jaxtrack.train.target_bench --batch_size=32 --repeats=50

Prints milliseconds per batch (median of `--repeats`) of the anchor (SiamRPN++) and point (SiamBAN) targets:
  jit        the jitted jnp function on the default backend (device result ready, compile excluded)
  host       the numpy twin on the whole batch, uniforms drawn with numpy
  host/pair  the numpy twin called once per pair (what a per-element grain map does), summed over the batch
"""

from __future__ import annotations

import time

import jax
import numpy as np
from absl import app, flags

from jaxtrack.train import targets

FLAGS = flags.FLAGS
flags.DEFINE_integer("batch_size", 32, "pairs per batch")
flags.DEFINE_integer("repeats", 50, "timed batches (median reported)")
flags.DEFINE_float("neg_prob", 0.2, "fraction of negative pairs")


def random_batch(rng: np.random.Generator, n: int, neg_prob: float) -> tuple[np.ndarray, np.ndarray]:
    """Search boxes [n, 4] xywh (centre within 64 px of the crop centre, sides 12..180 px) and negative flags [n]."""
    wh = rng.uniform(12, 180, (n, 2))
    c = 127 + rng.uniform(-64, 64, (n, 2))
    return np.concatenate([c - wh / 2, wh], 1).astype(np.float32), rng.random(n) < neg_prob


def median_ms(fn, repeats: int) -> float:
    fn()  # compile / warm caches outside the timing
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def bench(name: str, jnp_fn, np_fn, grid_shape, gt, neg, repeats: int) -> None:
    rng, key = np.random.default_rng(1), jax.random.key(0)
    jitted = jax.jit(jnp_fn)
    jit_ms = median_ms(lambda: jax.block_until_ready(jitted(gt, neg, key)), repeats)
    host_ms = median_ms(lambda: np_fn(gt, neg, rng.random((len(gt), *grid_shape), np.float32)), repeats)
    pair_ms = median_ms(lambda: [np_fn(g, n, rng.random(grid_shape, np.float32)) for g, n in zip(gt, neg)], repeats)
    print(f"{name:7s} batch {len(gt)}: jit {jit_ms:7.3f} ms   host {host_ms:7.3f} ms   host/pair {pair_ms:7.3f} ms")


def main(argv) -> None:
    del argv
    gt, neg = random_batch(np.random.default_rng(0), FLAGS.batch_size, FLAGS.neg_prob)
    print(f"backend: {jax.default_backend()} ({jax.devices()[0].device_kind}), median of {FLAGS.repeats}")
    bench("anchors", targets.anchor_targets, targets.anchor_targets_np, targets.AnchorConfig().grid_shape,
          gt, neg, FLAGS.repeats)
    bench("points", targets.point_targets, targets.point_targets_np, targets.PointConfig().grid_shape,
          gt, neg, FLAGS.repeats)


if __name__ == "__main__":
    app.run(main)
