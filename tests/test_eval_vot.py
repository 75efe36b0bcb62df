"""VOT protocol and measures against the VOT toolkit's definitions (votchallenge/toolkit
`SupervisedExperiment.execute`, `compute_accuracy`, `AverageAccuracyRobustness.aggregate`, `EAOCurve`,
`compute_eao_curve`, `EAOScore`): hand-computed cases, and random sequences against `Toolkit`, a slow frame-by-frame
restatement of those functions written from the toolkit's code."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxtrack.data.video import Video
from jaxtrack.eval import datasets, vot

GT = np.array([0.0, 0.0, 10.0, 10.0])
INIT, FAIL, UNKNOWN = "init", "fail", "unknown"


class Scripted:
    """Reads the frame index t from pixel (0, 0) and returns a box whose IoU with GT is `overlaps[t]` (a box
    [0, 0, 10 o, 10] inside GT); overlap 0: a box far away."""

    def __init__(self, overlaps):
        self.overlaps = overlaps

    def init(self, frame, box):
        np.testing.assert_array_equal(box, GT)

    def track(self, frame):
        o = self.overlaps[int(frame[0, 0, 0])]
        return (np.array([50.0, 50.0, 5.0, 5.0]) if o <= 0 else np.array([0.0, 0.0, 10.0 * o, 10.0])), 1.0


def make_run(overlaps, skip=5):
    frames = np.zeros((len(overlaps), 12, 12, 3), np.uint8)  # GT inside the frame: clipping changes nothing
    frames[:, 0, 0, 0] = np.arange(len(overlaps))
    video = Video("v", frames=frames, boxes=np.tile(GT, (len(overlaps), 1)))
    return vot.run_vot(Scripted(overlaps), video, skip=skip)


def alternating(n, fail=()):
    """1 on even frames, 0.5 on odd ones, 0 (failure) at `fail`."""
    return np.array([0.0 if t in fail else (1.0 if t % 2 == 0 else 0.5) for t in range(n)])


class Toolkit:
    """The toolkit's computations, restated frame by frame for one scripted tracker per sequence."""

    @staticmethod
    def trajectory(overlaps, skip):
        """SupervisedExperiment.execute: INIT / FAIL / UNKNOWN markers and region overlaps."""
        traj, frame = [UNKNOWN] * len(overlaps), 0
        while frame < len(overlaps):
            traj[frame] = INIT
            frame += 1
            while frame < len(overlaps):
                if overlaps[frame] <= 0:
                    traj[frame] = FAIL
                    frame += skip
                    break
                traj[frame] = overlaps[frame]
                frame += 1
        return traj

    @staticmethod
    def region_overlaps(traj):
        return [0.0 if r in (INIT, FAIL, UNKNOWN) else r for r in traj]  # special regions overlap 0

    @classmethod
    def accuracy(cls, traj, burnin):
        """compute_accuracy: (mean over kept frames or 0, kept count)."""
        mask = [True] * len(traj)
        for i, r in enumerate(traj):
            if r == UNKNOWN:
                mask[i] = False
            elif r == INIT:
                for j in range(i, min(len(traj), i + burnin)):
                    mask[j] = False
            elif r == FAIL:
                mask[i] = False
        kept = [o for o, m in zip(cls.region_overlaps(traj), mask, strict=True) if m]
        return sum(kept) / len(kept) if kept else 0.0

    @classmethod
    def average_ar(cls, trajs, burnin):
        """AverageAccuracyRobustness.aggregate over AccuracyRobustness.subcompute (weight: sequence length)."""
        acc = fails = total = 0.0
        for traj in trajs:
            w = len(traj)
            acc += cls.accuracy(traj, burnin) * w
            fails += sum(r == FAIL for r in traj) * w
            total += w
        return acc / total, fails / total

    @classmethod
    def eao_curve(cls, trajs):
        """EAOCurve.subcompute + compute_eao_curve (in float64)."""
        segs, success = [], []
        for traj in trajs:
            ov = cls.region_overlaps(traj)
            fails = [i for i, r in enumerate(traj) if r == FAIL]
            inits = [i for i, r in enumerate(traj) if r == INIT]
            if fails:
                for i in range(len(fails)):
                    segs.append(ov[inits[i]:fails[i]])
                    success.append(False)
                if len(inits) > len(fails):
                    segs.append(ov[inits[-1]:])
                    success.append(True)
            else:
                segs.append(ov)
                success.append(True)
        max_len = max(len(s) for s in segs)
        curve = []
        for j in range(max_len):
            num = den = 0.0
            for s, ok in zip(segs, success, strict=True):
                padded = list(s) + [0.0] * (max_len - len(s))
                m = 1.0 if (not ok or j < len(s)) else 0.0
                value = padded[0] if j == 0 else sum(padded[1:j + 1]) / j
                num += value * m
                den += m
            curve.append(num / den)
        return np.array(curve)

    @classmethod
    def eao(cls, trajs, lo, hi):
        curve = cls.eao_curve(trajs)[lo:hi + 1]
        return float(np.mean(curve)) if len(curve) else float("nan")


