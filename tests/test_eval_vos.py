"""`jaxtrack.eval.vos` against a slow restatement of the DAVIS evaluation code's definitions
(davis2017-evaluation `metrics.db_eval_iou`, `f_measure`, `_seg2bmap`, `utils.db_statistics`, and the
semi-supervised protocol of `evaluation.py`), written pixel by pixel, plus hand-computed edge cases."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxtrack.eval import vos


def ref_boundary(seg):
    """_seg2bmap, pixel by pixel."""
    h, w = seg.shape
    b = np.zeros((h, w), bool)
    for y in range(h):
        for x in range(w):
            right = seg[y, x + 1] if x + 1 < w else False
            down = seg[y + 1, x] if y + 1 < h else False
            diag = seg[y + 1, x + 1] if (x + 1 < w and y + 1 < h) else False
            if y == h - 1 and x == w - 1:
                b[y, x] = False
            elif y == h - 1:
                b[y, x] = seg[y, x] != right
            elif x == w - 1:
                b[y, x] = seg[y, x] != down
            else:
                b[y, x] = seg[y, x] != right or seg[y, x] != down or seg[y, x] != diag
    return b


def ref_f(pred, gt, void, bound_th=0.008):
    """f_measure: a boundary pixel matches when a boundary pixel of the other map lies within the disk."""
    r = bound_th if bound_th >= 1 else math.ceil(bound_th * math.hypot(*gt.shape))
    fg, gb = ref_boundary(pred & ~void), ref_boundary(gt & ~void)

    def matched(a, b):
        pts = np.argwhere(b)
        return sum(any((y - q[0]) ** 2 + (x - q[1]) ** 2 <= r * r for q in pts) for y, x in np.argwhere(a))

    n_fg, n_gt = fg.sum(), gb.sum()
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1, 0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0, 1
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1, 1
    else:
        precision, recall = matched(fg, gb) / n_fg, matched(gb, fg) / n_gt
    return 0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def ref_j(pred, gt, void):
    inter = sum(p and g and not v for p, g, v in zip(pred.ravel(), gt.ravel(), void.ravel(), strict=True))
    union = sum((p or g) and not v for p, g, v in zip(pred.ravel(), gt.ravel(), void.ravel(), strict=True))
    return 1.0 if union == 0 else inter / union


def ref_statistics(values):
    """db_statistics (uint8 bin edges: fine below 256 frames)."""
    v = np.asarray(values, np.float64)
    with np.errstate(all="ignore"):
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m, o = np.nanmean(v), np.nanmean(v > 0.5)
            ids = (np.round(np.linspace(1, len(v), 5) + 1e-10) - 1).astype(np.uint8)
            bins = [v[ids[i]:ids[i + 1] + 1] for i in range(4)]
            d = np.nanmean(bins[0]) - np.nanmean(bins[3])
    return m, o, d


def blob_masks(seed, h, w, t):
    rng = np.random.default_rng(seed)
    masks = np.zeros((t, h, w), bool)
    for i in range(t):
        for _ in range(rng.integers(0, 3)):
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            masks[i, y0:y0 + rng.integers(1, h + 1), x0:x0 + rng.integers(1, w + 1)] = True
    return masks


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 14), st.integers(1, 14), st.integers(1, 3),
       st.sampled_from([0.008, 0.15, 2.0]), st.booleans())
def test_j_and_f_equal_the_davis_definitions(seed, h, w, t, bound_th, with_void):
    pred, gt = blob_masks(seed, h, w, t), blob_masks(seed + 1, h, w, t)
    void = blob_masks(seed + 2, h, w, t) & with_void
    j, f = vos.j_measure(pred, gt, void), vos.f_measure(pred, gt, void, bound_th)
    for i in range(t):
        assert j[i] == pytest.approx(ref_j(pred[i], gt[i], void[i]), abs=1e-12)
        assert f[i] == pytest.approx(ref_f(pred[i], gt[i], void[i], bound_th), abs=1e-12)
        np.testing.assert_array_equal(vos.boundary_map(gt[i]), ref_boundary(gt[i]))


def test_empty_masks_and_absent_objects():
    empty, full = np.zeros((6, 6), bool), np.ones((6, 6), bool)
    blob = empty.copy()
    blob[2:4, 2:4] = True
    assert vos.j_measure(empty, empty) == 1.0 and vos.f_measure(empty, empty) == 1.0  # absent and not predicted
    assert vos.j_measure(blob, empty) == 0.0 and vos.f_measure(blob, empty) == 0.0  # predicted, absent
    assert vos.j_measure(empty, blob) == 0.0 and vos.f_measure(empty, blob) == 0.0  # missed
    assert not vos.boundary_map(full).any() and vos.f_measure(full, full) == 1.0  # the image edge is no boundary
    edge = vos.boundary_map(blob)  # pixels differing from the right / lower / lower-right neighbour
    assert edge.sum() == 8 and edge[1, 1] and edge[3, 3] and not edge[2, 2]
    assert vos.j_measure(blob, blob, void=blob) == 1.0  # everything void: empty union


def test_statistics_equal_db_statistics():
    rng = np.random.default_rng(0)
    for n in [1, 2, 3, 4, 5, 7, 10, 33, 200]:
        v = rng.random(n)
        v[rng.random(n) < 0.1] = np.nan
        got = vos.statistics(v)
        want = ref_statistics(v)
        np.testing.assert_allclose(got, want, atol=1e-12, equal_nan=True)
    mean, recall, decay = vos.statistics([1.0, 1.0, 0.4, 0.2, 0.0])
    assert mean == pytest.approx(0.52) and recall == pytest.approx(0.4)
    assert decay == pytest.approx(1.0 - 0.1)  # bins [0, 1] and [3, 4]


def test_semi_supervised_protocol_and_csv_layout():
    gt = np.zeros((2, 5, 8, 8), bool)
    gt[0, :, 1:4, 1:4] = True
    gt[1, 2:, 5:7, 5:7] = True  # object 2 absent in frames 0-1
    pred = gt.copy()
    pred[0, 0] = False  # the first frame is not scored
    pred[1, 3] = False  # missed in frame 3
    j, f = vos.evaluate_sequence(pred, gt)
    assert j.shape == (2, 3)
    np.testing.assert_allclose(j, [[1, 1, 1], [1, 1, 0]])  # frame 1: object 2 absent and not predicted -> 1
    np.testing.assert_allclose(f, [[1, 1, 1], [1, 1, 0]])
    table = vos.global_table({"seq": (j, f)})
    assert table["J-Mean"] == pytest.approx((1 + 2 / 3) / 2) and table["J&F-Mean"] == pytest.approx((1 + 2 / 3) / 2)
    csv = vos.global_csv({"seq": (j, f)}).splitlines()
    assert csv[0] == "J&F-Mean,J-Mean,J-Recall,J-Decay,F-Mean,F-Recall,F-Decay"
    assert vos.sequence_csv({"seq": (j, f)}).splitlines() == ["Sequence,J-Mean,F-Mean", "seq_1,1.000,1.000",
                                                              "seq_2,0.667,0.667"]


def test_bad_inputs_name_the_argument():
    with pytest.raises(ValueError, match="one shape"):
        vos.j_measure(np.zeros((3, 4)), np.zeros((4, 3)))
    with pytest.raises(ValueError, match="void"):
        vos.f_measure(np.zeros((3, 4)), np.zeros((3, 4)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match=">= 3 frames"):
        vos.evaluate_sequence(np.zeros((1, 2, 4, 4)), np.zeros((1, 2, 4, 4)))
