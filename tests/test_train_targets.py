"""Training targets vs independent python-loop references (pysot / siamban / siamfc-pytorch rules)."""

import functools
import math

import jax
import numpy as np
import pytest

from jaxtrack import anchors
from jaxtrack.train import targets

ACFG, PCFG = targets.AnchorConfig(), targets.PointConfig()
anchor_jit = jax.jit(targets.anchor_targets)
point_jit = jax.jit(targets.point_targets)
CENTRE_BOX = np.array([95.0, 95.0, 64.0, 64.0], np.float32)  # 64x64 at the crop centre = the centre ratio-1 anchor


def random_boxes(seed, n):
    """Boxes around the crop centre (shift <= 64 px, sides 12..180 px), xywh float32, and negative flags."""
    rng = np.random.default_rng(seed)
    wh = rng.uniform(12, 180, (n, 2))
    c = 127 + rng.uniform(-64, 64, (n, 2))
    return np.concatenate([c - wh / 2, wh], 1).astype(np.float32), rng.random(n) < 0.3


# ---- independent references: one anchor / point at a time, plain python floats -----------------------------

def ref_anchor_list():
    """pysot Anchors: [(i, j, k, cx, cy, w, h)], grid origin 127 - 12 * 8."""
    out = []
    for k, r in enumerate((0.33, 0.5, 1, 2, 3)):
        ws = int(math.sqrt(64 / r))
        w, h = ws * 8, int(ws * r) * 8
        for i in range(25):
            for j in range(25):
                out.append((i, j, k, 31 + 8 * j, 31 + 8 * i, w, h))
    return out


def ref_iou(a, b):
    """IoU of (x1, y1, x2, y2) tuples."""
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def ref_anchor_rules(box, negative):
    """{(i, j, k): 'pos' | 'neg' | 'ign' | 'edge'} by pysot's rules ('edge': within 1e-4 of a threshold)."""
    x, y, w, h = (float(v) for v in box)
    tcx, tcy = x + w / 2, y + h / 2
    ci, cj = math.floor((tcy - 127) / 8 + 0.5) + 12, math.floor((tcx - 127) / 8 + 0.5) + 12
    rules = {}
    for i, j, k, cx, cy, aw, ah in ref_anchor_list():
        if negative:
            rules[i, j, k] = "neg" if abs(i - ci) <= 3 and abs(j - cj) <= 3 else "ign"
            continue
        o = ref_iou((cx - aw / 2, cy - ah / 2, cx + aw / 2, cy + ah / 2), (x, y, x + w, y + h))
        if min(abs(o - 0.6), abs(o - 0.3)) < 1e-4:
            rules[i, j, k] = "edge"
        else:
            rules[i, j, k] = "pos" if o > 0.6 else "neg" if o < 0.3 else "ign"
    return rules


def ref_point_rules(box, negative):
    """{(i, j): 'pos' | 'neg' | 'ign' | 'edge'} by siamban's ellipse rules."""
    x, y, w, h = (float(v) for v in box)
    tcx, tcy = x + w / 2, y + h / 2
    rules = {}
    for i in range(25):
        for j in range(25):
            px, py = 31 + 8 * j, 31 + 8 * i
            e_in = ((tcx - px) / (w / 4)) ** 2 + ((tcy - py) / (h / 4)) ** 2
            e_out = ((tcx - px) / (w / 2)) ** 2 + ((tcy - py) / (h / 2)) ** 2
            if min(abs(e_in - 1), abs(e_out - 1)) < 1e-4:
                rules[i, j] = "edge"
            elif negative:
                rules[i, j] = "neg" if e_in < 1 else "ign"
            else:
                rules[i, j] = "pos" if e_in < 1 else "neg" if e_out > 1 else "ign"
    return rules


def check_sampled(cls, rules, pos_keep, neg_keep):
    """Labels follow the rules, and exactly min(eligible, keep) of each class are kept."""
    counts = {"pos": 0, "neg": 0}
    for idx, rule in rules.items():
        label = int(cls[idx])
        if rule == "edge":
            continue
        assert label in {"pos": (1, -1), "neg": (0, -1), "ign": (-1,)}[rule], (idx, rule, label)
        counts[rule] = counts.get(rule, 0) + 1
    assert (cls == 1).sum() == min(counts["pos"], pos_keep)
    assert (cls == 0).sum() == min(counts["neg"], neg_keep)


# ---- anchors -----------------------------------------------------------------------------------------------

def test_anchor_grid_matches_pysot():
    a = anchors.anchor_boxes(8, (0.33, 0.5, 1.0, 2.0, 3.0), (8.0,), 25, 255)
    assert a.shape == (25, 25, 5, 4) and a.dtype == np.float32
    for i, j, k, cx, cy, w, h in ref_anchor_list():
        np.testing.assert_array_equal(a[i, j, k], [cx - w / 2, cy - h / 2, w, h])
    np.testing.assert_array_equal(a[0, 0, :, 2:], [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]])


