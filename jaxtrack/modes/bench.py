"""`--mode=bench`: microbenchmarks, one per config section present: `bench` (the operators, `kernels/bench.py`) and
`tracking_bench` (batched tracking of untrained trackers, `jaxtrack.track.batched.frames_per_second`).

    python launch.py --experiment=kernel_bench --workdir=runs/bench
    python launch.py --experiment=tracking_bench --workdir=runs/tracking_bench --config.tracking_bench.tracker=siamfc
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
from etils import epath

from jaxtrack import families
from jaxtrack.files import write_atomic
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


BENCHMARKS = {"bench": kernel_bench.run, "tracking_bench": tracking}  # config section -> benchmark


def run(config, workdir: str) -> dict:
    """Runs the benchmark of every `BENCHMARKS` section the config has."""
    sections = [s for s in BENCHMARKS if s in config]
    if not sections:
        raise KeyError(f"--mode=bench needs a config section among {list(BENCHMARKS)}")
    return {s: BENCHMARKS[s](config, workdir) for s in sections}
