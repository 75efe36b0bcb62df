"""`--mode=bench`: microbenchmarks, one per config section present: `bench` (the operators, `kernels/bench.py`),
`temporal_bench` (TRN's sampled vs exhaustive tuples, `kernels.bench.temporal_run`),
`tracking_bench` (batched tracking of untrained trackers, `jaxtrack.track.batched.frames_per_second`) and
`data_bench` (input pipelines and frame features, `jaxtrack.data.bench`).

    python launch.py --experiment=kernel_bench --workdir=runs/bench
    python launch.py --experiment=temporal_bench --workdir=runs/temporal_bench
    python launch.py --experiment=data_bench --workdir=runs/data_bench --config.data_bench.source=memory
    python launch.py --experiment=tracking_bench --workdir=runs/tracking_bench --config.tracking_bench.tracker=siamfc
"""

from __future__ import annotations

import json
import time

import jax
import jax.numpy as jnp
import numpy as np
from etils import epath

from jaxtrack import config as config_lib
from jaxtrack import families
from jaxtrack.data import bench as data_bench
from jaxtrack.files import write_atomic
from jaxtrack.models import features
from jaxtrack.track import batched
from kernels import bench as kernel_bench


def tracking(config, workdir: str) -> list[dict]:
    """Frames/s of batched tracking of `tracking_bench.tracker` (an untrained model of `model_kwargs`, the family's
    published crops) at each of `num_sequences`; rows to `<workdir>/tracking_bench.json`."""
    cfg = config.tracking_bench
    family = families.get(cfg.tracker)
    model, settings = family.build(**cfg.model_kwargs.to_dict()), family.tracker
    z = jnp.zeros((1, settings.exemplar_size, settings.exemplar_size, 3))
    x = jnp.zeros((1, settings.instance_size, settings.instance_size, 3))
    variables = model.init(jax.random.key(0), z, x, jnp.ones((1, 2)))
    rows = []
    for n in cfg.num_sequences:
        fps = batched.frames_per_second(model, settings, variables, int(n), int(cfg.num_frames))
        rows.append({"tracker": cfg.tracker, "num_sequences": int(n), "frames_per_s": fps,
                     "backend": jax.default_backend()})
        print(f"{cfg.tracker} batch={n}: {fps:.1f} frames/s ({jax.default_backend()})")
    write_atomic(epath.Path(workdir) / "tracking_bench.json", json.dumps(rows, indent=1).encode())
    return rows


def data(config, workdir: str) -> dict:
    """Training pairs/s, frame features/s and summarization batches/s of `data_bench` options; the figures go to
    `<workdir>/data_bench.json`."""
    cfg = config.data_bench
    start = time.perf_counter()
    videos = data_bench.source(cfg.source, split=cfg.split, num_videos=cfg.num_videos,
                               data_dir=config_lib.data_dir(config, workdir), image_format=cfg.image_format)
    out = {"videos": len(videos.videos), "ready_s": time.perf_counter() - start}
    out["pairs_per_s"] = data_bench.pair_rate(videos, batch_size=cfg.batch_size, batches=cfg.batches,
                                              warmup=cfg.warmup, num_threads=cfg.num_threads,
                                              num_workers=cfg.num_workers, cv2_threads=cfg.cv2_threads)
    extractor = features.FrameFeatures()
    extractor(np.zeros((1, 8, 8, 3), np.uint8))  # compile outside the timing
    start = time.perf_counter()
    feats = features.video_features(videos, extractor, num_threads=cfg.num_threads)
    out["features_per_s"] = sum(len(f) for f in feats) / (time.perf_counter() - start)
    out["summ_batches_per_s"] = data_bench.summ_rate(videos, feats, batch_size=cfg.summ_batch_size,
                                                     batches=cfg.summ_batches)
    print(f"{cfg.source}: {out['pairs_per_s']:.0f} pairs/s (batch {cfg.batch_size}), frame features "
          f"({extractor.config.backbone}, {extractor.config.image_size}px) {out['features_per_s']:.0f} frames/s, "
          f"{out['summ_batches_per_s']:.0f} summarization batches/s (batch {cfg.summ_batch_size})")
    write_atomic(epath.Path(workdir) / "data_bench.json", json.dumps(out, indent=1).encode())
    return out


# config section -> benchmark
BENCHMARKS = {"bench": kernel_bench.run, "temporal_bench": kernel_bench.temporal_run, "tracking_bench": tracking,
              "data_bench": data}


def run(config, workdir: str) -> dict:
    """Runs the benchmark of every `BENCHMARKS` section the config has."""
    sections = [s for s in BENCHMARKS if s in config]
    if not sections:
        raise KeyError(f"--mode=bench needs a config section among {list(BENCHMARKS)}")
    return {s: BENCHMARKS[s](config, workdir) for s in sections}