def test_anchor_exactly_on_gt_is_positive_with_zero_delta():
    t = anchor_jit(CENTRE_BOX, np.bool_(False), jax.random.key(0))
    # 64x64 box: the ratio-1 anchors at the centre cell and its 8 neighbours have IoU > 0.6 (9 <= 16, all kept)
    assert t.cls[12, 12, 2] == 1 and int((t.cls == 1).sum()) == 9
    np.testing.assert_array_equal(t.delta[12, 12, 2], 0.0)
    np.testing.assert_allclose(t.delta[12, 13, 2], [-8 / 64, 0, 0, 0], atol=1e-7)
    np.testing.assert_allclose(t.delta_weight[t.cls == 1], 1 / 9, rtol=1e-5)
    assert float(t.delta_weight.sum()) == pytest.approx(1.0, rel=1e-5)


@pytest.mark.parametrize("seed", [0, 1])
def test_anchor_targets_follow_reference_rules(seed):
    gt, neg = random_boxes(seed, 6)
    neg[:2] = [False, True]
    t = anchor_jit(gt, neg, jax.random.key(seed))
    for b in range(len(gt)):
        rules = ref_anchor_rules(gt[b], neg[b])
        check_sampled(np.asarray(t.cls[b]), rules, 0 if neg[b] else 16, 16 if neg[b] else 48)
        pos = np.asarray(t.cls[b]) == 1
        np.testing.assert_allclose(t.delta_weight[b], np.where(pos, 1 / max(pos.sum(), 1e-6), 0), rtol=1e-5)
        if neg[b]:
            np.testing.assert_array_equal(t.delta[b], 0.0)
            continue
        x, y, w, h = (float(v) for v in gt[b])
        for i, j, k, cx, cy, aw, ah in ref_anchor_list()[::37]:
            expect = [(x + w / 2 - cx) / aw, (y + h / 2 - cy) / ah, math.log(w / aw), math.log(h / ah)]
            np.testing.assert_allclose(t.delta[b, i, j, k], expect, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["anchor", "point"])
def test_sampling_counts_and_uniformity_over_many_seeds(kind):
    # 56x70 at the centre: 18 anchors with IoU > 0.6; 160x160: 69 points in the inner ellipse (r = 40 px)
    box, fn, ref = {"anchor": ([99.0, 92.0, 56.0, 70.0], targets.anchor_targets, ref_anchor_rules),
                    "point": ([47.0, 47.0, 160.0, 160.0], targets.point_targets, ref_point_rules)}[kind]
    gt = np.tile(np.array([box], np.float32), (256, 1))
    keys = jax.random.split(jax.random.key(3), 256)
    cls = np.asarray(jax.jit(jax.vmap(fn))(gt, np.zeros(256, bool), keys).cls)
    cls = cls.reshape(256, -1)
    assert ((cls == 1).sum(1) == 16).all() and ((cls == 0).sum(1) == 48).all()
    eligible = cls.max(0) == 1
    assert eligible.sum() == sum(r == "pos" for r in ref(gt[0], False).values()) == {"anchor": 18, "point": 69}[kind]
    freq = (cls == 1).mean(0)[eligible]  # each eligible positive is kept with p = 16 / eligible
    np.testing.assert_allclose(freq, 16 / eligible.sum(), atol=0.1)


def test_anchor_counts_on_random_pairs():
    gt, neg = random_boxes(5, 64)
    t = anchor_jit(gt, neg, jax.random.key(4))
    pos, negs = np.asarray(t.cls == 1).sum((1, 2, 3)), np.asarray(t.cls == 0).sum((1, 2, 3))
    assert (pos <= 16).all() and (pos + negs <= 64).all() and (pos[neg] == 0).all() and (negs[neg] <= 16).all()
    assert (negs[~neg] == 48).all() and (negs[neg] == 16).all()
    assert np.isfinite(np.asarray(t.delta)).all()


def test_anchor_host_twin_matches_jit_for_the_same_draws():
    gt, neg = random_boxes(7, 8)
    key = jax.random.key(7)
    t = anchor_jit(gt, neg, key)
    h = targets.anchor_targets_np(gt, neg, np.asarray(jax.random.uniform(key, (8, *ACFG.grid_shape))))
    np.testing.assert_array_equal(h.cls, t.cls)
    np.testing.assert_array_equal(h.delta_weight, t.delta_weight)
    np.testing.assert_allclose(h.delta, t.delta, rtol=1e-6, atol=1e-6)  # XLA's division / log: float32 rounding


def test_vmap_over_per_pair_keys():
    gt, neg = random_boxes(8, 3)
    keys = jax.random.split(jax.random.key(8), 3)
    batched = jax.jit(jax.vmap(functools.partial(targets.point_targets, config=PCFG)))(gt, neg, keys)
    u = np.stack([jax.random.uniform(k, PCFG.grid_shape) for k in keys])  # what each per-pair call draws
    host = targets.point_targets_np(gt, neg, u)
    np.testing.assert_array_equal(batched.cls, host.cls)
    np.testing.assert_array_equal(batched.ltrb, host.ltrb)