def test_the_issue_fixture():
    """20 frames, failures at 4 and 15, burn-in 2: accuracy over frames 2, 3, 11..14 only = 4.5 / 6."""
    r = make_run(alternating(20, {4, 15}))
    assert r.inits == (0, 9) and r.failures == (4, 15)  # re-initialised 5 frames after the failure at 4
    assert np.isnan(r.overlaps[[0, 5, 6, 7, 8, 9, 16, 19]]).all()
    ar = vot.accuracy_robustness([r], burnin=2)
    assert ar == {"accuracy": pytest.approx(0.75), "robustness": 2.0, "failures": 2.0}
    # segments [0, .5, 1, .5] (frames 0-3) and [0, 1, .5, 1, .5, 1] (frames 9-14); the failure frames excluded
    np.testing.assert_allclose(vot.eao_curve(vot.segments(r)), [0, 0.75, 0.75, 0.75, 0.625, 0.6])
    assert vot.eao([r], (2, 4)) == pytest.approx((0.75 + 0.75 + 0.625) / 3)
    assert vot.eao([r], (4, 99)) == pytest.approx((0.625 + 0.6) / 2)  # the part of the interval the curve reaches
    assert np.isnan(vot.eao([r], (6, 10)))


def test_failures_in_the_first_and_last_frames():
    """Failure at frame 1 (segment = the initialisation frame alone), re-init at 6, failure in the last frame
    (no re-initialisation past the end)."""
    r = make_run(alternating(12, {1, 11}))
    assert r.inits == (0, 6) and r.failures == (1, 11)
    ar = vot.accuracy_robustness([r], burnin=2)
    assert ar["accuracy"] == pytest.approx(2.5 / 3) and ar["robustness"] == 2  # frames 8, 9, 10
    np.testing.assert_allclose(vot.eao_curve(vot.segments(r)), [0, 0.25, 0.375, 1 / 3, 0.375])


def test_back_to_back_failures():
    """Failure at 3, re-init at 8, failure at once at 9, re-init at 14, then tracked to the end."""
    r = make_run(alternating(20, {3, 9}))
    assert r.inits == (0, 8, 14) and r.failures == (3, 9)
    segs = vot.segments(r)
    assert [(len(s), failed) for s, failed in segs] == [(3, True), (1, True), (6, False)]
    # Phi[5]: the two failed segments count (zero-padded), the completed one reaches Ns = 5
    curve = vot.eao_curve(segs)
    assert curve[5] == pytest.approx((1.5 / 5 + 0 + 3.5 / 5) / 3)
    assert vot.accuracy_robustness([r], burnin=3)["accuracy"] == pytest.approx(np.mean([0.5, 1, 0.5]))  # 17, 18, 19


def test_sequences_shorter_than_the_burnin_count_zero_with_their_length():
    short, long = make_run(alternating(5)), make_run(alternating(20))
    assert vot.sequence_accuracy(short, burnin=10) == 0.0
    acc = vot.sequence_accuracy(long, burnin=10)  # frames 10..19
    assert acc == pytest.approx(0.75)
    assert vot.accuracy_robustness([short, long], burnin=10)["accuracy"] == pytest.approx(20 * acc / 25)


def test_accuracy_is_weighted_by_sequence_length():
    a, b = make_run(alternating(10, {3})), make_run(np.full(30, 0.2))
    ar = vot.accuracy_robustness([a, b], burnin=2)
    acc_a = vot.sequence_accuracy(a, burnin=2)
    assert ar["accuracy"] == pytest.approx((10 * acc_a + 30 * 0.2) / 40)
    assert ar["robustness"] == pytest.approx(10 / 40) and ar["failures"] == 1


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 70), st.floats(0, 0.3), st.integers(0, 10**6)), min_size=1, max_size=4),
       st.integers(0, 12), st.integers(1, 6), st.integers(0, 40), st.integers(0, 40))
