"""Action recognition evaluation: video-level scores, top-k accuracy, per-group accuracy, confusion matrices (PNG),
the reversed-order test, and model cost (parameters, FLOPs per clip, CPU clips/s).

Video scores average the softmax of every test view of each video: `num_clips` clips times `test_crops` crops
(`data.pipeline_clips`; TSN / TRN / ECO test protocols average clips and crops, as mmaction2's `average_clips="prob"`).
A mirrored view's scores count for the mirrored classes (`flip_pairs`, e.g. move left-to-right / right-to-left).
The reversed-order test feeds every clip's segments backwards (segments and the frames of each snippet, with the
mask): an order-free model (TSN) gives the same scores, an order-aware one (TRN) swaps time-reverse classes.
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from etils import epath

from jaxtrack.files import write_atomic


def reverse_order(batch: dict) -> dict:
    """The batch with every clip played backwards: frames [B, K, L, ...] flipped on K and L, mask on K."""
    return {**batch, "frames": batch["frames"][:, ::-1, ::-1], "mask": batch["mask"][:, ::-1]}


def video_scores(predict: Callable[[dict], jax.Array], batches: Iterable[dict], num_videos: int, *,
                 reverse: bool = False, flip_pairs: Sequence[tuple[int, int]] = ()) -> np.ndarray:
    """[V, C] mean softmax over each video's test views (`batch["index"]` says the video) of `predict(batch)`; in
    rows with `batch["flip"]` (mirrored views) the two classes of every `flip_pairs` pair swap scores first."""
    totals, counts = None, np.zeros(num_videos)
    for batch in batches:
        batch = reverse_order(batch) if reverse else batch
        probs = np.asarray(jax.nn.softmax(predict(batch).astype(jnp.float32), -1))
        if totals is None:
            totals, mirror = np.zeros((num_videos, probs.shape[1])), np.arange(probs.shape[1])
            for a, b in flip_pairs:
                mirror[[a, b]] = b, a
        if "flip" in batch:
            probs = np.where(np.asarray(batch["flip"])[:, None], probs[:, mirror], probs)
        np.add.at(totals, batch["index"], probs)
        np.add.at(counts, batch["index"], 1)
    if totals is None or not counts.all():
        raise ValueError(f"scores for {int((counts > 0).sum())} of {num_videos} videos: the batches missed some")
    return totals / counts[:, None]


def topk_accuracy(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    """Fraction of videos whose label is among the k highest scores (ties count for the label)."""
    higher = (scores > np.take_along_axis(scores, labels[:, None], 1)).sum(1)
    return float(np.mean(higher < k))


def confusion(pred: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """[C, C] counts: row = true class, column = predicted class."""
    out = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(out, (labels, pred), 1)
    return out


@dataclasses.dataclass(frozen=True)
class Accuracy:
    """top1 / top5 over all videos, top1 per group of classes (e.g. "order_only", "appearance"), confusion."""

    top1: float
    top5: float
    groups: dict
    confusion: np.ndarray

    def row(self) -> dict:
        return {"top1": self.top1, "top5": self.top5, **{f"top1_{g}": v for g, v in self.groups.items()}}


def accuracy(scores: np.ndarray, labels: np.ndarray, groups: Mapping[str, Sequence[int]] = {}) -> Accuracy:
    """Accuracy of video scores [V, C] against labels [V]; `groups` name class subsets (videos of those classes,
    predicted among all classes)."""
    pred = scores.argmax(1)
    per_group = {}
    for name, classes in groups.items():
        sel = np.isin(labels, list(classes))
        per_group[name] = float(np.mean(pred[sel] == labels[sel])) if sel.any() else float("nan")
    return Accuracy(topk_accuracy(scores, labels, 1), topk_accuracy(scores, labels, min(5, scores.shape[1])),
                    per_group, confusion(pred, labels, scores.shape[1]))


def plot_confusion(matrix: np.ndarray, classes: Sequence[str], path: epath.PathLike, title: str) -> None:
    """Row-normalised confusion matrix as a PNG (atomic write)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rates = matrix / np.maximum(matrix.sum(1, keepdims=True), 1)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(2 + 0.45 * n, 1.5 + 0.45 * n), dpi=100)
    ax.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    if n <= 40:
        ax.set_xticks(range(n), classes, rotation=90, fontsize=7)
        ax.set_yticks(range(n), classes, fontsize=7)
        for i, j in zip(*np.nonzero(matrix)):
            ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if rates[i, j] > 0.5 else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    write_atomic(epath.Path(path), buf.getvalue())


def model_cost(predict: Callable[[dict], jax.Array], batch: dict, params, *, runs: int = 5) -> dict:
    """Parameters, forward GFLOPs per clip (XLA's cost analysis of the jitted `predict` on `batch`) and CPU
    clips/s (median of `runs` timed calls after a warm-up) at `batch`'s size."""
    fn = jax.jit(predict)
    compiled = fn.lower(batch).compile()
    cost = compiled.cost_analysis()
    cost = cost[0] if isinstance(cost, (list, tuple)) else cost
    jax.block_until_ready(fn(batch))
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        jax.block_until_ready(fn(batch))
        times.append(time.perf_counter() - start)
    b = len(batch["label"])
    return {"params": int(sum(np.size(a) for a in jax.tree.leaves(params))),
            "gflops_per_clip": float(cost.get("flops", 0.0)) / b / 1e9,
            "clips_per_s": b / float(np.median(times)), "batch": b}
