"""Implementations by name for every operator, and the measured `impl="auto"` choice.

`impl="auto"` reads `auto_table.json` (written by `python -m kernels.bench --write_auto_table`): for the
current backend and op it takes the measured shape nearest to the call's shape (in log space over
B, Hz, Hx, C, K/P; for roi_align: B, Ho, H, C, N; same dtype preferred) and uses the implementation that
was fastest there. A backend with no measurements falls back to `FALLBACK[op]` (XLA's native convolution
form for the correlations).
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from pathlib import Path

import jax

TABLE_PATH = Path(__file__).with_name("auto_table.json")
FALLBACK = {"xcorr": "xla_conv", "up_xcorr": "xla_conv", "dw_xcorr": "xla_conv", "asym_conv": "xla_conv",
            "roi_align": "separable",
            "consensus": "xla", "trn_relation": "gather", "conv3d": "xla_conv"}  # temporal: ops.temporal
_REGISTRY: dict[str, dict[str, Callable]] = {}


def register(op: str, name: str) -> Callable[[Callable], Callable]:
    """Decorator: registers `fn` as implementation `name` of operator `op`."""

    def deco(fn: Callable) -> Callable:
        _REGISTRY.setdefault(op, {})[name] = fn
        return fn

    return deco


def implementations(op: str) -> tuple[str, ...]:
    """Names of the registered implementations of `op` ("auto" excluded)."""
    return tuple(_REGISTRY[op])


@functools.cache
def _table() -> dict:
    if not TABLE_PATH.exists():
        return {}
    return json.loads(TABLE_PATH.read_text())


def _distance(entry: dict, shape: dict) -> float:
    return sum(abs(math.log(entry[k]) - math.log(shape[k])) for k in shape if k in entry and k != "dtype")


def auto_choice(op: str, shape: dict, backend: str | None = None) -> str:
    """The implementation `impl="auto"` picks for `op` at `shape` (dict of B, hz, hx, c, k, dtype)."""
    backend = backend or jax.default_backend()
    entries = [e for e in _table().get(backend, {}).get(op, []) if e["best"] in _REGISTRY[op]]
    same_dtype = [e for e in entries if e.get("dtype") == shape.get("dtype")]
    entries = same_dtype or entries
    if not entries:
        return FALLBACK[op]
    return min(entries, key=lambda e: _distance(e, shape))["best"]


def resolve(op: str, impl: str, shape: dict) -> Callable:
    """The implementation function for `impl` (a registered name or "auto")."""
    if impl == "auto":
        impl = auto_choice(op, shape)
    try:
        return _REGISTRY[op][impl]
    except KeyError:
        raise ValueError(
            f"{op}: unknown impl={impl!r}; expected 'auto' or one of {list(_REGISTRY[op])}") from None
