"""Paired bootstrap interval on the difference of two trackers' per-video scores. `--mode=eval` writes it for every
pair of its trackers into summary.md; the CLI pairs trackers of different evaluations of the same videos:

    python -m jaxtrack.eval.bootstrap RESULTS_DIR LABEL_A LABEL_B NUM_VIDEOS [LABEL_A LABEL_B ...]

RESULTS_DIR is an evaluation's `results/` folder (`<workdir>/eval/synthetic/results`); the videos are the first
NUM_VIDEOS synthetic test videos of `--mode=eval`'s defaults (`eval.seed=0`, default SyntheticConfig), as
`eval.num_videos=NUM_VIDEOS` evaluates them. A label holding a "/" is a tracker's results folder of another
evaluation of the same videos (`runs/dat_eval/eval/synthetic/results/csrt`). Each pair of labels prints
`A - B: mean difference [lo, hi]`, the percentile interval of the mean difference over 10,000 resamples of the
videos (the same videos for both trackers: paired), seed 0. (The success AUC is the only score read.)
"""

from __future__ import annotations

import sys

import numpy as np

from jaxtrack.data import synthetic
from jaxtrack.eval import benchmark


def paired_interval(a, b, *, resamples: int = 10_000, level: float = 0.95,
                    seed: int = 0) -> tuple[float, float, float]:
    """(mean of a - b, lower, upper): percentile bootstrap interval at `level` of the mean paired difference of the
    per-video scores a, b [N] (videos resampled with replacement, `resamples` times, numpy Generator `seed`; the
    percentiles are numpy's linear interpolation)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.ndim != 1 or a.shape != b.shape or not len(a):
        raise ValueError(f"paired_interval: a and b must be non-empty [N] of one shape, got {a.shape} and {b.shape}")
    if not 0 < level < 1:
        raise ValueError(f"paired_interval: level must lie in (0, 1), got {level}")
    d = a - b
    idx = np.random.default_rng(seed).integers(0, len(d), (resamples, len(d)))
    lo, hi = np.quantile(d[idx].mean(axis=1), [(1 - level) / 2, (1 + level) / 2])
    return float(d.mean()), float(lo), float(hi)


def video_aucs(results_dir: str, label: str, videos) -> np.ndarray:
    """[N] success AUC per video of tracker `label`'s OTB-layout result files (`benchmark.read_result`)."""
    runs = [benchmark.read_result("otb", results_dir, label, v.name) for v in videos]
    return np.array([benchmark.score_sequence(v, r).otb.success_auc for v, r in zip(videos, runs, strict=True)])


def main(argv: list[str]) -> None:
    args = argv[1:]
    if len(args) < 4 or len(args) % 2 or not args[3].isdigit():
        sys.exit(f"usage: python -m jaxtrack.eval.bootstrap RESULTS_DIR LABEL_A LABEL_B NUM_VIDEOS [LABEL_A LABEL_B "
                 f"...] (got {args})")
    root, n = args[0], int(args[3])
    pairs = [(args[1], args[2])] + [(args[i], args[i + 1]) for i in range(4, len(args), 2)]
    videos = synthetic.make_videos(n, seed=0, split="test")
    aucs = {}
    for label in {x for p in pairs for x in p}:
        where, name = label.rstrip("/").rsplit("/", 1) if "/" in label else (root, label)
        try:
            aucs[label] = video_aucs(where, name, videos)
        except FileNotFoundError as e:
            sys.exit(f"bootstrap: no results of {name!r} for the {n} videos under {where}: {e}")
    for a, b in pairs:
        mean, lo, hi = paired_interval(aucs[a], aucs[b])
        print(f"{a} - {b}: {mean:+.3f} [{lo:+.3f}, {hi:+.3f}] success AUC ({n} videos, 10,000 paired resamples)")


if __name__ == "__main__":
    main(sys.argv)
