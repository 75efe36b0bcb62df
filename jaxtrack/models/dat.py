"""The DAT / RT-MDNet classifier: shared conv features once per frame, RoI-aligned candidate features, fc4 / fc5 and
a binary (negative, positive) fc6 per domain (one per training video offline, a single fresh one online).

    net = DATNet(num_domains=K)
    scores = net.apply(v, images [B, S, S, 3] float, boxes [B, N, 4] xyxy image pixels, domain [B] int32)  # [B, N, 2]
    feats = net.apply(v, images, method=net.features)                 # [B, S/8, S/8, C] (conv3)
    rois = net.apply(v, feats, boxes, method=net.pool)                # [B, N, r, r, C] (RoI Align, r = roi_size)
    scores = net.apply(v, rois, domain, method=net.head)              # [B, N, 2] (fc4 -> fc5 -> fc6[domain])
    fc5 = net.apply(v, rois, method=net.embed)                        # [B, N, fc_dim] (bounding-box regression)

The backbone is VGG-M's conv1-3 (MDNet) at `widths` (VGG-M: 96, 256, 512) with RT-MDNet's output stride 8
(conv1 7x7/2, max-pool 3x3/2, conv2 5x5/2, conv3 3x3 with 'SAME' padding; no LRN). RoI Align pools every box
with `aligned=True` half-pixel coordinates and 2x2 samples per bin (RT-MDNet: adaptive RoIAlign to 7x7 then a
max-pool to 3x3; here directly `roi_size` bins). fc4 / fc5 are ReLU layers of `fc_dim` (MDNet 512) with dropout
before fc5 and fc6 in training. fc6 holds `num_domains` branches as one [K, fc_dim, 2] kernel, so the branch of
each example is a gather, not a Python choice. Sample n's scores depend on its own RoI features only (no batch
statistics), as the reciprocative regulariser (`jaxtrack.ops.reciprocative`) requires.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from jaxtrack.ops import reciprocative, roi_align

STRIDE = 8


class DATNet(nn.Module):
    """See the module docstring; `roi_impl` is `ops.roi_align`'s impl."""

    num_domains: int = 1
    widths: tuple[int, int, int] = (96, 256, 512)
    fc_dim: int = 512
    roi_size: int = 3
    dropout: float = 0.5
    roi_impl: str = "auto"

    def setup(self):
        w1, w2, w3 = self.widths
        self.conv1 = nn.Conv(w1, (7, 7), strides=2, padding="SAME")
        self.conv2 = nn.Conv(w2, (5, 5), strides=2, padding="SAME")
        self.conv3 = nn.Conv(w3, (3, 3), padding="SAME")
        self.fc4 = nn.Dense(self.fc_dim)
        self.fc5 = nn.Dense(self.fc_dim)
        self.drop = nn.Dropout(self.dropout)
        self.fc6_kernel = self.param("fc6_kernel", nn.initializers.normal(0.01), (self.num_domains, self.fc_dim, 2))
        self.fc6_bias = self.param("fc6_bias", nn.initializers.zeros, (self.num_domains, 2))

    def features(self, images: jax.Array) -> jax.Array:
        """[B, S, S, 3] normalised images -> [B, ceil(S / 8), ceil(S / 8), widths[2]] conv3 features."""
        x = nn.relu(self.conv1(images))
        x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
        x = nn.relu(self.conv2(x))
        return nn.relu(self.conv3(x))

    def pool(self, features: jax.Array, boxes: jax.Array) -> jax.Array:
        """[B, h, w, C], [B, N, 4] xyxy image pixels -> [B, N, roi_size, roi_size, C]."""
        return roi_align(features, boxes, self.roi_size, spatial_scale=1.0 / STRIDE, sampling_ratio=2,
                         aligned=True, impl=self.roi_impl)

    def embed(self, rois: jax.Array, train: bool = False) -> jax.Array:
        """[..., r, r, C] -> [..., fc_dim] fc5 features (after ReLU)."""
        x = rois.reshape(*rois.shape[:-3], -1)
        x = nn.relu(self.fc4(x))
        return nn.relu(self.fc5(self.drop(x, deterministic=not train)))

    def classify(self, fc5: jax.Array, domain: jax.Array, train: bool = False) -> jax.Array:
        """[B, N, fc_dim], domain [B] -> [B, N, 2] (negative, positive) scores of each example's branch."""
        x = self.drop(fc5, deterministic=not train)
        kernel, bias = self.fc6_kernel[domain], self.fc6_bias[domain]
        return jnp.einsum("bnd,bdk->bnk", x, kernel) + bias[:, None, :]

    def head(self, rois: jax.Array, domain: jax.Array, train: bool = False) -> jax.Array:
        """[B, N, r, r, C], domain [B] -> [B, N, 2]."""
        return self.classify(self.embed(rois, train), domain, train)

    def __call__(self, images: jax.Array, boxes: jax.Array, domain: jax.Array, train: bool = False) -> jax.Array:
        return self.head(self.pool(self.features(images), boxes), domain, train)


def scores_and_reg(model: DATNet, variables, rois: jax.Array, domain: jax.Array, labels: jax.Array, *,
                   reg_weight: float, form: str, train: bool, rngs=None) -> tuple[jax.Array, jax.Array]:
    """(scores [B, N, 2], regulariser or 0) of pooled RoIs [B, N, r, r, C] with `labels` [B, N] (1 positive);
    shared by offline training and the online updates (`jaxtrack.track.dat`)."""
    b, n = rois.shape[:2]

    def score_fn(flat):
        return model.apply(variables, flat.reshape(rois.shape), domain, train, rngs=rngs,
                           method=model.head).reshape(b * n, 2)

    if not reg_weight:
        return score_fn(rois.reshape(b * n, *rois.shape[2:])).reshape(b, n, 2), jnp.zeros((), jnp.float32)
    scores, reg = reciprocative.regularised_scores(score_fn, rois.reshape(b * n, *rois.shape[2:]),
                                                   labels.reshape(-1), form=form)
    return scores.reshape(b, n, 2), reg


def binary_ce(scores: jax.Array, labels: jax.Array) -> jax.Array:
    """Mean softmax cross-entropy of [..., 2] scores against 0 / 1 labels [...] (MDNet's BinaryLoss, averaged)."""
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(scores.astype(jnp.float32), labels))
