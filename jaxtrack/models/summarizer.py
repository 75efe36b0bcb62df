"""vsLSTM / dppLSTM video summarizer (Zhang et al., ECCV 2016): a BiLSTM over per-frame features.

features [B, T, D] + mask [B, T] -> per step t, from `[x_t; h_fwd_t; h_bwd_t]`:
  logits [B, T]      importance logit; importance = sigmoid(logit) in (0, 1) (the DPP quality q_t)
  importance [B, T]
  phi [B, T, K]      diversity feature; the DPP similarity is S_ij = phi_i . phi_j
Both LSTMs start from (c0, h0) = (tanh MLP, tanh MLP) of the video's masked mean feature, as in the release
(kezhang-cs/Video-Summarization-with-LSTM, `layers/summ_dppLSTM.py`). `tied_directions=True` reproduces the
release's backward pass, which runs the forward LSTM's weights over the reversed video. The backward LSTM
reverses only the first `length` steps, so padding never changes the outputs at real steps.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn
import jax
import jax.numpy as jnp

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
    """

    hidden: int = 256
    mlp_hidden: int = 256
    kernel_dim: int = 256
    tied_directions: bool = False
    activation: str = "sigmoid"

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
        fwd_cell = nn.LSTMCell(self.hidden, name="lstm" if self.tied_directions else "lstm_fwd")
        bwd_cell = fwd_cell if self.tied_directions else nn.LSTMCell(self.hidden, name="lstm_bwd")
        h_fwd = nn.RNN(fwd_cell, name="rnn_fwd")(features, initial_carry=carry, seq_lengths=lengths)
        h_bwd = nn.RNN(bwd_cell, reverse=True, keep_order=True, name="rnn_bwd")(
            features, initial_carry=carry, seq_lengths=lengths)
        h = jnp.concatenate([features, h_fwd, h_bwd], -1)
        logits = MLP((self.mlp_hidden, 1), self.activation, name="importance_mlp")(h)[..., 0]
        phi = MLP((self.mlp_hidden, self.kernel_dim), self.activation, name="kernel_mlp")(h)
        return {"logits": logits, "importance": nn.sigmoid(logits), "phi": phi}
