"""Summarization evaluation: predicted importance -> keyshot summary -> F-score and rank correlation, with the
baselines computed by the same code, and a k-fold cross-validation runner.

Per video (F frames, N steps on `picks`): step scores [N] -> frame scores [F] (`upsample_scores`) -> shots (the
video's `change_points`, or KTS on its step features when it has none; with `max_shot_len`, longer shots are
cut into equal sub-shots) -> 0/1 keyshot summary at `proportion` of the frames (knapsack) -> F-score against
the users' summaries (`mode` "max": SumMe, "avg": TVSum) and Kendall tau / Spearman rho of the frame scores
against the users' scores (their summaries where a dataset has no scores). Methods: "model" (the given step
scores), "random" (uniform random step scores, metrics averaged over draws), "uniform" (evenly spaced segments,
one per shot, `proportion` of the frames in all; its 0/1 summary is its score), "oracle" (the users' mean score
on the steps: what the protocol gives a perfect importance predictor) and "human" (leave-one-out: each user's
summary / scores against the other users', averaged over users).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import numpy as np
from etils import epath

from jaxtrack.data.video import Video
from jaxtrack.eval import kts
from jaxtrack.eval.summarization import f_score, keyshot_summary, rank_correlation, upsample_scores
from jaxtrack.files import write_atomic

METRICS = ("f", "precision", "recall", "tau", "rho")


def picks(video: Video) -> np.ndarray:
    """[N] frame index of each step (every frame when the video has no picks)."""
    return np.arange(len(video)) if video.picks is None else np.asarray(video.picks, np.int64)


def split_shots(shots, max_len: int) -> np.ndarray:
    """[S, 2] inclusive frame ranges -> [S', 2]: a shot of n > `max_len` frames becomes ceil(n / max_len)
    consecutive sub-shots of near-equal length (floor or ceil of n / count)."""
    shots = np.asarray(shots, np.int64)
    if max_len < 1 or shots.ndim != 2 or shots.shape[1] != 2:
        raise ValueError(f"split_shots: need [S, 2] shots and max_len >= 1, got {shots.shape} and {max_len}")
    out = []
    for a, b in shots:
        edges = a + np.linspace(0, b + 1 - a, -(-(b + 1 - a) // max_len) + 1).round().astype(np.int64)
        out.append(np.stack([edges[:-1], edges[1:] - 1], 1))
    return np.concatenate(out)


def video_shots(video: Video, features: np.ndarray | None = None, *, max_change_points: int | None = None,
                max_shot_len: int = 0) -> np.ndarray:
    """[S, 2] inclusive frame ranges: `video.change_points`, else KTS (`kts.segment_auto`, vmax 1, on the cosine
    Gram matrix of `features` [N, D] on picks, as DSNet) with at most `max_change_points` (default N - 1);
    shots longer than `max_shot_len` (0: no limit) are cut into equal sub-shots (`split_shots`)."""
    if max_shot_len:
        return split_shots(video_shots(video, features, max_change_points=max_change_points), max_shot_len)
    if video.change_points is not None and len(video.change_points):
        return np.asarray(video.change_points, np.int64)
    steps = picks(video)
    if features is None or np.shape(features) != (len(steps), np.shape(features)[-1]):
        raise ValueError(f"video {video.name!r} has no change points: KTS needs its features [{len(steps)}, D], got "
                         f"{None if features is None else np.shape(features)}")
    x = np.asarray(features, np.float64)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    cps = kts.segment_auto(x @ x.T, len(steps) - 1 if max_change_points is None else max_change_points)
    return kts.shots_from_change_points(steps[cps], len(video))


def user_scores(video: Video) -> np.ndarray:
    """[U, F] per-user frame scores: `user_scores`, or the users' 0/1 summaries where there are none (SumMe)."""
    scores = video.user_scores if video.user_scores is not None else video.user_summaries
    if scores is None:
        raise ValueError(f"video {video.name!r}: needs user_scores or user_summaries for evaluation")
    return np.asarray(scores, np.float64)


def _metrics(summary, frame_scores, users_summary, users_scores, mode: str) -> dict[str, float]:
    f, p, r = f_score(summary, users_summary, mode)
    tau, rho = rank_correlation(frame_scores, users_scores)
    return {"f": f, "precision": p, "recall": r, "tau": tau, "rho": rho}


def score_steps(video: Video, step_scores, shots: np.ndarray, *, mode: str, proportion: float = 0.15) -> dict:
    """Metrics (`METRICS`) of one video's step scores [N] (module docstring)."""
    frame_scores = upsample_scores(step_scores, picks(video), len(video))
    summary = keyshot_summary(frame_scores, shots, proportion)
    return _metrics(summary, frame_scores, video.user_summaries, user_scores(video), mode)


def uniform_summary(n_frames: int, n_segments: int, proportion: float = 0.15) -> np.ndarray:
    """[n_frames] 0/1: `n_segments` equal segments centred in equal windows, floor(n_frames * proportion) in all."""
    budget = int(np.floor(n_frames * proportion))
    n_segments = max(1, min(int(n_segments), budget))
    summary = np.zeros(n_frames, np.uint8)
    edges = np.linspace(0, n_frames, n_segments + 1)
    lengths = np.diff(np.linspace(0, budget, n_segments + 1).round().astype(int))
    for start, end, length in zip(edges[:-1], edges[1:], lengths, strict=True):
        a = round((start + end - length) / 2)
        summary[a:a + length] = 1
    return summary


def human_leave_one_out(video: Video, *, mode: str) -> dict[str, float]:
    """Mean over users of their summary / scores scored against the other users' (needs >= 2 users)."""
    summaries, scores = np.asarray(video.user_summaries), user_scores(video)
    if len(summaries) < 2:
        raise ValueError(f"video {video.name!r}: human leave-one-out needs >= 2 users, got {len(summaries)}")
    rows = [_metrics(summaries[u], scores[u], np.delete(summaries, u, 0), np.delete(scores, u, 0), mode)
            for u in range(len(summaries))]
    return {k: float(np.nanmean([r[k] for r in rows])) for k in METRICS}


def evaluate(videos: Sequence[Video], step_scores: Sequence[np.ndarray] | None, features: Sequence[np.ndarray], *,
             mode: str = "avg", proportion: float = 0.15, seed: int = 0, max_shot_len: int = 0,
             n_random: int = 20) -> dict[str, dict]:
    """{method: {"mean": {metric: float}, "videos": [{metric: float} per video]}} for "model" (only when
    `step_scores` [N_i] per video are given), "random" (per video, the mean over `n_random` draws), "uniform",
    "oracle" and "human" on the same shots (`video_shots(..., max_shot_len=max_shot_len)`)."""
    if n_random < 1:
        raise ValueError(f"evaluate: n_random must be >= 1, got {n_random}")
    if step_scores is not None and len(step_scores) != len(videos):
        raise ValueError(f"evaluate: need one step-score array per video ({len(videos)}), got {len(step_scores)}")
    if len(features) != len(videos):
        raise ValueError(f"evaluate: need one feature array per video ({len(videos)}), got {len(features)}")
    rng = np.random.default_rng(seed)
    rows: dict[str, list[dict]] = {"model": [], "random": [], "uniform": [], "oracle": [], "human": []}
    for i, video in enumerate(videos):
        shots = video_shots(video, features[i], max_shot_len=max_shot_len)
        if step_scores is not None:
            rows["model"].append(score_steps(video, step_scores[i], shots, mode=mode, proportion=proportion))
        draws = [score_steps(video, rng.random(len(picks(video))), shots, mode=mode, proportion=proportion)
                 for _ in range(n_random)]
        rows["random"].append({k: float(np.nanmean([r[k] for r in draws])) for k in METRICS})
        uniform = uniform_summary(len(video), len(shots), proportion)
        rows["uniform"].append(_metrics(uniform, uniform, video.user_summaries, user_scores(video), mode))
        oracle = user_scores(video)[:, picks(video)].mean(0)
        rows["oracle"].append(score_steps(video, oracle, shots, mode=mode, proportion=proportion))
        rows["human"].append(human_leave_one_out(video, mode=mode))
    return {name: {"mean": {k: float(np.nanmean([r[k] for r in rs])) for k in METRICS}, "videos": rs}
            for name, rs in rows.items() if rs}


def markdown_table(means: dict[str, dict[str, float]], *, first: str = "method") -> str:
    """Markdown table: one row per key of `means` ({row: {metric: value}}), columns `METRICS`."""
    lines = [f"| {first} | " + " | ".join(METRICS) + " |", "|---" * (len(METRICS) + 1) + "|"]
    lines += [f"| {name} | " + " | ".join(f"{m[k]:.3f}" for k in METRICS) + " |" for name, m in means.items()]
    return "\n".join(lines)


def write_results(path_stem: epath.PathLike, results: dict, markdown: str) -> None:
    """Writes `<stem>.json` (results) and `<stem>.md` (markdown) atomically."""
    stem = epath.Path(path_stem)
    write_atomic(stem.with_name(stem.name + ".json"), json.dumps(results, indent=1).encode())
    write_atomic(stem.with_name(stem.name + ".md"), markdown.encode())


def cross_validate(load_split: Callable[[int, str], Sequence[Video]],
                   fit_predict: Callable[[int, Sequence[Video], Sequence[Video]], Sequence[np.ndarray]], *,
                   n_splits: int = 5, mode: str = "avg", proportion: float = 0.15, seed: int = 0,
                   path_stem: epath.PathLike | None = None) -> dict:
    """k-fold evaluation (the eccv16 h5 `split<k>_train/test` protocol): per split k, `fit_predict(k, train, test)`
    gives step scores [N_i] per test video, evaluated next to the baselines on the videos' stored features.

    Returns {"splits": [evaluate(...) per split], "mean": {method: {metric: mean over splits}}, "test_videos":
    [[name per test video] per split]}; with `path_stem`, also writes it (`write_results`) with one markdown
    table per split and the mean table.
    """
    if n_splits < 1:
        raise ValueError(f"cross_validate: n_splits must be >= 1, got {n_splits}")
    splits, names = [], []
    for k in range(n_splits):
        train, test = load_split(k, "train"), load_split(k, "test")
        missing = [v.name for v in test if v.features is None]
        if missing:
            raise ValueError(f"cross_validate: split {k} test videos without features: {missing[:5]}")
        scores = fit_predict(k, train, test)
        names.append([v.name for v in test])
        splits.append(evaluate(test, scores, [v.features for v in test], mode=mode, proportion=proportion,
                               seed=seed + k))
    mean = {name: {m: float(np.mean([s[name]["mean"][m] for s in splits])) for m in METRICS} for name in splits[0]}
    result = {"splits": splits, "mean": mean, "test_videos": names}
    if path_stem is not None:
        parts = [f"## split {k} ({len(names[k])} test videos)\n\n"
                 + markdown_table({n: r["mean"] for n, r in s.items()}) for k, s in enumerate(splits)]
        parts.append(f"## mean over {n_splits} splits (F mode {mode!r})\n\n" + markdown_table(mean))
        write_results(path_stem, result, "\n\n".join(parts) + "\n")
    return result
