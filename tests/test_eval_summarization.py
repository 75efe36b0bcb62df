"""Summarization metrics vs brute force, hand-computed cases and scipy's direct formulas; greedy DPP MAP vs
brute force."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jaxtrack.eval import summarization as summ


def test_f_score_hand_computed():
    machine = np.array([1, 1, 1, 1, 0, 0, 0, 0])
    users = np.array([[1, 1, 0, 0, 0, 0, 0, 0],   # P 2/4, R 2/2 -> F 2/3
                      [0, 0, 0, 0, 1, 1, 1, 1]])  # no overlap -> F 0
    f, p, r = summ.f_score(machine, users, "max")
    assert (f, p, r) == pytest.approx((2 / 3, 0.5, 1.0), abs=1e-6)
    f, p, r = summ.f_score(machine, users, "avg")
    assert (f, p, r) == pytest.approx((1 / 3, 0.25, 0.5), abs=1e-6)
    # a shorter machine summary is zero-padded, a longer one cut
    assert summ.f_score(machine[:6], users, "max")[0] == pytest.approx(2 / 3, abs=1e-6)
    assert summ.f_score(np.append(machine, [1, 1]), users, "max")[0] == pytest.approx(2 / 3, abs=1e-6)


def test_rank_correlation_matches_scipy_per_user_mean():
    rng = np.random.default_rng(0)
    pred, users = rng.random(50), rng.integers(1, 6, (4, 50)).astype(float)
    tau, rho = summ.rank_correlation(pred, users)
    want_tau = np.mean([_kendall_tau_b(-pred, -u) for u in users])
    assert tau == pytest.approx(want_tau, abs=1e-12)
    assert rho == pytest.approx(np.mean([np.corrcoef(_ranks(pred), _ranks(u))[0, 1] for u in users]), abs=1e-12)
    assert summ.rank_correlation(users[0], users[:1]) == pytest.approx((1.0, 1.0))


def _ranks(a):
    """Average ranks (1-based) by explicit counting."""
    return np.array([np.sum(a < v) + (np.sum(a == v) + 1) / 2 for v in a])


def _kendall_tau_b(x, y):
    """Kendall tau-b by the pair-counting definition (ties in x or y excluded from the normalisers)."""
    conc = disc = tx = ty = 0
    for i, j in itertools.combinations(range(len(x)), 2):
        sx, sy = np.sign(x[i] - x[j]), np.sign(y[i] - y[j])
        conc += sx * sy > 0
        disc += sx * sy < 0
        tx += sx == 0 and sy != 0
        ty += sy == 0 and sx != 0
    return (conc - disc) / np.sqrt((conc + disc + tx) * (conc + disc + ty))


@settings(max_examples=60)
@given(st.lists(st.tuples(st.floats(0, 10), st.integers(0, 8)), min_size=1, max_size=9), st.integers(0, 25))
def test_knapsack_is_optimal_against_brute_force(items, capacity):
    values, weights = (np.array(v) for v in zip(*items, strict=True))
    chosen = summ.knapsack(values, weights, capacity)
    assert weights[chosen].sum() <= capacity
    subsets = (list(s) for r in range(len(items) + 1) for s in itertools.combinations(range(len(items)), r))
    best = max(values[s].sum() for s in subsets if weights[s].sum() <= capacity)
    assert values[chosen].sum() == pytest.approx(best, abs=1e-9)


def test_knapsack_tie_break_leaves_out_later_items():
    assert summ.knapsack([1.0, 1.0], [2, 2], 2).tolist() == [0]


def test_keyshot_summary_picks_the_best_shots_within_15_percent():
    scores = np.zeros(100)
    scores[40:50] = 1.0  # shot 2 (10 frames) is the most important, shot 4 (5 frames) next
    scores[90:95] = 0.5
    cps = np.array([[0, 19], [20, 39], [40, 49], [50, 89], [90, 94], [95, 99]])
    summary = summ.keyshot_summary(scores, cps)
    assert summary.sum() == 15 and summary[40:50].all() and summary[90:95].all()


def test_upsample_scores_holds_each_pick():
    out = summ.upsample_scores([1.0, 2.0, 3.0], [2, 5, 7], 9)
    np.testing.assert_array_equal(out, [0, 0, 1, 1, 1, 2, 2, 3, 3])


@pytest.mark.parametrize(("call", "pattern"), [
    (lambda: summ.f_score([1], [[1]], "mean"), "mode must be one of"),
    (lambda: summ.f_score([1], [1], "max"), r"user_summary must be \[U, N\]"),
    (lambda: summ.rank_correlation([1, 2], [[1, 2, 3]]), r"user_scores must be \[U, 2\]"),
    (lambda: summ.knapsack([1.0], [1.5], 3), "non-negative integers"),
    (lambda: summ.keyshot_summary(np.zeros(10), [[0, 4], [5, 8]]), "covering"),
    (lambda: summ.upsample_scores([1.0, 2.0], [3, 1], 5), "increasing picks"),
])
def test_bad_input(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def _brute_force_map(L):
    n = len(L)
    subsets = itertools.chain.from_iterable(itertools.combinations(range(n), r) for r in range(n + 1))
    return max(subsets, key=lambda s: np.linalg.det(L[np.ix_(s, s)]) if s else 1.0)


def test_greedy_map_properties_against_brute_force():
    rng = np.random.default_rng(3)
    for _ in range(20):
        n = int(rng.integers(2, 7))
        b = rng.normal(size=(n, int(rng.integers(1, 5)))) * rng.uniform(0.5, 2.0)
        L = b @ b.T + 1e-3 * np.eye(n)
        chosen = summ.greedy_map(L)
        if len(chosen):
            assert chosen[0] == np.argmax(np.diag(L))  # the first pick is the exact best singleton
        dets = [1.0] + [np.linalg.det(L[np.ix_(chosen[:i], chosen[:i])]) for i in range(1, len(chosen) + 1)]
        assert np.all(np.diff(dets) >= -1e-9)  # adding an item never decreases det
        best = _brute_force_map(L)
        best_det = np.linalg.det(L[np.ix_(best, best)]) if best else 1.0
        assert dets[-1] <= best_det + 1e-9
    d = np.array([0.5, 3.0, 1.5, 0.9, 2.0])  # diagonal L: the MAP is every item with L_ii > 1, which greedy finds
    assert sorted(summ.greedy_map(np.diag(d))) == sorted(_brute_force_map(np.diag(d))) == [1, 2, 4]
    assert summ.greedy_map(np.diag(d)).tolist() == [1, 4, 2] and summ.greedy_map(np.diag(d), max_size=1).tolist() == [1]
    with pytest.raises(ValueError, match="square"):
        summ.greedy_map(np.zeros((3, 4)))
