"""What the Pallas kernels share, in plain jax: `kernels/` is a leaf and imports nothing from `jaxtrack`
(`jaxtrack.ops` imports from here: `acc_dtype` is the one accumulation-dtype rule of every operator)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.experimental.pallas import triton as plgpu


def acc_dtype(*arrays):
    """The accumulation dtype: float32 for bf16/f16/f32 inputs, float64 for float64 inputs."""
    return jnp.promote_types(jnp.result_type(*arrays), jnp.float32)


def check_blocks(op: str, blocks, **sizes: int) -> None:
    """Every named block size must be a positive power of two (`blocks` is only quoted in the error)."""
    for name, n in sizes.items():
        if n < 1 or n & (n - 1):
            raise ValueError(f"{op}: {name} must be a positive power of two, got {name}={n} ({blocks})")


def resolve_interpret(interpret: bool | None) -> bool:
    """`None` -> interpret on the CPU backend (no Pallas compiler there), compile on GPU/TPU."""
    return jax.default_backend() == "cpu" if interpret is None else interpret


def compiler_params(num_warps: int):
    """Triton parameters on GPU (`num_warps` per program, one pipeline stage); None elsewhere."""
    return plgpu.CompilerParams(num_warps=num_warps, num_stages=1) if jax.default_backend() == "gpu" else None
