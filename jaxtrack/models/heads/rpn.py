"""SiamRPN heads (pysot `models/head/rpn.py`): UP-XCorr (SiamRPN) and multi-layer DW-Corr (SiamRPN++).

All heads: `head(xs, zs, box_wh=None, train=False)` with xs / zs sequences of search [B, Hx, Wx, C_l] /
template [B, Hz, Wz, C_l] features -> {"cls": [B, Ho, Wo, 2K], "loc": [B, Ho, Wo, 4K]} for K anchors, channels
ordered as pysot's: cls channel `c * K + k` (class c, anchor k), loc channel `d * K + k` (d in dx, dy, dw, dh).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxtrack.models import fusion
from jaxtrack.models.heads.acm import ACMXCorr


def _dw_branch(hidden: int, out: int, impl: str, name: str) -> Callable:
    module = fusion.DepthwiseXCorr(hidden, out, impl=impl, name=name)
    return lambda x, z, box_wh, train: module(x, z, train)


def _acm_branch(hidden: int, out: int, impl: str, name: str) -> Callable:
    module = ACMXCorr(hidden, out, impl=impl, name=name)
    return lambda x, z, box_wh, train: module(x, z, box_wh, train)


# One correlation branch by kind: (hidden, out_channels, impl, name) -> fn(x, z, box_wh, train).
BRANCHES: dict[str, Callable[..., Callable]] = {"dw": _dw_branch, "acm": _acm_branch}


def get_branch(kind: str) -> Callable[..., Callable]:
    if kind not in BRANCHES:
        raise ValueError(f"unknown correlation branch {kind!r}; expected one of {sorted(BRANCHES)}")
    return BRANCHES[kind]


def check_layers(head: str, xs: Sequence, zs: Sequence) -> None:
    if not len(xs) or len(xs) != len(zs):
        raise ValueError(f"{head}: need as many search as template layers (>= 1), got {len(xs)} and {len(zs)}")


def layer_average(module: nn.Module, name: str, outs: Sequence, weighted: bool):
    """pysot's fusion of per-layer outputs: the mean, or with `weighted` a sum with softmax of a learned
    vector `name` (initialised to ones, i.e. the mean at start)."""
    if not weighted:
        return sum(outs) / len(outs)
    w = jax.nn.softmax(module.param(name, nn.initializers.ones, (len(outs),), jnp.float32))
    return sum(o * w[i] for i, o in enumerate(outs))


class UPChannelRPN(nn.Module):
    """SiamRPN (Li et al. 2018): up-channel correlation on one layer (AlexNet: 6x6 * 22x22 -> 17x17).
    `features`: channels of the 3x3 convs (pysot: the input's). loc has pysot's 1x1 `loc_adjust`. `out_scale`:
    `UpChannelXCorr`'s learnt output scale for both branches (None: pysot's unscaled sums)."""

    anchor_num: int = 5
    features: int | None = None
    out_scale: float | None = None
    impl: str = "auto"

    @nn.compact
    def __call__(self, xs: Sequence, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        del box_wh
        if len(xs) != 1 or len(zs) != 1:
            raise ValueError(f"UPChannelRPN takes one feature layer, got {len(xs)} search / {len(zs)} template layers")
        x, z = xs[0], zs[0]
        features = self.features or x.shape[-1]
        k = self.anchor_num
        cls = fusion.UpChannelXCorr(2 * k, features, out_scale=self.out_scale, impl=self.impl, name="cls")(x, z, train)
        loc = fusion.UpChannelXCorr(4 * k, features, adjust=True, out_scale=self.out_scale, impl=self.impl,
                                    name="loc")(x, z, train)
        return {"cls": cls, "loc": loc}


class MultiRPN(nn.Module):
    """SiamRPN++ (Li et al. 2019): per layer l a `DepthwiseRPN` (`rpn{l+2}`: cls and loc correlation branches
    of kind `branch`, "dw" or "acm", hidden width = the layer's channels unless `hidden`), fused by
    `layer_average` with learned `cls_weight` / `loc_weight` (`weighted`). 7x7 * 31x31 -> 25x25."""

    anchor_num: int = 5
    weighted: bool = True
    branch: str = "dw"
    hidden: int | None = None
    impl: str = "auto"

    @nn.compact
    def __call__(self, xs: Sequence, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        check_layers("MultiRPN", xs, zs)
        make, cls, loc = get_branch(self.branch), [], []
        for i, (x, z) in enumerate(zip(xs, zs)):
            hidden = self.hidden or x.shape[-1]
            for outs, n, part in ((cls, 2, "cls"), (loc, 4, "loc")):
                outs.append(make(hidden, n * self.anchor_num, self.impl, f"rpn{i + 2}_{part}")(x, z, box_wh, train))
        return {"cls": layer_average(self, "cls_weight", cls, self.weighted),
                "loc": layer_average(self, "loc_weight", loc, self.weighted)}
