"""Video-level action recognition: a 2D backbone on every segment's frames, then a temporal fusion head.

    model = Recognizer(num_classes=10, head="trn", head_kwargs={"scales": (4, 3, 2)})
    logits = model.apply(variables, frames, mask)   # frames [B, K, L, H, W, 3] normalised, mask [B, K] -> [B, C]

The backbone (`backbones.get_backbone(backbone, **backbone_kwargs)`) runs on all B*K*L frames; a snippet's L
frames are averaged after it. Heads (`HEADS`, by name), on the ops of `jaxtrack.ops.temporal`:
  tsn       TSN: per-segment class scores (dropout + FC on the segment feature), then `consensus` (avg / max /
            weighted) -- order-free by construction.
  trn       TRN: `trn_multiscale` over `scales` (TRN-pytorch's multi-scale: K, K-1, ..., 2; `(K,)` single-scale),
            `tuples_per_scale` tuples per scale, drawn with the "tuples" rng in training, evenly spaced in test.
  eco_lite  ECO-Lite: the `eco_layer` maps of the K segments stacked in time, two 3x3x3 `conv3d`s with ReLU, a
            masked global average, dropout + FC.
  eco       full ECO: ECO-Lite's 3D branch concatenated with the 2D branch (the backbone's pooled vector, averaged
            over the real segments) before the FC.
The segment feature of tsn / trn is the `feature_layer` map flattened, then FC + ReLU to `feature_dim` (the
flattened map keeps where things are, which tiny frames need; the papers' 224 px networks pool instead).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxtrack import ops
from jaxtrack.models.backbones import get_backbone


class SegmentFeatures(nn.Module):
    """[B, K, L, h, w, c] maps -> [B, K, feature_dim]: flatten, FC + ReLU, mean over the snippet's L frames."""

    feature_dim: int = 64

    @nn.compact
    def __call__(self, maps):
        b, k, length = maps.shape[:3]
        x = nn.relu(nn.Dense(self.feature_dim, name="fc")(maps.reshape(b, k, length, -1).astype(jnp.float32)))
        return x.mean(2)


class TSNHead(nn.Module):
    """TSN: segment features [B, K, D] -> per-segment scores -> consensus `mode` over real segments -> [B, C]."""

    num_classes: int
    mode: str = "avg"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, feats, mask, train: bool = False):
        scores = nn.Dense(self.num_classes, name="fc")(nn.Dropout(self.dropout)(feats, deterministic=not train))
        weights = self.param("weights", nn.initializers.zeros, (feats.shape[1],)) if self.mode == "weighted" else None
        return ops.consensus(scores, mask, mode=self.mode, weights=weights)


class TRNHead(nn.Module):
    """TRN: segment features [B, K, D] -> sum over `scales` of the mean relation g_s over sampled tuples -> [B, C].

    g_s = ReLU-FC(s*D -> hidden)-ReLU-FC(hidden -> C); scales () = multi-scale K..2.
    """

    num_classes: int
    scales: Sequence[int] = ()
    tuples_per_scale: int = 3
    hidden: int = 64
    dropout: float = 0.0

    @nn.compact
    def __call__(self, feats, mask, train: bool = False):
        k, d = feats.shape[1:]
        scales = tuple(self.scales) or tuple(range(k, 1, -1))
        bad = [s for s in scales if not 1 <= s <= k]
        if bad:
            raise ValueError(f"TRNHead: scales must be in [1, K={k}], got {bad}")
        feats = nn.Dropout(self.dropout)(feats, deterministic=not train)
        init = nn.initializers.lecun_normal()
        terms = []
        for s in scales:
            key = jax.random.fold_in(self.make_rng("tuples"), s) if train else None
            tuples = ops.relation_tuples(k, s, self.tuples_per_scale, key)
            terms.append((tuples, self.param(f"w1_{s}", init, (s * d, self.hidden)),
                          self.param(f"b1_{s}", nn.initializers.zeros, (self.hidden,)),
                          self.param(f"w2_{s}", init, (self.hidden, self.num_classes)),
                          self.param(f"b2_{s}", nn.initializers.zeros, (self.num_classes,))))
        return ops.trn_multiscale(feats, terms, mask)


