"""vsLSTM / dppLSTM video summarizer (Zhang et al., ECCV 2016): a BiLSTM over per-frame features.

features [B, T, D] + mask [B, T] -> per step t, from `[x_t; h_fwd_t; h_bwd_t]`:
  logits [B, T]      importance logit; importance = sigmoid(logit) in (0, 1) (the DPP quality q_t)
  importance [B, T]
  phi [B, T, K]      diversity feature; the DPP similarity is S_ij = phi_i . phi_j
Both LSTMs start from (c0, h0) = (tanh MLP, tanh MLP) of the video's masked mean feature, as in the release
(kezhang-cs/Video-Summarization-with-LSTM, `layers/summ_dppLSTM.py`). `tied_directions=True` reproduces the
release's backward pass, which runs the forward LSTM's weights over the reversed video. The backward LSTM
reverses only the first `length` steps, so padding never changes the outputs at real steps.

Two options swap in `models.lstm_cells.LSTMCell` (same parameter names) for flax's cell:
  projection (r_fwd, r_bwd)  the SVD-compressed model (`models.lstm_compress`): each direction feeds back and emits
                             y = h P_dir (r_dir dims); the heads read [x_t; y_fwd_t; y_bwd_t] (D + r_fwd + r_bwd).
  delta_threshold th         the delta trick at inference (`lstm_cells`); adds "delta_nnz" [B, T, 4]: the non-zero
                             input / recurrent deltas of the forward, then the backward direction (0 on padding).
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxtrack.models.lstm_cells import LSTMCell

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "sigmoid": nn.sigmoid,  # the release's MLP hidden layers
    "tanh": jnp.tanh,
    "relu": nn.relu,
}


class MLP(nn.Module):
    """[..., D] -> [..., features[-1]]: Dense + activation per hidden layer, linear output."""

    features: tuple[int, ...]
    activation: str = "sigmoid"

    @nn.compact
    def __call__(self, x):
        act = ACTIVATIONS[self.activation]
        for i, width in enumerate(self.features[:-1]):
            x = act(nn.Dense(width, name=f"dense{i}")(x))
        return nn.Dense(self.features[-1], name=f"dense{len(self.features) - 1}")(x)


class Summarizer(nn.Module):
    """BiLSTM summarizer (module docstring).

    Attributes:
      hidden: LSTM state size per direction (the release: 256).
      mlp_hidden: hidden width of the two heads.
      kernel_dim: K, size of the diversity feature phi.
      tied_directions: one set of LSTM weights for both directions (the release's code).
      activation: hidden activation of the heads (a key of `ACTIVATIONS`).
      projection: () or the ranks (r_fwd, r_bwd) of the directions' projections (tied: equal ranks).
      delta_threshold: None, or the delta trick's threshold (>= 0; 0 is exact).
    """

    hidden: int = 256
    mlp_hidden: int = 256
    kernel_dim: int = 256
    tied_directions: bool = False
    activation: str = "sigmoid"
    projection: tuple[int, ...] = ()
    delta_threshold: float | None = None

    def _cells(self, in_features: int) -> tuple[nn.RNNCellBase, nn.RNNCellBase]:
        """(forward, backward) cells: flax's LSTMCell, or `LSTMCell` with a projection / the delta trick."""
        ranks = tuple(self.projection)
        if ranks and (len(ranks) != 2 or (self.tied_directions and ranks[0] != ranks[1])):
            raise ValueError(f"Summarizer.projection must be () or (r_fwd, r_bwd) (equal when tied_directions), "
                             f"got {ranks}")
        ranks = ranks or (0, 0)
        names = ("lstm", "lstm") if self.tied_directions else ("lstm_fwd", "lstm_bwd")
        if ranks == (0, 0) and self.delta_threshold is None:
            make = lambda name, r: nn.LSTMCell(self.hidden, name=name)
        else:
            make = lambda name, r: LSTMCell(self.hidden, in_features, r, self.delta_threshold, name=name)
        fwd = make(names[0], ranks[0])
        return fwd, fwd if self.tied_directions else make(names[1], ranks[1])

    @nn.compact
    def __call__(self, features: jax.Array, mask: jax.Array) -> dict[str, jax.Array]:
        if features.ndim != 3 or mask.shape != features.shape[:2]:
            raise ValueError(f"Summarizer: features must be [B, T, D] and mask [B, T], got {features.shape} and "
                             f"{mask.shape}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"Summarizer.activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        m = mask.astype(features.dtype)[..., None]
        lengths = mask.sum(1).astype(jnp.int32)
        mean = (features * m).sum(1) / jnp.maximum(m.sum(1), 1.0)  # [B, D]
        carry = (jnp.tanh(nn.Dense(self.hidden, name="c_init")(mean)),
                 jnp.tanh(nn.Dense(self.hidden, name="h_init")(mean)))  # LSTMCell carry is (c, h)
        fwd_cell, bwd_cell = self._cells(features.shape[-1])
        carries = [cell.carry(*carry) if isinstance(cell, LSTMCell) else carry for cell in (fwd_cell, bwd_cell)]
        h_fwd = nn.RNN(fwd_cell, name="rnn_fwd")(features, initial_carry=carries[0], seq_lengths=lengths)
        h_bwd = nn.RNN(bwd_cell, reverse=True, keep_order=True, name="rnn_bwd")(
            features, initial_carry=carries[1], seq_lengths=lengths)
        extra = {}
        if self.delta_threshold is not None:
            extra["delta_nnz"] = jnp.stack([h_fwd["nnz_x"], h_fwd["nnz_y"], h_bwd["nnz_x"], h_bwd["nnz_y"]],
                                           -1) * mask[..., None]
            h_fwd, h_bwd = h_fwd["y"], h_bwd["y"]
        h = jnp.concatenate([features, h_fwd, h_bwd], -1)
        logits = MLP((self.mlp_hidden, 1), self.activation, name="importance_mlp")(h)[..., 0]
        phi = MLP((self.mlp_hidden, self.kernel_dim), self.activation, name="kernel_mlp")(h)
        return {"logits": logits, "importance": nn.sigmoid(logits), "phi": phi, **extra}
