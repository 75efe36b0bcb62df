"""Device peaks for roofline percentages: measured probes on CPU, spec sheets for GPUs/TPUs."""

from __future__ import annotations

import dataclasses
import time

import jax
import jax.numpy as jnp
import numpy as np


@dataclasses.dataclass(frozen=True)
class Peak:
    """Peak compute (GFLOP/s, per dtype name) and memory bandwidth (GB/s) of one device."""

    device: str
    gflops: dict[str, float]
    gbps: float
    source: str  # "probe" or "spec"


# Dense peaks from vendor spec sheets (no sparsity): GFLOP/s for f32 (non tensor-core) and bf16, GB/s HBM.
SPECS = {
    "H200": ({"float32": 67_000, "bfloat16": 989_000}, 4_800),
    "H100": ({"float32": 67_000, "bfloat16": 989_000}, 3_350),
    "A100": ({"float32": 19_500, "bfloat16": 312_000}, 2_039),
    "TPU v4": ({"float32": 275_000, "bfloat16": 275_000}, 1_200),
    "TPU v5 lite": ({"float32": 197_000, "bfloat16": 197_000}, 819),
    "TPU v5p": ({"float32": 459_000, "bfloat16": 459_000}, 2_765),
}


def _median_s(fn, *args, runs: int = 5) -> float:
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def probe_cpu(n: int = 2048, mbytes: int = 256) -> Peak:
    """Matmul probe (n x n x n, f32 and bf16) for compute; a read pass (sum) over `mbytes` for bandwidth."""
    gflops = {}
    for dtype in (jnp.float32, jnp.bfloat16):
        a = jnp.ones((n, n), dtype)
        gflops[jnp.dtype(dtype).name] = 2 * n**3 / _median_s(jax.jit(lambda a: a @ a), a) / 1e9
    x = jnp.ones((mbytes * 2**20 // 4,), jnp.float32)
    gbps = x.nbytes / _median_s(jax.jit(jnp.sum), x) / 1e9
    return Peak(jax.devices()[0].device_kind, gflops, gbps, "probe")


def device_peak() -> Peak:
    """The current default device's peaks (probe on CPU; spec table elsewhere, probe if unknown)."""
    kind = jax.devices()[0].device_kind
    if jax.default_backend() != "cpu":
        for name, (gflops, gbps) in SPECS.items():
            if name.lower() in kind.lower():
                return Peak(kind, gflops, gbps, "spec")
    return probe_cpu()