def test_random_sequences_equal_the_toolkit(specs, burnin, skip, lo, span):
    """Random overlaps with random failures, sequence lengths, burn-in, skip and EAO interval."""
    overlaps = []
    for n, p_fail, seed in specs:
        rng = np.random.default_rng(seed)
        o = rng.uniform(0.05, 1.0, n).round(3)
        o[rng.random(n) < p_fail] = 0.0
        overlaps.append(o)
    runs = [make_run(o, skip=skip) for o in overlaps]
    trajs = [Toolkit.trajectory(o, skip) for o in overlaps]
    ar = vot.accuracy_robustness(runs, burnin=burnin)
    acc, rob = Toolkit.average_ar(trajs, burnin)
    assert ar["accuracy"] == pytest.approx(acc, abs=1e-12) and ar["robustness"] == pytest.approx(rob, abs=1e-12)
    assert ar["failures"] == sum(t.count(FAIL) for t in trajs)
    np.testing.assert_allclose(vot.eao_curve([s for r in runs for s in vot.segments(r)]), Toolkit.eao_curve(trajs),
                               rtol=0, atol=1e-12)
    np.testing.assert_allclose(vot.eao(runs, (lo, lo + span)), Toolkit.eao(trajs, lo, lo + span), atol=1e-12)


def test_named_stacks_take_the_toolkit_interval():
    assert datasets.get("vot2018").eao_interval == (100, 356) and datasets.get("vot2019").eao_interval == (46, 291)
    assert datasets.get("vot2015").eao_interval == (114, 378) and datasets.get("vot2016").eao_interval == (108, 371)
    assert datasets.get("vot").eao_interval is None  # estimated from the sequence lengths
    lo, hi = vot.eao_interval([90, 100, 100, 110, 300])
    assert lo <= 100 <= hi < 300


def rotated_box(rng, w_img, h_img):
    cx, cy = rng.uniform(-10, w_img + 10), rng.uniform(-10, h_img + 10)
    w, h, a = rng.uniform(0.5, 40), rng.uniform(0.5, 40), rng.uniform(0, np.pi)
    c, s = np.cos(a), np.sin(a)
    local = np.array([[-w, -h], [w, -h], [w, h], [-w, h]]) / 2
    return local @ np.array([[c, s], [-s, c]]) + [cx, cy]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 10**6), st.booleans())
def test_polygon_overlap_equals_shapely(seed, bounded):
    """Random rotated boxes, partly outside a 64x48 frame: IoU of the parts inside the frame (bounded) or whole."""
    shapely = pytest.importorskip("shapely")
    rng = np.random.default_rng(seed)
    a, b = rotated_box(rng, 64, 48), rotated_box(rng, 64, 48)
    if rng.random() < 0.2:
        b = a + rng.normal(0, 2, (4, 2))  # heavy overlap (b stays a quadrilateral, possibly non-convex)
    pa, pb = shapely.Polygon(a), shapely.Polygon(b)
    if not pb.is_valid:
        return
    if bounded:
        frame = shapely.box(0, 0, 64, 48)
        pa, pb = pa.intersection(frame), pb.intersection(frame)
    union = pa.union(pb).area
    want = pa.intersection(pb).area / union if pa.area > 0 and pb.area > 0 else 0.0
    got = vot.polygon_overlap(a, b, (64, 48) if bounded else None)
    assert got == pytest.approx(want, abs=1e-9)


class Rotated(Scripted):
    """Reports a rotated box (`last_polygon`): GT's square turned by 45 degrees about its centre."""

    def track(self, frame):
        box, score = super().track(frame)
        self.last_polygon = 5 + 5 * np.sqrt(2) * np.array([[0, -1], [1, 0], [0, 1], [-1, 0]])
        return box, score


def test_run_vot_scores_rotated_boxes_and_ground_truth_polygons():
    n = 8
    frames = np.zeros((n, 12, 12, 3), np.uint8)
    frames[:, 0, 0, 0] = np.arange(n)
    video = Video("v", frames=frames, boxes=np.tile(GT, (n, 1)))
    r = vot.run_vot(Rotated(np.ones(n)), video)
    # the diamond (area 100, corners outside the 12x12 frame) against the 10x10 square: clipped to the frame
    diamond = 5 + 5 * np.sqrt(2) * np.array([[0, -1], [1, 0], [0, 1], [-1, 0]])
    want = vot.polygon_overlap(diamond, [[0, 0], [10, 0], [10, 10], [0, 10]], (12, 12))
    np.testing.assert_allclose(r.overlaps[1:], want)
    assert 0.5 < want < 1
    tilted = np.tile(diamond, (n, 1, 1))
    video = Video("v", frames=frames, boxes=np.tile(GT, (n, 1)), polygons=tilted.astype(np.float32))
    r = vot.run_vot(Rotated(np.ones(n)), video)
    np.testing.assert_allclose(r.overlaps[1:], 1.0, atol=1e-6)  # the ground truth is the same diamond
