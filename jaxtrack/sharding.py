"""Data parallelism with `jax.sharding`: a 1-D mesh over all devices, axis "data".

The batch is split on its leading axis (`P("data")`); params and optimizer state are replicated (`P()`).
Multi-host: call `initialize_distributed` first; each process then feeds its own slice of the global batch
(`put_batch` assembles the global array with `jax.make_array_from_process_local_data`). Work that is not one
SPMD program (evaluation, tracking) is split with `process_share` and collected with `gather_shares`.
"""

from __future__ import annotations

import pickle
from collections.abc import Sequence

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

DATA = "data"


def initialize_distributed(coordinator_address: str | None = None, num_processes: int | None = None,
                           process_id: int | None = None) -> None:
    """`jax.distributed.initialize` (the one call: launch.py's `--distributed`), before any other JAX call. None
    lets JAX detect the coordinator and ids (TPU pods, SLURM and the like)."""
    jax.distributed.initialize(coordinator_address=coordinator_address, num_processes=num_processes,
                               process_id=process_id)


def make_mesh(num_devices: int | None = None) -> Mesh:
    """Mesh with axis "data" over the first `num_devices` of `jax.devices()` (all by default). The axis is Auto
    (jax.make_mesh defaults to Explicit, under which scatters inside a sharded step fail to find "data")."""
    devices = jax.devices()
    n = len(devices) if num_devices is None else num_devices
    if not 1 <= n <= len(devices):
        raise ValueError(f"num_devices must be in [1, {len(devices)}], got {num_devices}")
    return jax.make_mesh((n,), (DATA,), axis_types=(jax.sharding.AxisType.Auto,), devices=devices[:n])


def local_part(mesh: Mesh) -> Mesh:
    """The 1-D "data" mesh over this process's devices of `mesh` (in `mesh`'s order)."""
    return jax.make_mesh((len(mesh.local_devices),), (DATA,), axis_types=(jax.sharding.AxisType.Auto,),
                         devices=mesh.local_devices)


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


def process_share(n: int) -> np.ndarray:
    """Indices in [0, n) this process handles: i with i % process_count == process_index (round robin)."""
    return np.arange(jax.process_index(), n, jax.process_count())


def gather_objects(obj) -> list:
    """[obj of process 0, ..., obj of process P-1] on every process (any picklable `obj`; a collective: every
    process must call it). The pickles, of different sizes, are zero-padded to the longest and allgathered."""
    if jax.process_count() == 1:
        return [obj]
    data = np.frombuffer(pickle.dumps(obj), np.uint8)
    sizes = np.asarray(multihost_utils.process_allgather(np.int32(data.size))).reshape(-1)
    padded = np.zeros(int(sizes.max()), np.uint8)
    padded[:data.size] = data
    rows = np.asarray(multihost_utils.process_allgather(padded))  # [P, max size]
    return [pickle.loads(rows[p, :size].tobytes()) for p, size in enumerate(sizes)]


def gather_shares(values: Sequence, n: int) -> list:
    """Inverse of `process_share`: this process's `values` (one per index of `process_share(n)`, in order) ->
    the n values of all processes, in index order, on every process (a collective)."""
    count = jax.process_count()
    out = [None] * n
    for p, share in enumerate(gather_objects(list(values))):
        indices = range(p, n, count)
        if len(share) != len(indices):
            raise ValueError(f"process {p} gave {len(share)} values for its share of {len(indices)} of {n}")
        for i, v in zip(indices, share):
            out[i] = v
    return out


def barrier(name: str) -> None:
    """Waits until every process reaches `barrier(name)` (no-op with one process)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)
