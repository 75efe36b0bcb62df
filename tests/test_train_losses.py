"""Losses vs closed forms and numpy references; masks, empty selections, gradients, per-model totals."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import anchors
from jaxtrack.train import losses, targets

# jitted once per shape: eager jnp dispatch of these small graphs costs more than their compiles
bce, sce = jax.jit(losses.balanced_bce), jax.jit(losses.select_cross_entropy)
wl1, liou = jax.jit(losses.weighted_l1), jax.jit(losses.linear_iou_loss)


def np_bce(x, y):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0) - x * y


def np_nll(logits, c):
    z = logits - logits.max(-1, keepdims=True)
    return -(z[..., c] - np.log(np.exp(z).sum(-1)))


def test_balanced_bce_closed_forms():
    cls = np.array([[1, 0, 0, -1], [0, 1, 0, 0]])
    assert float(bce(jnp.zeros((2, 4)), cls)) == pytest.approx(math.log(2), rel=1e-6)
    x = np.random.default_rng(0).normal(size=(2, 4)).astype(np.float32)
    ref = np_bce(x.astype(np.float64), cls == 1)
    pos, neg = ref[cls == 1].mean(), ref[cls == 0].mean()
    assert float(bce(x, cls)) == pytest.approx(0.5 * pos + 0.5 * neg, rel=1e-5)
    assert float(bce(x, cls, neg_weight=3.0)) == pytest.approx((pos + 3 * neg) / 4, rel=1e-5)
    no_pos = np.where(cls == 1, 0, cls)  # negative pairs only: the negatives' mean
    assert float(bce(x, no_pos)) == pytest.approx(np_bce(x, 0)[no_pos == 0].mean(), rel=1e-5)


def test_select_cross_entropy_closed_forms_and_mask():
    cls = np.array([[1, 0, -1], [0, 0, -1]])
    assert float(sce(jnp.zeros((2, 3, 2)), cls)) == pytest.approx(math.log(2), rel=1e-6)
    x = np.random.default_rng(1).normal(size=(2, 3, 2)).astype(np.float32)
    nll1, nll0 = np_nll(x.astype(np.float64), 1), np_nll(x.astype(np.float64), 0)
    expect = 0.5 * nll1[cls == 1].mean() + 0.5 * nll0[cls == 0].mean()
    assert float(sce(x, cls)) == pytest.approx(expect, rel=1e-5)
    # log-softmaxed input (pysot heads) gives the same value; no positives: 0.5 * mean over the negatives
    assert float(sce(jax.nn.log_softmax(x), cls)) == pytest.approx(expect, rel=1e-5)
    no_pos = np.where(cls == 1, -1, cls)
    assert float(sce(x, no_pos)) == pytest.approx(0.5 * nll0[no_pos == 0].mean(), rel=1e-5)
    assert float(sce(x, -np.ones_like(cls))) == 0.0
    # ignored entries: no effect on the value, zero gradient
    g = jax.jit(jax.grad(losses.select_cross_entropy))(jnp.asarray(x), cls)
    assert (np.asarray(g)[cls == -1] == 0).all() and (np.abs(np.asarray(g)[cls != -1]) > 0).all()
    y = x.copy()
    y[cls == -1] = 1e30
    assert float(sce(y, cls)) == pytest.approx(expect, rel=1e-5)


def test_weighted_l1_closed_form_and_nonfinite_masked_targets():
    pred = np.zeros((2, 3, 4), np.float32)
    target = np.array([[[1, -1, 2, 0], [5, 5, 5, 5], [np.inf, 0, 0, -np.inf]]] * 2, np.float32)
    weight = np.array([[0.5, 0, 0], [0.25, 0.25, 0]], np.float32)
    # sum(weight * L1) / B = (0.5 * 4 + 0.25 * 4 + 0.25 * 20) / 2
    assert float(wl1(pred, target, weight)) == pytest.approx(4.0)
    g = jax.jit(jax.grad(losses.weighted_l1))(jnp.asarray(pred), target, weight)
    assert np.isfinite(np.asarray(g)).all() and (np.asarray(g)[weight == 0] == 0).all()


def np_ltrb_iou(p, t):
    area = lambda d: (d[0] + d[2]) * (d[1] + d[3])
    inter = (min(p[0], t[0]) + min(p[2], t[2])) * (min(p[1], t[1]) + min(p[3], t[3]))
    return inter / (area(p) + area(t) - inter)


def test_linear_iou_loss_closed_forms_and_reference():
    assert float(liou(jnp.ones((1, 4)), jnp.ones((1, 4)), np.array([True]))) == 0.0
    # (1,1,1,1) inside (2,2,2,2): IoU 4 / 16
    assert float(liou(jnp.ones((1, 4)), 2 * jnp.ones((1, 4)), np.array([True]))) == 0.75
    rng = np.random.default_rng(2)
    pred, target = rng.uniform(1, 50, (3, 5, 4)).astype(np.float32), rng.uniform(1, 50, (3, 5, 4)).astype(np.float32)
    mask = rng.random((3, 5)) < 0.5
    ref = np.mean([1 - np_ltrb_iou(p, t) for p, t in zip(pred[mask], target[mask])])
    assert float(liou(pred, target, mask)) == pytest.approx(ref, rel=1e-5)
    assert float(liou(pred, target, np.zeros((3, 5), bool))) == 0.0
    g = jax.jit(jax.grad(losses.linear_iou_loss))(jnp.asarray(pred), target, mask)
    assert np.isfinite(np.asarray(g)).all() and (np.asarray(g)[~mask] == 0).all()


def test_siamfc_loss():
    labels = jax.jit(targets.siamfc_labels, static_argnums=0)(17)
    loss_and_grad = jax.jit(jax.value_and_grad(losses.siamfc_loss, has_aux=True))
    (loss, metrics), _ = loss_and_grad(jnp.zeros((2, 17, 17, 1)), labels)
    assert float(loss) == pytest.approx(math.log(2), rel=1e-6) and set(metrics) == {"cls_loss"}
    x = jax.random.normal(jax.random.key(0), (2, 17, 17, 1))
    (loss, _), g = loss_and_grad(x, labels)
    assert np.isfinite(np.asarray(g)).all()
    shared = jax.jit(losses.siamfc_loss)(x[..., 0], jnp.broadcast_to(labels, (2, 17, 17)))[0]
    assert float(shared) == pytest.approx(float(loss), rel=1e-6)


def test_siamrpn_loss_totals_and_gradients():
    gt = np.array([[95, 95, 64, 64], [60, 100, 50, 90], [80, 80, 40, 40]], np.float32)
    t = jax.jit(targets.anchor_targets)(gt, np.array([False, False, True]), jax.random.key(0))
    cls_logits = jax.random.normal(jax.random.key(1), (3, 25, 25, 10))  # head layout: channel c * K + k
    loc = jax.random.normal(jax.random.key(2), (3, 25, 25, 20))
    loss_and_grads = jax.jit(jax.value_and_grad(losses.siamrpn_loss, argnums=(0, 1), has_aux=True))
    (total, m), grads = loss_and_grads(cls_logits, loc, t)
    assert float(total) == pytest.approx(float(m["cls_loss"] + 1.2 * m["loc_loss"]), rel=1e-6)
    x = np.asarray(cls_logits).reshape(3, 25, 25, 2, 5)  # [..., class, anchor]
    assert float(m["cls_loss"]) == pytest.approx(float(sce(np.moveaxis(x, -2, -1), t.cls)), rel=1e-6)
    head_delta = np.moveaxis(np.asarray(t.delta), -1, -2).reshape(3, 25, 25, 20)
    assert float(loss_and_grads(cls_logits, head_delta, t)[0][1]["loc_loss"]) == 0.0  # perfect regression
    assert all(np.isfinite(np.asarray(g)).all() for g in grads)
    assert (np.asarray(grads[1])[2] == 0).all()  # negative pair: no regression gradient
    ignored = np.asarray(t.cls) == -1  # [B, H, W, K]
    assert (np.asarray(grads[0]).reshape(3, 25, 25, 2, 5).transpose(0, 1, 2, 4, 3)[ignored] == 0).all()


def test_siamban_loss_totals_and_gradients():
    gt = np.array([[95, 95, 64, 64], [80, 80, 40, 40]], np.float32)
    t = jax.jit(targets.point_targets)(gt, np.array([False, True]), jax.random.key(0))
    cls_logits = jax.random.normal(jax.random.key(1), (*t.cls.shape, 2))
    loc = jnp.exp(jax.random.normal(jax.random.key(2), t.ltrb.shape)) * 20
    loss_and_grads = jax.jit(jax.value_and_grad(losses.siamban_loss, argnums=(0, 1), has_aux=True), static_argnums=3)
    (total, m), grads = loss_and_grads(cls_logits, loc, t, losses.SIAMBAN_WEIGHTS)
    assert float(total) == pytest.approx(float(m["cls_loss"] + m["loc_loss"]), rel=1e-6)
    assert 0 < float(m["loc_loss"]) < 1
    assert float(loss_and_grads(cls_logits, t.ltrb, t, losses.SIAMBAN_WEIGHTS)[0][1]["loc_loss"]) == 0.0
    heavier = loss_and_grads(cls_logits, loc, t, losses.LossWeights(cls=2.0, loc=0.5))[0][0]
    assert float(heavier) == pytest.approx(float(2 * m["cls_loss"] + 0.5 * m["loc_loss"]), rel=1e-6)
    assert all(np.isfinite(np.asarray(g)).all() for g in grads)
    assert (np.asarray(grads[1])[np.asarray(t.cls) != 1] == 0).all()


def test_anchor_major_matches_pysot_view():
    x = np.arange(2 * 3 * 10).reshape(2, 3, 10)  # channel c * K + k, K = 5
    out = np.asarray(anchors.anchor_major(x, 5))
    assert out.shape == (2, 3, 5, 2) and out[1, 2, 3, 1] == x[1, 2, 1 * 5 + 3]


def test_shape_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"logits: expected shape \(2, 3, 2\), got \(2, 3\)"):
        sce(jnp.zeros((2, 3)), np.zeros((2, 3), int))
    with pytest.raises(ValueError, match=r"weight: expected shape \(2, 3\), got \(2,\)"):
        losses.weighted_l1(jnp.zeros((2, 3, 4)), jnp.zeros((2, 3, 4)), jnp.zeros(2))
    with pytest.raises(ValueError, match=r"mask: expected shape \(5,\), got \(4,\)"):
        losses.linear_iou_loss(jnp.ones((5, 4)), jnp.ones((5, 4)), np.ones(4, bool))
    t = targets.AnchorTargets(np.zeros((1, 25, 25, 5), int), np.zeros((1, 25, 25, 5, 4)), np.zeros((1, 25, 25, 5)))
    with pytest.raises(ValueError, match=r"loc: expected shape \(1, 25, 25, 20\), got \(1, 25, 25, 5, 4\)"):
        losses.siamrpn_loss(jnp.zeros((1, 25, 25, 10)), jnp.zeros((1, 25, 25, 5, 4)), t)
    with pytest.raises(ValueError, match=r"cls: expected a shape broadcastable to logits \(2, 17, 17\)"):
        losses.siamfc_loss(jnp.zeros((2, 17, 17, 1)), np.zeros((5, 5), int))