class ECOHead(nn.Module):
    """ECO-Lite (`full=False`) or ECO: maps [B, K, h, w, c] (and pooled [B, K, P] for ECO) -> [B, C]."""

    num_classes: int
    channels: int = 32
    dropout: float = 0.0
    full: bool = False

    @nn.compact
    def __call__(self, maps, pooled, mask, train: bool = False):
        x = maps.astype(jnp.float32)
        init = nn.initializers.lecun_normal()
        for i in range(2):
            w = self.param(f"conv{i}_w", init, (3, 3, 3, x.shape[-1], self.channels))
            x = nn.relu(ops.conv3d(x, w, self.param(f"conv{i}_b", nn.initializers.zeros, (self.channels,)), mask))
        m = mask.astype(jnp.float32)
        count = jnp.maximum(m.sum(1, keepdims=True) * x.shape[2] * x.shape[3], 1)
        x = (x * m[:, :, None, None, None]).sum((1, 2, 3)) / count
        if self.full:
            x = jnp.concatenate([x, ops.consensus(pooled.astype(jnp.float32), mask, mode="avg")], -1)
        x = nn.Dropout(self.dropout)(x, deterministic=not train)
        return nn.Dense(self.num_classes, name="fc")(x)


HEADS = {"tsn": TSNHead, "trn": TRNHead, "eco_lite": ECOHead, "eco": ECOHead}


class Recognizer(nn.Module):
    """Backbone per frame + fusion head: frames [B, K, L, H, W, 3] (normalised), mask [B, K] -> logits [B, C].

    Attributes:
      num_classes: C.
      head: a key of HEADS; head_kwargs: its fields (num_classes is set here).
      backbone / backbone_kwargs: a registered backbone and its overrides (default: resnet18_small's first three
        stages).
      feature_layer: the backbone output the tsn / trn segment features flatten; feature_dim: their size.
      eco_layer: the backbone output ECO stacks in time (ECO also uses "pooled").
    """

    num_classes: int
    head: str = "tsn"
    head_kwargs: dict = None
    backbone: str = "resnet18_small"
    backbone_kwargs: dict = None
    feature_layer: str = "layer3"
    feature_dim: int = 64
    eco_layer: str = "layer2"
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, frames, mask=None, train: bool = False):
        if frames.ndim != 6 or frames.shape[-1] != 3:
            raise ValueError(f"Recognizer: frames must be [B, K, L, H, W, 3], got {tuple(frames.shape)}")
        if self.head not in HEADS:
            raise KeyError(f"Recognizer: head {self.head!r} is not one of {sorted(HEADS)}")
        b, k, length = frames.shape[:3]
        mask = jnp.ones((b, k), bool) if mask is None else mask
        kwargs = {"stage_sizes": (1, 1, 1), "widths": (16, 32, 64), "stem_width": 16, "dtype": self.dtype,
                  **(self.backbone_kwargs or {})}
        net = get_backbone(self.backbone, **kwargs)
        out = net(frames.reshape(b * k * length, *frames.shape[3:]), use_running_average=not train)
        maps = lambda name: out[name].reshape(b, k, length, *out[name].shape[1:])
        head = HEADS[self.head](num_classes=self.num_classes, **(self.head_kwargs or {}),
                                **({"full": self.head == "eco"} if self.head.startswith("eco") else {}))
        if self.head.startswith("eco"):
            pooled = maps("pooled").mean(2) if self.head == "eco" else None
            return head(maps(self.eco_layer).mean(2), pooled, mask, train)
        return head(SegmentFeatures(self.feature_dim, name="segment")(maps(self.feature_layer)), mask, train)
