"""`jaxtrack.eval.bootstrap.paired_interval` against a slow loop (its own resampling and percentiles), its
closed-form cases, and `video_aucs` against `metrics.otb` on written result files."""

import numpy as np
import pytest

from jaxtrack.data import synthetic
from jaxtrack.eval import benchmark, bootstrap, metrics


def _slow_interval(a, b, resamples, level, seed):
    d = [x - y for x, y in zip(a, b)]
    n = len(d)
    idx = np.random.default_rng(seed).integers(0, n, (resamples, n))  # the documented draw: resamples x n indices
    means = sorted(sum(d[i] for i in row) / n for row in idx.tolist())

    def percentile(q):  # numpy's default "linear": position q * (R - 1) between order statistics
        pos = q * (len(means) - 1)
        lo = int(np.floor(pos))
        return means[lo] + (pos - lo) * (means[min(lo + 1, len(means) - 1)] - means[lo])

    return sum(d) / n, percentile((1 - level) / 2), percentile((1 + level) / 2)


@pytest.mark.parametrize("level, seed", [(0.95, 0), (0.9, 3)])
def test_matches_slow_loop(level, seed):
    rng = np.random.default_rng(7)
    a, b = rng.uniform(0, 1, 23), rng.uniform(0, 1, 23)
    got = bootstrap.paired_interval(a, b, resamples=500, level=level, seed=seed)
    np.testing.assert_allclose(got, _slow_interval(a.tolist(), b.tolist(), 500, level, seed), rtol=1e-12)


def test_closed_forms():
    a = np.linspace(0.2, 0.8, 40)
    assert bootstrap.paired_interval(a, a - 0.05) == pytest.approx((0.05, 0.05, 0.05))  # constant difference
    # large N: the percentile interval approaches mean +- 1.96 sd / sqrt(N)
    rng = np.random.default_rng(1)
    d = rng.normal(0.1, 1.0, 4000)
    mean, lo, hi = bootstrap.paired_interval(d, np.zeros_like(d), resamples=4000)
    half = 1.96 * d.std() / np.sqrt(len(d))
    assert lo == pytest.approx(mean - half, abs=0.15 * half) and hi == pytest.approx(mean + half, abs=0.15 * half)


@pytest.mark.parametrize("a, b", [(np.zeros(3), np.zeros(4)), (np.zeros((2, 2)), np.zeros((2, 2))), ([], [])])
def test_bad_shapes(a, b):
    with pytest.raises(ValueError, match="paired_interval: a and b must be non-empty"):
        bootstrap.paired_interval(a, b)


def test_video_aucs_read_result_files(tmp_path):
    cfg = synthetic.SyntheticConfig(height=64, width=80, n_frames=8, n_shots=1, min_shot_len=8)
    videos = synthetic.make_videos(2, seed=0, config=cfg, split="test")
    rng = np.random.default_rng(0)
    expect = []
    for v in videos:
        boxes = v.boxes + rng.normal(0, 3, v.boxes.shape).astype(np.float32)
        benchmark.write_result("otb", tmp_path, "t", v.name, benchmark.Run(boxes, np.zeros(len(boxes)),
                                                                           np.full(len(boxes), 0.01)))
        expect.append(metrics.otb(np.round(boxes, 4), v.boxes).success_auc)
    np.testing.assert_allclose(bootstrap.video_aucs(str(tmp_path), "t", videos), expect, atol=1e-6)
