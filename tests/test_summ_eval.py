"""Summarization evaluation runner: baselines by the same code, human leave-one-out by hand, KTS shots when a
video has none, uniform summaries, cross-validation tables written atomically."""

import json

import numpy as np
import pytest

from jaxtrack.data.video import Video
from jaxtrack.eval import summ_eval, summ_predict
from jaxtrack.eval.summarization import f_score, greedy_map, rank_correlation
from jaxtrack.train import dpp


def _video(rng, name="v", n=120, users=4, cps=True):
    """A video whose users like frames 20..35 (plus noise); shots 0-9, 10-19, 20-35, then 12 frames each."""
    base = np.zeros(n)
    base[20:36] = 1.0
    scores = base[None] * 3 + rng.random((users, n))
    summaries = (scores > 2.5).astype(np.uint8)
    starts = [0, 10, 20, *range(36, n, 12)]
    shots = np.stack([starts, [*starts[1:], n]], 1) - [0, 1] if cps else None
    feats = np.where(base[:, None] > 0, 1.0, -1.0) * np.ones((n, 4)) + 0.05 * rng.normal(size=(n, 4))
    return Video(name=name, n_frames=n, user_scores=scores.astype(np.float32), user_summaries=summaries,
                 change_points=shots, features=feats.astype(np.float32))


def test_human_leave_one_out_by_hand():
    video = _video(np.random.default_rng(0))
    got = summ_eval.human_leave_one_out(video, mode="max")
    fs = [f_score(video.user_summaries[u], np.delete(video.user_summaries, u, 0), "max")[0] for u in range(4)]
    taus = [rank_correlation(video.user_scores[u], np.delete(video.user_scores, u, 0))[0] for u in range(4)]
    assert got["f"] == pytest.approx(np.mean(fs)) and got["tau"] == pytest.approx(np.mean(taus))
    with pytest.raises(ValueError, match=">= 2 users"):
        summ_eval.human_leave_one_out(Video(name="one", n_frames=5, user_summaries=np.ones((1, 5), np.uint8)),
                                      mode="avg")


def test_uniform_summary_budget_and_spread():
    s = summ_eval.uniform_summary(100, 3, 0.15)
    assert s.sum() == 15 and s[:33].sum() == 5 and s[33:67].sum() == 5 and s[67:].sum() == 5
    assert summ_eval.uniform_summary(10, 5, 0.15).sum() == 1


def test_kts_shots_when_the_video_has_none():
    video = _video(np.random.default_rng(1), cps=False)
    shots = summ_eval.video_shots(video, video.features)
    assert shots[0, 0] == 0 and shots[-1, 1] == 119 and {20, 36} <= set(shots[:, 0].tolist())
    with pytest.raises(ValueError, match=r"KTS needs its features \[120, D\]"):
        summ_eval.video_shots(video, None)


def test_split_shots_by_hand():
    got = summ_eval.split_shots([[0, 9], [10, 12], [13, 29]], 4)
    # 10 frames -> 3 sub-shots of 3, 4, 3; 3 frames stay; 17 frames -> 5 sub-shots of 3, 4, 3, 4, 3
    want = [[0, 2], [3, 6], [7, 9], [10, 12], [13, 15], [16, 19], [20, 22], [23, 26], [27, 29]]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(summ_eval.split_shots([[0, 7]], 8), [[0, 7]])
    with pytest.raises(ValueError, match="max_len >= 1"):
        summ_eval.split_shots([[0, 7]], 0)


def test_max_shot_len_cuts_shots_and_reaches_evaluate():
    video = _video(np.random.default_rng(4))
    shots = summ_eval.video_shots(video, max_shot_len=5)
    assert shots[0, 0] == 0 and shots[-1, 1] == 119 and (shots[1:, 0] == shots[:-1, 1] + 1).all()
    assert (np.diff(shots, axis=1) < 5).all() and set(video.change_points[:, 0]) <= set(shots[:, 0])
    res = summ_eval.evaluate([video], None, [video.features], max_shot_len=5)
    uniform = summ_eval.uniform_summary(120, len(shots))
    assert res["uniform"]["mean"]["f"] == pytest.approx(f_score(uniform, video.user_summaries, "avg")[0])


def test_random_baseline_is_the_mean_over_seeded_draws():
    video = _video(np.random.default_rng(5))
    rng, shots = np.random.default_rng(7), summ_eval.video_shots(video)
    draws = [summ_eval.score_steps(video, rng.random(120), shots, mode="avg") for _ in range(3)]
    got = summ_eval.evaluate([video], None, [video.features], seed=7, n_random=3)["random"]["mean"]
    assert got == pytest.approx({k: np.mean([d[k] for d in draws]) for k in summ_eval.METRICS})
    with pytest.raises(ValueError, match="n_random must be >= 1"):
        summ_eval.evaluate([video], None, [video.features], n_random=0)


def test_evaluate_good_model_beats_baselines():
    rng = np.random.default_rng(2)
    videos = [_video(rng, f"v{i}", cps=i % 2 == 0) for i in range(4)]
    good = [v.user_scores.mean(0) for v in videos]
    res = summ_eval.evaluate(videos, good, [v.features for v in videos], mode="avg")
    assert set(res) == {"model", "random", "uniform", "oracle", "human"} and len(res["model"]["videos"]) == 4
    assert res["oracle"]["mean"] == res["model"]["mean"]  # the oracle is the users' mean score
    model, random, uniform = res["model"]["mean"], res["random"]["mean"], res["uniform"]["mean"]
    assert model["f"] > max(random["f"], uniform["f"]) and model["tau"] > 0.3 > abs(random["tau"])
    again = summ_eval.evaluate(videos, good, [v.features for v in videos], mode="avg")
    assert again["random"]["mean"] == random  # seeded
    with pytest.raises(ValueError, match=r"one step-score array per video \(4\), got 1"):
        summ_eval.evaluate(videos, good[:1], [v.features for v in videos])


def test_cross_validate_writes_tables(tmp_path):
    rng = np.random.default_rng(3)
    videos = [_video(rng, f"v{i}") for i in range(6)]

    def load_split(k, part):
        test = {k % 6, (k + 3) % 6}
        return [v for i, v in enumerate(videos) if (i in test) == (part == "test")]

    def fit_predict(k, train, test):
        assert len(train) == 4 and len(test) == 2
        return [v.user_scores.mean(0) for v in test]

    out = summ_eval.cross_validate(load_split, fit_predict, n_splits=3, mode="max", path_stem=tmp_path / "cv")
    assert len(out["splits"]) == 3 and out["mean"]["model"]["f"] > out["mean"]["random"]["f"]
    assert json.loads((tmp_path / "cv.json").read_text())["mean"] == out["mean"]
    md = (tmp_path / "cv.md").read_text()
    assert "## split 2" in md and "mean over 3 splits" in md and "| human |" in md


def test_dpp_map_scores_with_kernel():
    q, phi = np.array([0.9, 0.1, 0.95]), np.array([[3.0, 0.0], [0.0, 3.0], [2.9, 0.1]])
    chosen = greedy_map(dpp.kernel_matrix(q, phi))
    assert chosen[0] == 2 and 0 not in chosen  # the near-duplicate of item 2 is not added
    scores = summ_predict.dpp_map_scores({"importance": q, "phi": phi}, 1e-3)
    np.testing.assert_array_equal(scores, np.where(np.isin(np.arange(3), chosen), q, 0.0))
