"""Temporal fusion operators: segment features of a clip -> one clip-level vector (TSN, TRN, ECO).

Shapes: x `[B, K, D]` (K segment features per clip), mask `[B, K]` bool (True = a real segment; None = all
real; videos shorter than K segments are padded and masked). Any float dtype in; float32 accumulation
(float64 for float64 inputs); the result has x's dtype.

    consensus(x, mask, mode=, weights=)           -> [B, D]   TSN: "avg", "max", "weighted" (softmax(weights) [K])
    relation_tuples(K, scale, num, key=None)      -> [N, scale] int32 ordered segment tuples (TRN)
    trn_relation(x, tuples, w1, b1, w2, b2, mask) -> [B, O]   TRN g over tuples: mean_n g(concat x[tuple_n])
    trn_multiscale(x, scales, mask)               -> [B, O]   sum over scales of trn_relation
    conv3d(x, w, b, mask)                         -> [B, K, H, W, P]  ECO-Lite's 3D convolution (SAME, stride 1)

Masks: consensus ignores padded segments (all padded -> 0); a TRN tuple counts only when every segment in it
is real (no real tuple -> 0); conv3d sees padded segments as zeros and writes zeros there.

TRN (Zhou et al., ECCV 2018): g = ReLU-FC-ReLU-FC on the concatenated features of an ordered tuple; TRN-pytorch
sums g over the tuples, here the mean over the (real) tuples (a constant factor at fixed K; it keeps the scale
of a masked clip). `relation_tuples` with `key=None` (test) takes N evenly spaced tuples of the lexicographic
list of all C(K, scale); with a key (training) N distinct random ones, as TRN-pytorch does.

Implementations (`impl=`): "reference" (python loops over clips, segments, tuples or taps: obviously right,
slow), then "xla" (consensus, vectorised), "gather" / "factored" (trn_relation: the tuples' concatenations
gathered and multiplied, or the first FC applied once per segment and position, `relu(x) @ W1[j]` [B, K, s, H],
then gathered and summed: K*s instead of N*s row products; the second FC after the mean, it is linear),
"xla_conv" (conv3d). "auto" = the FALLBACK of `registry` (no measured table for these ops).
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from jaxtrack.ops.checks import acc_dtype
from jaxtrack.ops.registry import register, resolve

CONSENSUS_MODES = ("avg", "max", "weighted")


def _check_x(op: str, x, rank: int = 3, layout: str = "[B, K, D]") -> None:
    if x.ndim != rank:
        raise ValueError(f"{op}: x must be rank {rank} {layout}, got shape {tuple(x.shape)}")
    if not jnp.issubdtype(x.dtype, jnp.floating):
        raise ValueError(f"{op}: x must be a floating dtype, got {x.dtype}")


def _mask(op: str, x, mask):
    """mask [B, K] bool (all True when None), checked against x [B, K, ...]."""
    if mask is None:
        return jnp.ones(x.shape[:2], bool)
    if tuple(mask.shape) != tuple(x.shape[:2]):
        raise ValueError(f"{op}: mask must have shape [B, K] = {list(x.shape[:2])}, got {tuple(mask.shape)}")
    return jnp.asarray(mask).astype(bool)


def _check_shape(op: str, name: str, a, shape: tuple) -> None:
    if tuple(a.shape) != tuple(shape):
        raise ValueError(f"{op}: {name} must have shape {list(shape)}, got {name}.shape={tuple(a.shape)}")


# ----------------------------------------------------------------------------------------------------
# TSN consensus.


def consensus(x, mask=None, *, mode: str = "avg", weights=None, impl: str = "auto"):
    """TSN segmental consensus: `[B, K, D]` (mask `[B, K]`) -> `[B, D]`.

    mode "avg": mean over real segments; "max": max over real segments; "weighted": `sum_k a_k x_k` with
    `a = softmax(weights [K])` over the real segments (learnable). A clip without real segments gives 0.
    """
    _check_x("consensus", x)
    if mode not in CONSENSUS_MODES:
        raise ValueError(f"consensus: mode must be one of {CONSENSUS_MODES}, got {mode!r}")
    if (mode == "weighted") != (weights is not None):
        raise ValueError(f"consensus: weights [K] are needed with mode='weighted' and only then (mode={mode!r})")
    if weights is not None:
        _check_shape("consensus", "weights", weights, (x.shape[1],))
    m = _mask("consensus", x, mask)
    shape = {"b": x.shape[0], "k": x.shape[1], "d": x.shape[2], "dtype": str(x.dtype)}
    return resolve("consensus", impl, shape)(x, m, mode, weights).astype(x.dtype)


@register("consensus", "reference")
def _consensus_reference(x, m, mode, weights):
    acc = acc_dtype(x)
    rows = []
    for b in range(x.shape[0]):
        if mode == "avg":
            total, count = jnp.zeros(x.shape[2], acc), 0.0
            for k in range(x.shape[1]):
                total, count = total + jnp.where(m[b, k], x[b, k].astype(acc), 0), count + m[b, k].astype(acc)
            rows.append(total / jnp.maximum(count, 1))
        elif mode == "max":
            best = jnp.full(x.shape[2], -jnp.inf, acc)
            for k in range(x.shape[1]):
                best = jnp.maximum(best, jnp.where(m[b, k], x[b, k].astype(acc), -jnp.inf))
            rows.append(jnp.where(jnp.isfinite(best), best, 0))
        else:
            w = weights.astype(acc)
            top = jnp.max(jnp.where(m[b], w, -jnp.inf))
            top = jnp.where(jnp.isfinite(top), top, 0)
            num, den = jnp.zeros(x.shape[2], acc), jnp.zeros((), acc)
            for k in range(x.shape[1]):
                e = jnp.where(m[b, k], jnp.exp(w[k] - top), 0)
                num, den = num + e * x[b, k].astype(acc), den + e
            rows.append(num / jnp.where(den > 0, den, 1))
    return jnp.stack(rows)


@register("consensus", "xla")
def _consensus_xla(x, m, mode, weights):
    acc = acc_dtype(x)
    xa, mk = x.astype(acc), m[:, :, None]
    if mode == "avg":
        return jnp.sum(jnp.where(mk, xa, 0), 1) / jnp.maximum(jnp.sum(m, 1, keepdims=True), 1).astype(acc)
    if mode == "max":
        best = jnp.max(jnp.where(mk, xa, -jnp.inf), 1)
        return jnp.where(jnp.any(m, 1, keepdims=True), best, 0)
    logits = jnp.where(m, weights.astype(acc)[None], -jnp.inf)
    a = jax.nn.softmax(jnp.where(jnp.any(m, 1, keepdims=True), logits, 0), axis=1)
    return jnp.einsum("bk,bkd->bd", jnp.where(m, a, 0), xa)


# ----------------------------------------------------------------------------------------------------
# TRN relations.


@functools.cache
def all_tuples(num_segments: int, scale: int) -> np.ndarray:
    """[C(K, scale), scale] int32: every increasing (time-ordered) tuple of segment indices, lexicographic."""
    if not 1 <= scale <= num_segments:
        raise ValueError(f"relation_tuples: scale must be in [1, K={num_segments}], got {scale}")
    return np.array(list(itertools.combinations(range(num_segments), scale)), np.int32).reshape(-1, scale)


def relation_tuples(num_segments: int, scale: int, num_tuples: int | None = None, key=None):
    """[N, scale] int32 ordered tuples of segment indices (N = min(num_tuples, C(K, scale)); None: all).

    key None (test): N evenly spaced tuples of the lexicographic list, deterministic. A key (training):
    N distinct tuples drawn uniformly (jit-safe; the key may be traced).
    """
    table = all_tuples(num_segments, scale)
    if num_tuples is None or num_tuples >= len(table):
        return jnp.asarray(table)
    if num_tuples < 1:
        raise ValueError(f"relation_tuples: num_tuples must be >= 1 or None, got {num_tuples}")
    if key is None:
        return jnp.asarray(table[(2 * np.arange(num_tuples) + 1) * len(table) // (2 * num_tuples)])
    return jnp.asarray(table)[jax.random.choice(key, len(table), (num_tuples,), replace=False)]


def trn_relation(x, tuples, w1, b1, w2, b2, mask=None, *, impl: str = "auto"):
    """TRN single-scale relation: `[B, K, D]`, tuples `[N, s]` -> `[B, O]`.

    `g(v) = relu(relu(v) @ w1 + b1) @ w2 + b2` on `v = concat(x[:, t_1], ..., x[:, t_s])` [B, s*D]; w1 `[s*D, H]`,
    b1 `[H]`, w2 `[H, O]`, b2 `[O]`; the result is the mean of g over the tuples whose segments are all real.
    """
    _check_x("trn_relation", x)
    if tuples.ndim != 2 or not jnp.issubdtype(tuples.dtype, jnp.integer):
        raise ValueError(f"trn_relation: tuples must be [N, s] integers, got shape {tuple(tuples.shape)} "
                         f"dtype {tuples.dtype}")
    s, d = tuples.shape[1], x.shape[2]
    if w1.ndim != 2 or w1.shape[0] != s * d:
        raise ValueError(f"trn_relation: w1 must be [s*D, H] = [{s * d}, H] for tuples of s={s} and D={d}, "
                         f"got w1.shape={tuple(w1.shape)}")
    _check_shape("trn_relation", "b1", b1, (w1.shape[1],))
    if w2.ndim != 2 or w2.shape[0] != w1.shape[1]:
        raise ValueError(f"trn_relation: w2 must be [H, O] with H={w1.shape[1]}, got w2.shape={tuple(w2.shape)}")
    _check_shape("trn_relation", "b2", b2, (w2.shape[1],))
    if not isinstance(tuples, jax.core.Tracer) and tuples.size and (
            int(jnp.min(tuples)) < 0 or int(jnp.max(tuples)) >= x.shape[1]):
        raise ValueError(f"trn_relation: tuples must index segments in [0, K={x.shape[1]}), got values in "
                         f"[{int(jnp.min(tuples))}, {int(jnp.max(tuples))}]")
    m = _mask("trn_relation", x, mask)
    shape = {"b": x.shape[0], "k": x.shape[1], "d": d, "n": tuples.shape[0], "s": s, "dtype": str(x.dtype)}
    return resolve("trn_relation", impl, shape)(x, tuples, w1, b1, w2, b2, m).astype(x.dtype)


def trn_multiscale(x, scales: Sequence[tuple], mask=None, *, impl: str = "auto"):
    """TRN multi-scale relation: the sum over scales of `trn_relation(x, tuples, w1, b1, w2, b2, mask)`, one
    `(tuples, w1, b1, w2, b2)` per scale (TRN: scales K, K-1, ..., 2, every scale's O the class count)."""
    if not scales:
        raise ValueError("trn_multiscale: needs at least one scale")
    return sum(trn_relation(x, *scale, mask, impl=impl) for scale in scales)


def _valid_tuples(tuples, m):
    """[B, N] bool: every segment of tuple n is real in clip b."""
    return jnp.all(m[:, tuples], axis=2)


def _masked_mean(h, valid, acc):
    """[B, N, F], [B, N] -> [B, F] mean over the valid n (0 where none)."""
    v = valid.astype(acc)
    return jnp.einsum("bn,bnf->bf", v, h) / jnp.maximum(v.sum(1, keepdims=True), 1)


@register("trn_relation", "reference")
def _trn_reference(x, tuples, w1, b1, w2, b2, m):
    acc = acc_dtype(x, w1, w2)
    w1, b1, w2, b2 = (a.astype(acc) for a in (w1, b1, w2, b2))
    rows = []
    for b in range(x.shape[0]):
        total, count = jnp.zeros(w2.shape[1], acc), jnp.zeros((), acc)
        for n in range(tuples.shape[0]):
            v = jnp.concatenate([x[b, tuples[n, j]].astype(acc) for j in range(tuples.shape[1])])
            g = jax.nn.relu(jax.nn.relu(v) @ w1 + b1) @ w2 + b2
            real = jnp.all(jnp.stack([m[b, tuples[n, j]] for j in range(tuples.shape[1])]))
            total, count = total + jnp.where(real, g, 0), count + real.astype(acc)
        rows.append(jnp.where(count > 0, total / jnp.maximum(count, 1), 0))
    return jnp.stack(rows)


@register("trn_relation", "gather")
def _trn_gather(x, tuples, w1, b1, w2, b2, m):
    acc = acc_dtype(x, w1, w2)
    b, n, s = x.shape[0], *tuples.shape
    v = x[:, tuples].reshape(b, n, s * x.shape[2])  # [B, N, s*D], segment-major as the concatenation
    h = jax.nn.relu(jnp.einsum("bnf,fh->bnh", jax.nn.relu(v), w1.astype(x.dtype), preferred_element_type=acc)
                    + b1.astype(acc))
    valid = _valid_tuples(tuples, m)
    out = _masked_mean(h, valid, acc) @ w2.astype(acc) + b2.astype(acc)
    return jnp.where(jnp.any(valid, 1, keepdims=True), out, 0)


@register("trn_relation", "factored")
def _trn_factored(x, tuples, w1, b1, w2, b2, m):
    acc = acc_dtype(x, w1, w2)
    s, d = tuples.shape[1], x.shape[2]
    per_pos = jnp.einsum("bkd,jdh->bkjh", jax.nn.relu(x), w1.reshape(s, d, -1).astype(x.dtype),
                         preferred_element_type=acc)  # [B, K, s, H]: segment k at tuple position j
    h = sum(per_pos[:, tuples[:, j], j] for j in range(s))  # [B, N, H]
    h = jax.nn.relu(h + b1.astype(acc))
    valid = _valid_tuples(tuples, m)
    out = _masked_mean(h, valid, acc) @ w2.astype(acc) + b2.astype(acc)
    return jnp.where(jnp.any(valid, 1, keepdims=True), out, 0)


# ----------------------------------------------------------------------------------------------------
# ECO-Lite's 3D convolution over stacked segment feature maps.


def conv3d(x, w, b=None, mask=None, *, impl: str = "auto"):
    """3D convolution, SAME padding, stride 1: `[B, K, H, W, C]`, w `[kt, kh, kw, C, P]`, b `[P]` -> `[B, K, H, W, P]`.

    Padded segments (mask False) enter as zeros and their outputs are zero (ECO-Lite stacks the K segments'
    2D feature maps in time and fuses them with 3D convolutions).
    """
    _check_x("conv3d", x, 5, "[B, K, H, W, C]")
    if w.ndim != 5 or w.shape[3] != x.shape[4]:
        raise ValueError(f"conv3d: w must be [kt, kh, kw, C, P] with C={x.shape[4]}, got w.shape={tuple(w.shape)}")
    if b is not None:
        _check_shape("conv3d", "b", b, (w.shape[4],))
    m = _mask("conv3d", x, mask)
    shape = {"b": x.shape[0], "k": x.shape[1], "h": x.shape[2], "c": x.shape[4], "p": w.shape[4],
             "dtype": str(x.dtype)}
    bias = jnp.zeros(w.shape[4], w.dtype) if b is None else b
    return resolve("conv3d", impl, shape)(x, w, bias, m).astype(x.dtype)


def _same_pad(x, w):
    pads = [(0, 0)] + [((k - 1) // 2, k // 2) for k in w.shape[:3]] + [(0, 0)]
    return jnp.pad(x, pads)


@register("conv3d", "reference")
def _conv3d_reference(x, w, b, m):
    acc = acc_dtype(x, w)
    mk = m[:, :, None, None, None]
    xp = _same_pad(jnp.where(mk, x.astype(acc), 0), w)
    out = jnp.zeros((*x.shape[:4], w.shape[4]), acc) + b.astype(acc)
    k, h, wd = x.shape[1:4]
    for dt, dh, dw in itertools.product(*(range(n) for n in w.shape[:3])):
        out = out + jnp.einsum("bkhwc,cp->bkhwp", xp[:, dt:dt + k, dh:dh + h, dw:dw + wd], w[dt, dh, dw].astype(acc))
    return jnp.where(mk, out, 0)


@register("conv3d", "xla_conv")
def _conv3d_xla(x, w, b, m):
    acc = acc_dtype(x, w)
    mk = m[:, :, None, None, None]
    pads = [((k - 1) // 2, k // 2) for k in w.shape[:3]]
    y = lax.conv_general_dilated(jnp.where(mk, x, 0), w.astype(x.dtype), (1, 1, 1), pads,
                                 dimension_numbers=("NDHWC", "DHWIO", "NDHWC"), preferred_element_type=acc)
    return jnp.where(mk, y + b.astype(acc), 0)
