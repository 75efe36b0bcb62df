"""DPP loss vs the explicit T x T definition, padding invariance, float64 finite-difference gradients,
no NaN on singular kernels / long videos (greedy MAP: tests/test_eval_summarization.py)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.test_util import check_grads

from jaxtrack.train import dpp


def _reference_nll(q, phi, subset, jitter):
    """-log det(L_Y) + log det(L + I) with L built explicitly, float64."""
    L = dpp.kernel_matrix(q, phi, jitter)
    y = np.flatnonzero(subset)
    return -np.linalg.slogdet(L[np.ix_(y, y)])[1] + np.linalg.slogdet(L + np.eye(len(q)))[1]


def _video(rng, t=12, k=3):
    return (rng.uniform(0.2, 1.0, t), rng.normal(size=(t, k)), rng.random(t) < 0.4)


def test_matches_explicit_determinants_with_padding():
    rng = np.random.default_rng(0)
    q, phi, y = _video(rng)
    y[[0, 5, 7, 9]] = True  # |Y| > K: Phi_Y Phi_Y^T is singular, the jitter keeps L_Y invertible
    for pad in (0, 7):
        pq = np.pad(np.log(q), (0, pad), constant_values=-50.0)[None]
        pphi = np.pad(phi, ((0, pad), (0, 0)), constant_values=3.0)[None]
        py = np.pad(y, (0, pad), constant_values=True)[None]
        mask = (np.arange(12 + pad) < 12)[None]
        got = dpp.dpp_nll(jnp.asarray(pq), jnp.asarray(pphi, jnp.float32), jnp.asarray(py), jnp.asarray(mask))
        np.testing.assert_allclose(got[0], _reference_nll(q, phi, y, 1e-3), rtol=2e-4)


def test_padding_changes_neither_loss_nor_gradient():
    rng = np.random.default_rng(1)
    q, phi, y = _video(rng)

    def loss(log_q, phi, pad):
        lq, ph = jnp.pad(log_q, (0, pad), constant_values=0.7), jnp.pad(phi, ((0, pad), (0, 0)), constant_values=1.0)
        mask = jnp.arange(12 + pad) < 12
        return dpp.dpp_nll(lq[None], ph[None], jnp.pad(jnp.asarray(y), (0, pad), constant_values=True)[None],
                           mask[None])[0]

    args = (jnp.log(jnp.asarray(q, jnp.float32)), jnp.asarray(phi, jnp.float32))
    base = jax.value_and_grad(loss, argnums=(0, 1))(*args, 0)
    for pad in (4, 52):
        other = jax.value_and_grad(loss, argnums=(0, 1))(*args, pad)
        np.testing.assert_allclose(other[0], base[0], rtol=1e-6)
        for a, b in zip(other[1], base[1], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_gradients_match_finite_differences_float64():
    rng = np.random.default_rng(2)
    q, phi, y = _video(rng, t=6, k=2)
    mask = jnp.asarray([[True] * 5 + [False]])
    with jax.enable_x64(True):
        f = lambda lq, ph: dpp.dpp_nll(lq, ph, jnp.asarray(y[None]), mask, jitter=1e-2).sum()
        check_grads(f, (jnp.log(jnp.asarray(q[None])), jnp.asarray(phi[None])), order=1, modes=["rev"], eps=1e-5,
                    atol=1e-6, rtol=1e-6)


def test_finite_on_singular_and_long_videos_float32():
    t = 2000
    phi = jnp.ones((1, t, 4), jnp.float32)  # rank-1 similarity: every L_Y with |Y| > 1 singular without jitter
    log_q = jnp.full((1, t), -20.0)  # q ~ 2e-9
    y = jnp.ones((1, t), bool)
    mask = jnp.ones((1, t), bool)
    value, grads = jax.value_and_grad(lambda a, b: dpp.dpp_nll(a, b, y, mask).sum(), argnums=(0, 1))(log_q, phi)
    assert np.isfinite(value) and all(np.isfinite(g).all() for g in grads)
    empty = dpp.dpp_nll(log_q, phi, jnp.zeros_like(y), mask)  # P(empty set) = 1 / det(L + I)
    assert np.isfinite(empty).all() and empty[0] >= 0


def test_shape_errors():
    with pytest.raises(ValueError, match=r"phi \[B, T, K\]"):
        dpp.dpp_nll(jnp.zeros((1, 4)), jnp.zeros((1, 5, 2)), jnp.zeros((1, 4), bool), jnp.ones((1, 4), bool))
