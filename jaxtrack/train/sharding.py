"""Data parallelism with `jax.sharding`: a 1-D mesh over all devices, axis "data".

The batch is split on its leading axis (`P("data")`); params and optimizer state are replicated (`P()`).
Multi-host: call `initialize_distributed` first; each process then feeds its own slice of the global batch
(`put_batch` assembles the global array with `jax.make_array_from_process_local_data`).
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA = "data"


def initialize_distributed(config: ml_collections.ConfigDict) -> bool:
    """`jax.distributed.initialize` when `config.distributed` is true and it has not run yet (launch.py's
    `--distributed` runs it first); returns whether it ran here.

    Optional `config.coordinator_address`, `config.num_processes`, `config.process_id` are passed on
    (None lets JAX detect them on TPU pods, SLURM and the like). Call before any other JAX call.
    """
    if not config.get("distributed", False) or jax.distributed.is_initialized():
        return False
    jax.distributed.initialize(coordinator_address=config.get("coordinator_address"),
                               num_processes=config.get("num_processes"), process_id=config.get("process_id"))
    return True


def make_mesh(num_devices: int | None = None) -> Mesh:
    """Mesh with axis "data" over the first `num_devices` of `jax.devices()` (all by default). The axis is Auto
    (jax.make_mesh defaults to Explicit, under which scatters inside a sharded step fail to find "data")."""
    devices = jax.devices()
    n = len(devices) if num_devices is None else num_devices
    if not 1 <= n <= len(devices):
        raise ValueError(f"num_devices must be in [1, {len(devices)}], got {num_devices}")
    return jax.make_mesh((n,), (DATA,), axis_types=(jax.sharding.AxisType.Auto,), devices=devices[:n])


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def batch_sharding(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P(DATA))


def put_replicated(tree, mesh: Mesh):
    """Copies every leaf of `tree` to all devices of `mesh`."""
    return jax.device_put(tree, replicated(mesh))


def put_batch(batch, mesh: Mesh):
    """Host batch of this process (leaves [B_local, ...]) -> global arrays [B_local * process_count, ...].

    B_local must be divisible by the number of this process's devices in `mesh`.
    """
    local = len(mesh.local_devices)
    sharding = batch_sharding(mesh)

    def put(path, x):
        x = np.asarray(x)
        if x.ndim == 0 or x.shape[0] % local:
            raise ValueError(f"batch leaf '{jax.tree_util.keystr(path)}': leading axis must be divisible by the "
                             f"{local} local devices, got shape {x.shape}")
        return jax.make_array_from_process_local_data(sharding, x)

    return jax.tree_util.tree_map_with_path(put, batch)
