"""What a smaller or sparser summarizer costs: one table row per model variant (`measure`) and the table
(`markdown_table`); `--mode=compress` (`jaxtrack.modes.compress`) builds the variants.

A row: parameters; multiply-adds per frame (dense count, `lstm_compress.macs_per_frame`; with the delta trick the
measured one, the LSTMs' kept deltas at 4H each); the fraction of zeroed delta entries; the drift of the importance
against the exact model (mean and max |q - q_exact| over the test steps); F-score, Kendall tau, Spearman rho
(`summ_eval.evaluate`: `--mode=summarize`'s "model" row); and time per video on this host: the jitted model
(`task.predict`, one video at a time, the best of `repeats` passes) and the two LSTM directions as numpy loops
(`models.lstm_numpy`): dense, and for the delta trick its sparse form (skipping zero deltas) timed alternately.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import jax
import numpy as np

from jaxtrack.data.video import Video
from jaxtrack.eval import summ_eval, summ_predict
from jaxtrack.models import lstm_cells, lstm_compress, lstm_numpy
from jaxtrack.train.summ_task import SummTask

COLUMNS = (("model", "model"), ("setting", "rank r / threshold"), ("params", "params"),
           ("macs", "MACs / frame"), ("zeroed", "zeroed deltas"), ("drift", "drift mean / max"), ("f", "F-score"),
           ("tau", "Kendall tau"), ("rho", "Spearman rho"), ("ms_jit", "ms / video (jit)"),
           ("ms_numpy", "LSTM ms / video, numpy dense / sparse delta"))


def _run_jit(task: SummTask, params, features: Sequence[np.ndarray], buckets: Sequence[int],
             repeats: int) -> tuple[list[dict], float]:
    """(per-video outputs over the real steps, best-pass seconds per video) of the jitted `task.predict`."""
    apply = jax.jit(task.predict)
    inputs = [summ_predict.bucket_input(x, buckets) for x in features]
    outs = [jax.device_get(apply(params, *a)) for a in inputs]  # compiles each bucket
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for a in inputs:
            jax.block_until_ready(apply(params, *a))
        best = min(best, (time.perf_counter() - start) / len(inputs))
    return [{k: np.asarray(v[0, :len(x)]) for k, v in o.items()} for o, x in zip(outs, features, strict=True)], best


def _run_numpy(params, features: Sequence[np.ndarray], threshold: float | None,
               repeats: int) -> tuple[float, float | None]:
    """Best-pass seconds per video of both LSTM directions as numpy loops: (dense, sparse delta form at `threshold`
    or None), the two timed alternately video by video so that the host's load hits both alike."""
    names = ("lstm", "lstm") if "lstm" in params else ("lstm_fwd", "lstm_bwd")
    p = jax.tree.map(np.asarray, params)
    forms = (None,) if threshold is None else (None, threshold)
    best = [np.inf] * len(forms)
    for _ in range(repeats):
        total = [0.0] * len(forms)
        for x in features:
            mean = x.mean(0)
            c0 = np.tanh(mean @ p["c_init"]["kernel"] + p["c_init"]["bias"])
            h0 = np.tanh(mean @ p["h_init"]["kernel"] + p["h_init"]["bias"])
            for i, th in enumerate(forms):
                start = time.perf_counter()
                for name, seq in zip(names, (x, x[::-1]), strict=True):
                    lstm_numpy.run(p[name], seq, c0, h0, th)
                total[i] += time.perf_counter() - start
        best = [min(b, t / len(features)) for b, t in zip(best, total, strict=True)]
    return best[0], best[1] if threshold is not None else None


def measure(label: str, setting: str, task: SummTask, params, videos: Sequence[Video],
            features: Sequence[np.ndarray], *, buckets: Sequence[int], mode: str, proportion: float, seed: int,
            max_shot_len: int, repeats: int = 3, exact: Sequence[np.ndarray] | None = None) -> dict:
    """One table row (module docstring) of `task` (its model, and its `delta_threshold`) with `params` on `videos`
    with step features `features`; `exact`: the exact model's per-video importance, for the drift."""
    outs, seconds = _run_jit(task, params, features, buckets, repeats)
    results = summ_eval.evaluate(videos, [o["importance"] for o in outs], features, mode=mode, proportion=proportion,
                                 seed=seed, max_shot_len=max_shot_len)
    model = task.model
    kwargs = {"hidden": model.hidden, "mlp_hidden": model.mlp_hidden, "kernel_dim": model.kernel_dim,
              "projection": tuple(model.projection)}
    macs = lstm_compress.macs_per_frame(features[0].shape[1], kwargs)
    row = {"model": label, "setting": setting, "params": lstm_compress.count_params(params), "macs": macs["total"],
           "macs_lstm": macs["lstm"], **{k: results["model"]["mean"][k] for k in ("f", "tau", "rho")},
           "ms_jit": 1e3 * seconds, "zeroed": None, "drift": None}
    if task.delta_threshold is not None:
        nnz = np.concatenate([o["delta_nnz"] for o in outs])  # [steps, 4]: fwd x, fwd y, bwd x, bwd y
        dim = features[0].shape[1]
        ranks = tuple(model.projection) or (0, 0)
        sizes = np.array([dim, ranks[0] or model.hidden, dim, ranks[1] or model.hidden])
        lstm = sum(float(lstm_cells.delta_macs(nnz[:, 2 * i], nnz[:, 2 * i + 1], model.hidden, r).mean())
                   for i, r in enumerate(ranks))
        row.update(zeroed=1.0 - float(nnz.sum() / (sizes.sum() * len(nnz))), macs_lstm=lstm,
                   macs=lstm + macs["heads"])
    if exact is not None:
        diff = np.concatenate([np.abs(o["importance"] - e) for o, e in zip(outs, exact, strict=True)])
        row["drift"] = (float(diff.mean()), float(diff.max()))
    row["importance"] = [o["importance"] for o in outs]
    dense, sparse = _run_numpy(params, features, task.delta_threshold, max(1, repeats // 2))
    row["ms_numpy"] = (1e3 * dense, None if sparse is None else 1e3 * sparse)
    return row


def _cell(key: str, value) -> str:
    if value is None:
        return "–"
    if key == "drift":
        return f"{value[0]:.4f} / {value[1]:.4f}"
    if key in ("params", "macs"):
        return f"{value:,.0f}"
    if key == "zeroed":
        return f"{value:.1%}"
    if key == "ms_numpy":
        return f"{value[0]:.2f}" + (f" / {value[1]:.2f}" if value[1] is not None else "")
    if key == "ms_jit":
        return f"{value:.2f}"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def markdown_table(rows: Sequence[dict]) -> str:
    """The rows (`measure`) as a markdown table."""
    lines = ["| " + " | ".join(name for _, name in COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(_cell(k, r.get(k)) for k, _ in COLUMNS) + " |" for r in rows]
    return "\n".join(lines)
