"""KTS against brute force over all segmentations, and on features with planted shot changes."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxtrack.eval import kts


def direct_scatter(x, a, b):
    """Within-segment scatter of frames a..b from the features themselves: sum ||x_t - mean||^2."""
    seg = x[a:b + 1]
    return float(((seg - seg.mean(0)) ** 2).sum())


def test_scatter_matrix_equals_direct_scatter():
    x = np.random.default_rng(0).normal(size=(9, 3))
    j = kts.scatter_matrix(x @ x.T)
    for a in range(9):
        for b in range(a, 9):
            assert j[a, b] == pytest.approx(direct_scatter(x, a, b), abs=1e-9)


@settings(max_examples=25)
@given(st.integers(2, 9), st.integers(0, 3), st.integers(1, 2), st.integers(0, 10**6))
def test_segment_is_optimal_against_brute_force(n, m, min_len, seed):
    if m > n // min_len - 1:
        m = n // min_len - 1
    x = np.random.default_rng(seed).normal(size=(n, 2))
    cps, cost = kts.segment(x @ x.T, m, min_len=min_len)
    best = np.inf
    for cut in itertools.combinations(range(1, n), m):
        bounds = [0, *cut, n]
        if min(np.diff(bounds)) < min_len:
            continue
        best = min(best, sum(direct_scatter(x, a, b - 1) for a, b in itertools.pairwise(bounds)))
    assert cost == pytest.approx(best, abs=1e-9)
    bounds = [0, *cps.tolist(), n]
    assert sum(direct_scatter(x, a, b - 1) for a, b in itertools.pairwise(bounds)) == pytest.approx(best, abs=1e-9)


def test_segment_auto_finds_planted_shots():
    rng = np.random.default_rng(1)
    means = rng.normal(size=(4, 16)) * 3
    lengths = [30, 45, 25, 40]
    x = np.concatenate([m + 0.3 * rng.normal(size=(n, 16)) for m, n in zip(means, lengths, strict=True)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cps = kts.segment_auto(x @ x.T, max_change_points=20)
    np.testing.assert_array_equal(cps, np.cumsum(lengths)[:-1])
    shots = kts.shots_from_change_points(cps, len(x))
    np.testing.assert_array_equal(shots, [[0, 29], [30, 74], [75, 99], [100, 139]])


def test_errors():
    with pytest.raises(ValueError, match=r"square \[n, n\]"):
        kts.scatter_matrix(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"n_change_points must be in \[0, 3\]"):
        kts.segment(np.eye(4), 4)
