"""Input checks the backbones share: errors name the argument, the expected and the actual value."""

from __future__ import annotations

from collections.abc import Sequence


def check_image(x) -> None:
    """x must be [B, H, W, 3]."""
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"x must be [B, H, W, 3], got {x.shape}")


def check_used_layers(used_layers: Sequence[int], n: int) -> None:
    """`used_layers` must be a non-empty subset of 0..n-1."""
    if not used_layers or not set(used_layers) <= set(range(n)):
        raise ValueError(f"used_layers must be a non-empty subset of 0..{n - 1}, got {tuple(used_layers)}")
