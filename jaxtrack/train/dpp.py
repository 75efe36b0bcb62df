"""Determinantal point process (DPP) loss and kernel for dppLSTM (Zhang et al., ECCV 2016); its greedy MAP inference
is `jaxtrack.eval.summarization.greedy_map`.

The kernel over the T steps of a video is L = diag(q) S diag(q) with quality q_t in (0, 1] and similarity
S = Phi Phi^T + jitter * I (Phi [T, K] diversity features; the jitter makes every subset possible, so singular
Phi Phi^T never gives log 0). The negative log-likelihood of a ground-truth subset Y is
    nll(Y) = -log det(L_Y) + log det(L + I).
Both determinants are computed in K x K form (matrix determinant lemma), O(T K^2 + K^3) and float32 safe even
for T >> K:
    log det(L_Y)   = sum_{i in Y} (2 log q_i + log jitter) + log det(I_K + Phi_Y^T Phi_Y / jitter)
    log det(L + I) = sum_i log(1 + jitter q_i^2) + log det(I_K + B^T diag(1 + jitter q^2)^-1 B),  B = diag(q) Phi
Padded steps (mask False) enter neither sum, so padding never changes the loss or its gradient.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def _logdet_eye_plus(gram: jax.Array) -> jax.Array:
    """log det(I + G) of symmetric positive semi-definite [..., K, K] matrices G: sum of log1p of G's eigenvalues
    (rounding's negatives clipped to 0). Not by Cholesky: on CPU its gradient's triangular solves go to
    multi-threaded BLAS, ~100x slower when the cores are shared (0.3 s vs 1 ms for 8 x 32 x 32 on 2 busy cores)."""
    return jnp.log1p(jnp.maximum(jnp.linalg.eigvalsh(gram), 0.0)).sum(-1)


def dpp_nll(log_q: jax.Array, phi: jax.Array, subset: jax.Array, mask: jax.Array, *,
            jitter: float = 1e-3) -> jax.Array:
    """[B] negative log-likelihood of `subset` under L = diag(q) (Phi Phi^T + jitter I) diag(q) (module docstring).

    Args:
      log_q: [B, T] log quality (e.g. `jax.nn.log_sigmoid(logits)`); q = exp(log_q) <= 1.
      phi: [B, T, K] diversity features.
      subset: [B, T] bool, the ground-truth set Y (keyframes); entries outside `mask` are ignored.
      mask: [B, T] bool, real steps.
      jitter: > 0, added to the diagonal of S.
    """
    if log_q.ndim != 2 or phi.shape[:2] != log_q.shape or subset.shape != log_q.shape or mask.shape != log_q.shape:
        raise ValueError(f"dpp_nll: expected log_q, subset, mask [B, T] and phi [B, T, K]; got {log_q.shape}, "
                         f"{subset.shape}, {mask.shape} and {phi.shape}")
    if jitter <= 0:
        raise ValueError(f"dpp_nll: jitter must be > 0, got {jitter}")
    dtype = phi.dtype
    m = mask.astype(dtype)
    y = subset.astype(dtype) * m
    log_q = jnp.where(mask, log_q, 0.0)
    # log det(L_Y)
    gram_y = jnp.einsum("bt,btk,btl->bkl", y, phi, phi) / jitter
    log_det_y = (y * (2.0 * log_q + jnp.log(jitter))).sum(1) + _logdet_eye_plus(gram_y)
    # log det(L + I)
    q2 = jnp.exp(2.0 * log_q) * m
    diag = 1.0 + jitter * q2  # [B, T], 1 at padding
    gram = jnp.einsum("bt,btk,btl->bkl", q2 / diag, phi, phi)
    log_det_all = jnp.log(diag).sum(1) + _logdet_eye_plus(gram)
    return log_det_all - log_det_y


def kernel_matrix(q, phi, jitter: float = 1e-3) -> np.ndarray:
    """[T, T] float64 L = diag(q) (Phi Phi^T + jitter I) diag(q) of one video: q [T], phi [T, K]."""
    q, phi = np.asarray(q, np.float64), np.asarray(phi, np.float64)
    if q.ndim != 1 or phi.ndim != 2 or len(phi) != len(q):
        raise ValueError(f"kernel_matrix: expected q [T] and phi [T, K], got {q.shape} and {phi.shape}")
    return q[:, None] * (phi @ phi.T + jitter * np.eye(len(q))) * q[None, :]
