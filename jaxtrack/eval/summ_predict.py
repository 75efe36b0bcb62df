"""A trained summarizer on videos: step importance (`predict`), greedy DPP MAP selection (`dpp_map_scores`), the
evaluation of one split next to the baselines (`evaluate_split`) and the plot of one video (`plot_video`).

    task, params = jaxtrack.workdir.load_summarizer("runs/dpplstm_synthetic")
    preds = predict(task, params, [video.features for video in videos], buckets=(64, 128, 256, 512, 1024))
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import matplotlib
import numpy as np

from jaxtrack.data.pipeline_summ import bucket_length
from jaxtrack.data.video import Video
from jaxtrack.eval import summ_eval
from jaxtrack.eval.summarization import greedy_map
from jaxtrack.train.dpp import kernel_matrix
from jaxtrack.train.summ_task import SummTask

matplotlib.use("Agg")
from matplotlib import pyplot as plt


def bucket_input(x: np.ndarray, buckets: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """One video's [N, D] features as `task.predict`'s inputs: ([1, T, D] float32 zero-padded, [1, T] mask of the
    N real steps), T = its bucket (`pipeline_summ.bucket_length`) as in training."""
    t = bucket_length(len(x), tuple(buckets))
    padded = np.zeros((1, t, x.shape[1]), np.float32)
    padded[0, :len(x)] = x
    return padded, np.arange(t)[None] < len(x)


def predict(task: SummTask, params, features: Sequence[np.ndarray], buckets: Sequence[int]) -> list[dict]:
    """Per video [N, D] features -> {"importance": [N], "phi": [N, K]}, one video at a time (`bucket_input`)."""
    apply = jax.jit(task.predict)
    out = []
    for x in features:
        y = apply(params, *map(jnp.asarray, bucket_input(x, buckets)))
        out.append({k: np.asarray(y[k][0, :len(x)]) for k in ("importance", "phi")})
    return out


def standardizer(features: Sequence[np.ndarray]) -> Callable[[np.ndarray], np.ndarray]:
    """[N_i, D] arrays -> function z-scoring [N, D] arrays per dimension with the steps' mean / std."""
    x = np.concatenate(features)
    mean, std = x.mean(0), np.maximum(x.std(0), 1e-6)
    return lambda f: ((f - mean) / std).astype(np.float32)


def dpp_map_scores(pred: dict[str, np.ndarray], jitter: float) -> np.ndarray:
    """[N] importance on the greedy DPP MAP set of L = diag(q)(Phi Phi^T + jitter I)diag(q), 0 elsewhere."""
    chosen = greedy_map(kernel_matrix(pred["importance"], pred["phi"], jitter))
    scores = np.zeros_like(pred["importance"])
    scores[chosen] = pred["importance"][chosen]
    return scores


def evaluate_split(task: SummTask, params, videos: Sequence[Video], features: Sequence[np.ndarray], *,
                   buckets: Sequence[int], mode: str, proportion: float, seed: int = 0,
                   max_shot_len: int = 0) -> tuple[dict, list[dict]]:
    """(results of `summ_eval.evaluate` plus "model_dpp_map" for dpplstm, per-video predictions) of the model on
    `videos` with step features [N_i, D] (as in training), on shots cut to `max_shot_len` frames (0: whole)."""
    preds = predict(task, params, features, buckets)
    results = summ_eval.evaluate(videos, [p["importance"] for p in preds], features, mode=mode,
                                 proportion=proportion, seed=seed, max_shot_len=max_shot_len)
    if task.loss == "dpplstm":
        rows = [summ_eval.score_steps(v, dpp_map_scores(p, task.jitter),
                                      summ_eval.video_shots(v, x, max_shot_len=max_shot_len), mode=mode,
                                      proportion=proportion)
                for v, p, x in zip(videos, preds, features, strict=True)]
        results["model_dpp_map"] = {"mean": {k: float(np.nanmean([r[k] for r in rows])) for k in summ_eval.METRICS},
                                    "videos": rows}
    return results, preds


def plot_video(video: Video, pred_frames: np.ndarray, summary: np.ndarray, shots: np.ndarray) -> bytes:
    """PNG: predicted vs annotated (users' mean, min-max scaled) frame importance, selected shots shaded."""
    users = summ_eval.user_scores(video).mean(0)
    users = (users - users.min()) / max(float(np.ptp(users)), 1e-12)
    fig, ax = plt.subplots(figsize=(9, 3))
    t = np.arange(len(video))
    ax.fill_between(t, 0, summary.astype(float), step="mid", color="tab:orange", alpha=0.25, label="selected shots")
    ax.plot(t, users, color="k", lw=1.2, label="annotated (users' mean)")
    ax.plot(t, pred_frames, color="tab:blue", lw=1.2, label="predicted")
    ax.vlines(shots[1:, 0], 0, 1, colors="gray", lw=0.5, linestyles=":")
    ax.set(xlabel="frame", ylabel="importance", title=f"{video.name}", ylim=(0, 1.02), xlim=(0, len(video) - 1))
    ax.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()
