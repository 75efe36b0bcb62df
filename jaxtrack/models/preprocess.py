"""Input normalisation shared by training tasks and trackers (a model must see the same pixels in both)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# name -> (mean, std) in 0..255 units: x_float = (x_uint8 - mean) / std, per RGB channel.
NORMALIZERS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "imagenet": (tuple(255 * m for m in IMAGENET_MEAN), tuple(255 * s for s in IMAGENET_STD)),
    "unit": ((0.0, 0.0, 0.0), (255.0, 255.0, 255.0)),
    "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # raw 0..255 pixels, as pysot / siamban / siamfc-pytorch
}


def normalize(images: jax.Array, name: str) -> jax.Array:
    """[..., 3] uint8 (or float 0..255) -> float32 normalised by NORMALIZERS[name]."""
    if name not in NORMALIZERS:
        raise ValueError(f"normalize must be one of {sorted(NORMALIZERS)}, got {name!r}")
    if images.shape[-1] != 3:
        raise ValueError(f"images must be [..., 3] RGB, got {images.shape}")
    mean, std = (np.asarray(v, np.float32) for v in NORMALIZERS[name])
    return (images.astype(jnp.float32) - mean) / std