# ---- points ------------------------------------------------------------------------------------------------

def test_point_centre_case():
    p = anchors.points(8, 25, 255)
    assert p.shape == (25, 25, 2) and tuple(p[0, 0]) == (31, 31) and tuple(p[12, 13]) == (135, 127)
    t = point_jit(CENTRE_BOX, np.bool_(False), jax.random.key(0))
    # inner ellipse: semi-axes 16 px -> the centre point, its 4 neighbours and 4 diagonals (8 px away)
    assert t.cls[12, 12] == 1 and int((t.cls == 1).sum()) == 9 and int((t.cls == 0).sum()) == 48
    np.testing.assert_array_equal(t.ltrb[12, 12], [32, 32, 32, 32])
    np.testing.assert_array_equal(t.ltrb[12, 13], [40, 32, 24, 32])


@pytest.mark.parametrize("seed", [0, 1])
def test_point_targets_follow_reference_rules(seed):
    gt, neg = random_boxes(10 + seed, 6)
    neg[:2] = [False, True]
    t = point_jit(gt, neg, jax.random.key(seed))
    for b in range(len(gt)):
        check_sampled(np.asarray(t.cls[b]), ref_point_rules(gt[b], neg[b]), 0 if neg[b] else 16, 16 if neg[b] else 48)
        x, y, w, h = (float(v) for v in gt[b])
        i, j = 3, 20
        px, py = 31 + 8 * j, 31 + 8 * i
        expect = [0, 0, 0, 0] if neg[b] else [px - x, py - y, x + w - px, y + h - py]
        np.testing.assert_allclose(t.ltrb[b, i, j], expect, rtol=1e-6, atol=1e-4)
        if neg[b]:
            np.testing.assert_array_equal(t.ltrb[b], 0.0)


def test_point_host_twin_matches_jit_for_the_same_draws():
    gt, neg = random_boxes(12, 8)
    key = jax.random.key(12)
    t = point_jit(gt, neg, key)
    h = targets.point_targets_np(gt, neg, np.asarray(jax.random.uniform(key, (8, *PCFG.grid_shape))))
    np.testing.assert_array_equal(h.cls, t.cls)
    np.testing.assert_array_equal(h.ltrb, t.ltrb)


# ---- SiamFC ------------------------------------------------------------------------------------------------

def ref_siamfc(box, negative, r_pos, r_neg, size=17):
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    out = np.zeros((size, size), int)
    for i in range(size):
        for j in range(size):
            d = abs(127 + 8 * (j - 8) - cx) + abs(127 + 8 * (i - 8) - cy)
            out[i, j] = 0 if negative else 1 if d <= r_pos else -1 if d < r_neg else 0
    return out


def test_siamfc_labels():
    centred = jax.jit(targets.siamfc_labels, static_argnums=0)(17)
    assert centred.shape == (17, 17) and int(centred.sum()) == 13  # block radius 16 px / stride 8 = 2 cells
    np.testing.assert_array_equal(centred, ref_siamfc([127, 127, 0, 0], False, 16, 0))
    gt = np.array([[100, 110, 40, 30], [60, 70, 20, 20], [90, 90, 40, 40]], np.float32)
    neg = np.array([False, False, True])
    labels = jax.jit(targets.siamfc_labels, static_argnums=0, static_argnames="r_neg")(17, gt, neg, r_neg=32.0)
    for b in range(3):
        np.testing.assert_array_equal(labels[b], ref_siamfc(gt[b], neg[b], 16, 32))
    assert (np.asarray(labels[0]) == -1).any()


# ---- errors ------------------------------------------------------------------------------------------------

def test_errors_name_the_argument():
    with pytest.raises(ValueError, match=r"gt_box: expected shape \[..., 4\], got \(2, 5\)"):
        targets.anchor_targets(np.zeros((2, 5)), np.zeros(2, bool), jax.random.key(0))
    with pytest.raises(ValueError, match=r"negative: expected shape \(2,\).*got \(3,\)"):
        targets.point_targets(np.zeros((2, 4)), np.zeros(3, bool), jax.random.key(0))
    with pytest.raises(ValueError, match=r"u: expected shape \(2, 25, 25, 5\), got \(2, 25, 25\)"):
        targets.anchor_targets_np(np.zeros((2, 4)), np.zeros(2, bool), np.zeros((2, 25, 25)))
    with pytest.raises(ValueError, match="pos_num=65, total_num=64"):
        targets.AnchorConfig(pos_num=65)
    with pytest.raises(ValueError, match="thr_low <= thr_high"):
        targets.AnchorConfig(thr_low=0.7)
