"""SVD compression of a summarizer's BiLSTM with the projection shared with the next layer (Prabhavalkar et al.,
"On the compression of recurrent neural networks with an application to LVCSR acoustic modeling for embedded
speech recognition", ICASSP 2016), and the model's size and multiply-adds per frame.

Layer l's recurrent weights W_h^l [4H, H] (here the flax kernel K_h = W_h^T [H, 4H], gates i, f, g, o) are
factored by a truncated SVD, W_h^l ~ Z_h^l P^l: with K_h = A S B^T, P^l = A_r^T [r, H] and Z_h^l = B_r S_r [4H, r].
The next layer's input weights reuse the same projection, W_x^{l+1} ~ Z_x^{l+1} P^l, with Z_x^{l+1} = W_x^{l+1}
(P^l)^T, the least-squares fit for that P (its rows are orthonormal). The layer then emits y_t = P^l h_t, which
both its recurrence and the next layer consume (`lstm_cells.LSTMCell` with `proj`). The rank r is given, or the
smallest one whose singular values keep a fraction `variance` of sum(s^2), per direction.

The summarizer is one BiLSTM layer followed by two heads (`importance_mlp`, `kernel_mlp`), whose first Dense
reads [x_t; h_fwd_t; h_bwd_t]. Each direction is its own layer l: its P_fwd (P_bwd) comes from its own W_h and is
shared with the rows of both heads' first kernels that read h_fwd (h_bwd); the rows that read x are unchanged,
as are the LSTMs' input weights W_x^1 (nothing projects the video features). With `tied_directions` one W_h gives
one P for both directions and both row blocks. The initial state h0 enters as y0 = P h0. At full rank (r = H)
A is orthogonal, so the compressed model computes the original one exactly (up to float rounding).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from jaxtrack.models import lstm_cells

HEADS = ("importance_mlp", "kernel_mlp")


def svd_factor(kernel: np.ndarray, rank: int = 0, variance: float = 0.0) -> tuple[np.ndarray, np.ndarray, dict]:
    """kernel [n, m] ~ proj [n, r] @ z [r, m] by truncated SVD (proj: orthonormal columns, the transposed P);
    `rank` r, or (rank 0) the smallest r keeping `variance` of sum(s^2). Returns (proj, z, {"rank", "variance"})."""
    if (rank > 0) == (variance > 0):
        raise ValueError(f"give one of rank > 0 or variance in (0, 1], got rank={rank}, variance={variance}")
    a, s, bt = np.linalg.svd(np.asarray(kernel, np.float64), full_matrices=False)
    kept = np.cumsum(s ** 2) / max(float((s ** 2).sum()), 1e-30)
    if variance:
        if not 0 < variance <= 1:
            raise ValueError(f"variance must be in (0, 1], got {variance}")
        rank = int(np.searchsorted(kept, variance - 1e-12) + 1)
    if rank > len(s):
        raise ValueError(f"rank {rank} exceeds the matrix's full rank {len(s)} (kernel {kernel.shape})")
    dtype = np.asarray(kernel).dtype
    proj, z = a[:, :rank], s[:rank, None] * bt[:rank]
    return proj.astype(dtype), z.astype(dtype), {"rank": rank, "variance": float(kept[rank - 1])}


def _directions(params: Mapping) -> tuple[str, ...]:
    if "lstm" in params:
        return ("lstm",)
    if "lstm_fwd" in params and "lstm_bwd" in params:
        return ("lstm_fwd", "lstm_bwd")
    raise ValueError(f"not a Summarizer's parameters: no lstm / lstm_fwd+lstm_bwd in {sorted(params)}")


def compress_summarizer(params: Mapping, kwargs: Mapping, *, rank: int = 0,
                        variance: float = 0.0) -> tuple[dict, dict, dict]:
    """(params, kwargs, info) of the compressed `Summarizer` (module docstring) from an uncompressed one's `params`
    and build `kwargs`. info: {direction: {"rank", "variance" (kept fraction of sum(s^2)), "error" (relative
    Frobenius error of W_h)}}."""
    if tuple(kwargs.get("projection") or ()):
        raise ValueError(f"the model is compressed already (projection={tuple(kwargs['projection'])}); compress the "
                         f"uncompressed workdir")
    directions = _directions(params)
    hidden = np.shape(params[directions[0]]["hi"]["kernel"])[0]
    out = {k: v for k, v in params.items()}
    info, projections = {}, []
    for name in directions:
        cell = dict(params[name])
        k_h = np.concatenate([np.asarray(cell[f"h{g}"]["kernel"]) for g in lstm_cells.GATES], -1)  # [H, 4H]
        proj, z, info[name] = svd_factor(k_h, rank, variance)
        info[name]["error"] = float(np.linalg.norm(proj @ z - k_h) / max(np.linalg.norm(k_h), 1e-30))
        for i, g in enumerate(lstm_cells.GATES):
            cell[f"h{g}"] = {"kernel": z[:, i * hidden:(i + 1) * hidden], "bias": np.asarray(cell[f"h{g}"]["bias"])}
        cell["proj"] = {"kernel": proj}
        out[name] = cell
        projections.append(proj)
    if len(projections) == 1:  # tied: one P for both directions
        projections *= 2
    for head in HEADS:
        kernel = np.asarray(params[head]["dense0"]["kernel"])  # rows [x (D); h_fwd (H); h_bwd (H)]
        d = kernel.shape[0] - 2 * hidden
        blocks = [kernel[:d]] + [p.T @ kernel[d + i * hidden:d + (i + 1) * hidden] for i, p in enumerate(projections)]
        out[head] = {**params[head], "dense0": {**params[head]["dense0"], "kernel": np.concatenate(blocks)}}
    ranks = tuple(p.shape[1] for p in projections)
    return out, {**dict(kwargs), "projection": ranks}, info


def count_params(params) -> int:
    """Number of parameters in a (nested) mapping of arrays."""
    if isinstance(params, Mapping):
        return sum(count_params(v) for v in params.values())
    return int(np.size(params))


def macs_per_frame(in_features: int, kwargs: Mapping) -> dict[str, int]:
    """Multiply-adds per frame of a dense `Summarizer(**kwargs)` on D = `in_features`: {"lstm": both directions,
    "heads": both heads, "total"}. The per-video initial state (two D x H Dense) and element-wise ops are left out."""
    h, m, k = kwargs.get("hidden", 256), kwargs.get("mlp_hidden", 256), kwargs.get("kernel_dim", 256)
    ranks = tuple(kwargs.get("projection") or ()) or (0, 0)
    lstm = sum(lstm_cells.dense_macs(in_features, h, r) for r in ranks)
    width = in_features + sum(r or h for r in ranks)
    heads = 2 * width * m + m * 1 + m * k
    return {"lstm": lstm, "heads": heads, "total": lstm + heads}
