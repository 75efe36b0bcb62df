"""DAT's reciprocative regulariser: maps against central finite differences, the loss against a numpy
restatement of the paper's formula, and a finite second-order gradient."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack.ops import reciprocative


def _score_fn(w1, w2):
    def f(x):  # per-sample: [N, 3, 3, C] -> [N, 2]
        h = jnp.tanh(x.reshape(x.shape[0], -1) @ w1)
        return h @ w2
    return f


def _setup(dtype=jnp.float64):
    k1, k2, k3, k4 = jax.random.split(jax.random.PRNGKey(0), 4)
    x = jax.random.normal(k1, (4, 3, 3, 2), dtype)
    w1 = jax.random.normal(k2, (18, 8), dtype) * 0.5
    w2 = jax.random.normal(k3, (8, 2), dtype)
    labels = jnp.array([1, 0, 1, 0])
    return x, w1, w2, labels, k4


def test_attention_maps_match_finite_differences():
    with jax.enable_x64(True):
        _check_maps()


def _check_maps():
    x, w1, w2, _, _ = _setup()
    f = _score_fn(w1, w2)
    a_pos, a_neg = reciprocative.attention_maps(f, x)
    xn = np.asarray(x)
    h = 1e-6
    for c, a in ((1, a_pos), (0, a_neg)):
        fd = np.zeros_like(xn)
        for n in range(xn.shape[0]):  # sample n's score against its own input only
            for idx in np.ndindex(xn.shape[1:]):
                up, down = xn.copy(), xn.copy()
                up[(n, *idx)] += h
                down[(n, *idx)] -= h
                fd[(n, *idx)] = (np.asarray(f(up))[n, c] - np.asarray(f(down))[n, c]) / (2 * h)
        np.testing.assert_allclose(np.asarray(a), np.maximum(fd, 0), atol=1e-7)
        assert (np.asarray(a) > 0).any() and (np.asarray(a) == 0).any()
        sq = reciprocative.attention_maps(f, x, form="sum_sq")[1 - c]  # the released code's channel reduction
        np.testing.assert_allclose(np.asarray(sq), np.sum(fd ** 2, -1), rtol=1e-6, atol=1e-12)


def _numpy_loss(a_pos, a_neg, labels, eps=1e-6):
    out = []
    for p, q, y in zip(np.asarray(a_pos), np.asarray(a_neg), np.asarray(labels)):
        mp, sp = p.mean() + eps, np.sqrt(p.var() + eps ** 2)
        mq, sq = q.mean() + eps, np.sqrt(q.var() + eps ** 2)
        out.append(sp / mp + mq / sq if y == 1 else sq / mq + mp / sp)
    return np.array(out)


def test_loss_matches_numpy_formula():
    rng = np.random.default_rng(1)
    a_pos = np.maximum(rng.normal(size=(5, 3, 3, 4)), 0)
    a_neg = np.maximum(rng.normal(size=(5, 3, 3, 4)) + 0.3, 0)
    labels = np.array([1, 0, 0, 1, 1])
    got = reciprocative.reciprocative_loss(jnp.asarray(a_pos), jnp.asarray(a_neg), jnp.asarray(labels))
    np.testing.assert_allclose(np.asarray(got), _numpy_loss(a_pos, a_neg, labels), rtol=1e-5)
    # the mirror image: swapping maps and labels gives the same values
    swapped = reciprocative.reciprocative_loss(jnp.asarray(a_neg), jnp.asarray(a_pos), jnp.asarray(1 - labels))
    np.testing.assert_allclose(np.asarray(swapped), np.asarray(got), rtol=1e-6)


def test_second_order_gradient_is_finite_and_nonzero():
    x, w1, w2, labels, _ = _setup(jnp.float32)

    def loss(params):
        _, reg = reciprocative.regularised_scores(_score_fn(*params), x, labels)
        return reg

    g = jax.grad(loss)((w1, w2))
    for leaf in g:
        assert np.isfinite(np.asarray(leaf)).all() and np.abs(np.asarray(leaf)).max() > 0
    zero = reciprocative.reciprocative_loss(jnp.zeros((2, 4)), jnp.zeros((2, 4)), jnp.array([1, 0]))
    assert np.isfinite(np.asarray(zero)).all()
