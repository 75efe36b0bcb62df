"""Metric writers: JSON lines `<workdir>/metrics.jsonl` always, TensorBoard event files when possible.

TensorBoard: clu's `metric_writers` package imports TensorFlow (not a dependency), so events are written
with `tensorboardX` when it is installed (into `<workdir>/tensorboard`), else only JSON lines are written.
Only process 0 writes. A run that starts after step s (a restored checkpoint, 0 for a fresh start) first drops
the lines of later steps, left by the interrupted run, from `metrics.jsonl` (`truncate`) and TensorBoard
(`purge_step`), so every step appears once.
"""

from __future__ import annotations

import io
import json
import math
import os
import time

import jax
import numpy as np
from absl import logging
from etils import epath
from tqdm.auto import tqdm

from jaxtrack.files import write_atomic

try:
    import tensorboardX
except ImportError:
    tensorboardX = None

LOSS_KEYS = ("train/loss", "train/cls_loss", "train/loc_loss", "eval/loss")  # what `plot_losses` draws


class MetricWriter:
    """Writes scalar dicts per step to `metrics.jsonl` (+ TensorBoard).

    Line format: {"step": int, "time": unix seconds, "<name>": float, ...}; non-finite values are written as
    null (strict JSON). `start_step`: the step the run continues after; later steps' lines are dropped first.
    """

    def __init__(self, workdir: str, *, tensorboard: bool = True, start_step: int = 0):
        self.enabled = jax.process_index() == 0
        self.path = os.path.join(workdir, "metrics.jsonl")
        self._file = self._tb = None
        if not self.enabled:
            return
        os.makedirs(workdir, exist_ok=True)
        truncate(self.path, start_step)
        self._file = open(self.path, "a")
        if tensorboard and tensorboardX is None:
            logging.warning("tensorboardX is not installed: metrics go to %s only", self.path)
        elif tensorboard:
            self._tb = tensorboardX.SummaryWriter(os.path.join(workdir, "tensorboard"), purge_step=start_step + 1)

    def write(self, step: int, scalars: dict[str, float]) -> None:
        if not self.enabled:
            return
        values = {k: float(v) for k, v in scalars.items()}
        line = {"step": int(step), "time": time.time()}
        line.update({k: v if math.isfinite(v) else None for k, v in values.items()})
        self._file.write(json.dumps(line) + "\n")
        self._file.flush()
        if self._tb is not None:
            for k, v in values.items():
                self._tb.add_scalar(k, v, int(step))

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._tb is not None:
            self._tb.close()


def truncate(path: str, step: int) -> int:
    """Drops the lines of steps after `step`, and unreadable ones (half-written by a killed run), from the
    metrics.jsonl `path` (atomically; nothing when there is no such file); returns how many were dropped."""
    if not os.path.exists(path):
        return 0
    keep, dropped = [], 0
    with open(path, "rb") as f:
        for raw in f:
            try:
                row = json.loads(raw)
            except ValueError:
                row = None
            if isinstance(row, dict) and isinstance(row.get("step"), int) and row["step"] <= step:
                keep.append(raw.rstrip(b"\n") + b"\n")
            elif raw.strip():
                dropped += 1
    if dropped:
        write_atomic(path, b"".join(keep))
    return dropped


def read_lines(path: str) -> list[dict]:
    """The lines of a `metrics.jsonl`, one dict each, in file order."""
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def read_metrics(path: epath.PathLike) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{key: (steps [N], values [N])} from a metrics.jsonl, the last line per (step, key) (resumed runs)."""
    table: dict[str, dict[int, float]] = {}
    for row in read_lines(str(path)):
        for k, v in row.items():
            if k not in ("step", "time") and v is not None:
                table.setdefault(k, {})[row["step"]] = v
    return {k: (np.array(sorted(d)), np.array([d[s] for s in sorted(d)])) for k, d in table.items()}


def plot_losses(metrics: dict, path: epath.PathLike, title: str, keys=LOSS_KEYS) -> None:
    """Writes a PNG of the `keys` curves in `metrics` (from `read_metrics`) to `path`, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5), dpi=100)
    for key in keys:
        if key in metrics:
            ax.plot(*metrics[key], marker="o" if key.startswith("eval") else None, ms=3, label=key)
    ax.set(xlabel="step", ylabel="loss", title=title, yscale="log")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    write_atomic(path, buf.getvalue())


def progress_bar(total: int, initial: int, *, enabled: bool = True) -> tqdm:
    """tqdm bar over steps (shows steps/s and ETA); a no-op bar on processes other than 0 or when disabled."""
    return tqdm(total=total, initial=initial, unit="step", dynamic_ncols=True,
                disable=not enabled or jax.process_index() != 0)
