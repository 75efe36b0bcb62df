"""Tracking metrics vs closed forms, slow independent loops, and the official got10k toolkit (to 1e-6)."""

import types

import numpy as np
import pytest

from jaxtrack.eval import metrics

rng = np.random.default_rng(0)


def random_boxes(t, jitter=15.0):
    gt = np.column_stack([rng.uniform(0, 300, t), rng.uniform(0, 200, t), rng.uniform(5, 80, t), rng.uniform(5, 80, t)])
    pred = gt + rng.normal(0, jitter, gt.shape)
    pred[:, 2:] = np.abs(pred[:, 2:]) + 1
    return pred, gt


def loop_iou(a, b):
    ix = max(0.0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def test_perfect_tracker_closed_form():
    _, gt = random_boxes(30)
    r = metrics.otb(gt, gt)
    # IoU = 1 exceeds every threshold but the last (1.0, strict): AUC = 20/21.
    assert r.success_auc == pytest.approx(20 / 21) and r.precision_20 == 1.0 and r.norm_precision == 1.0
    g = metrics.got10k(gt, gt)
    assert g.ao == pytest.approx(1.0) and g.sr50 == 1.0 and g.sr75 == 1.0


def test_otb_curves_match_an_explicit_loop():
    pred, gt = random_boxes(40)
    r = metrics.otb(pred, gt)
    pred[0] = gt[0]
    ious = [loop_iou(p, g) for p, g in zip(pred, gt, strict=True)]
    centre = lambda b: (b[0] + b[2] / 2, b[1] + b[3] / 2)
    errors = [np.hypot(*np.subtract(centre(p), centre(g))) for p, g in zip(pred, gt, strict=True)]
    for k, thr in enumerate(np.linspace(0, 1, 21)):
        assert r.success_curve[k] == pytest.approx(sum(i > thr for i in ious) / len(ious))
    for thr in range(51):
        assert r.precision_curve[thr] == pytest.approx(sum(e <= thr for e in errors) / len(errors))
    assert r.success_auc == pytest.approx(np.mean(r.success_curve))


def test_missing_predictions_fail_and_absent_ground_truth_is_skipped():
    pred, gt = random_boxes(10, jitter=0.0)
    pred[3] = np.nan
    gt[5] = np.nan
    r = metrics.otb(pred, gt)
    assert len(r.ious) == 9 and r.ious[3] == 0.0 and np.isinf(r.center_errors[3])
    assert r.precision_20 == pytest.approx(8 / 9)


def test_got10k_excludes_first_frame_and_covered_frames():
    pred, gt = random_boxes(12)
    covered = np.array([8, 8, 0, 8, 8, 0, 8, 8, 8, 8, 8, 8])
    r = metrics.got10k(pred, gt, covered)
    keep = [t for t in range(1, 12) if covered[t] > 0]
    want = [loop_iou(pred[t], gt[t]) for t in keep]
    np.testing.assert_allclose(r.ious, want)
    assert r.ao == pytest.approx(np.mean(want)) and r.sr50 == pytest.approx(np.mean(np.array(want) > 0.5))


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: metrics.otb(np.zeros((3, 4)), np.zeros((4, 4))), r"pred_boxes must have the ground truth's shape"),
    (lambda: metrics.otb(np.zeros((3, 5)), np.zeros((3, 5))), r"gt_boxes must be \[T, 4\]"),
    (lambda: metrics.otb(np.zeros((2, 4)), np.full((2, 4), np.nan)), "no finite box"),
    (lambda: metrics.got10k(np.zeros((3, 4)), np.ones((3, 4)), np.zeros(2)), r"covered must be \[T\]=\[3\]"),
    (lambda: metrics.got10k(np.ones((2, 4)), np.ones((2, 4)), np.array([1, 0])), "no frame to evaluate"),
])
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_otb_matches_the_got10k_toolkit():
    toolkit_metrics = pytest.importorskip("got10k.utils.metrics")
    from got10k.experiments.otb import ExperimentOTB

    for seed in range(5):
        pred, gt = random_boxes(60 + seed, jitter=5.0 + 10 * seed)
        r = metrics.otb(pred, gt)
        boxes = pred.copy()
        boxes[0] = gt[0]
        ious, ce = toolkit_metrics.rect_iou(boxes, gt.copy()), toolkit_metrics.center_error(boxes, gt)
        succ, prec = ExperimentOTB._calc_curves(types.SimpleNamespace(nbins_iou=21, nbins_ce=51), ious, ce)
        np.testing.assert_allclose(r.ious, ious, atol=1e-6)
        np.testing.assert_allclose(r.center_errors, ce, atol=1e-6)
        np.testing.assert_allclose(r.success_curve, succ, atol=1e-6)
        np.testing.assert_allclose(r.precision_curve, prec, atol=1e-6)
        assert r.success_auc == pytest.approx(np.mean(succ), abs=1e-6) and r.precision_20 == pytest.approx(prec[20])


def test_got10k_matches_the_got10k_toolkit():
    toolkit_metrics = pytest.importorskip("got10k.utils.metrics")
    from got10k.experiments.got10k import ExperimentGOT10k

    per_seq, ours = [], []
    for seed in range(4):
        pred, gt = random_boxes(50, jitter=8.0 * (seed + 1))
        pred[rng.integers(1, 50, 5)] += 400  # some boxes leave the 320x240 image: clipping matters
        covered = rng.integers(0, 9, 50)
        bound = (320, 240)
        ious = toolkit_metrics.rect_iou(pred[1:].copy(), gt[1:].copy(), bound=bound)[covered[1:] > 0]
        per_seq.append(ious)
        ours.append(metrics.got10k(pred, gt, covered, image_size=bound).ious)
        np.testing.assert_allclose(ours[-1], ious, atol=1e-6)
    ao, sr, _, curve = ExperimentGOT10k._evaluate(None, np.concatenate(per_seq), np.array([]))
    got = metrics.aggregate_got10k(ours)
    assert got.ao == pytest.approx(ao, abs=1e-6) and got.sr50 == pytest.approx(sr, abs=1e-6)
    np.testing.assert_allclose(got.success_curve, curve, atol=1e-6)
