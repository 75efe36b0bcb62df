"""SiamRPN heads (pysot `models/head/rpn.py`): UP-XCorr (SiamRPN) and multi-layer DW-Corr (SiamRPN++).

All heads: `head(xs, zs, box_wh=None, train=False)` with xs / zs sequences of search [B, Hx, Wx, C_l] /
template [B, Hz, Wz, C_l] features -> {"cls": [B, Ho, Wo, 2K], "loc": [B, Ho, Wo, 4K]} for K anchors, channels
ordered as pysot's: cls channel `c * K + k` (class c, anchor k), loc channel `d * K + k` (d in dx, dy, dw, dh).
`__call__` is `track(xs, template(zs, box_wh))`: `template` -> {branch name: its template state} (once per video),
`track` the search side (per frame).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxtrack.models import fusion
from jaxtrack.models.heads.acm import ACMXCorr


def _dw_branch(hidden: int, out: int, impl: str, name: str) -> tuple[Callable, Callable]:
    module = fusion.DepthwiseXCorr(hidden, out, impl=impl, name=name)
    return (lambda z, box_wh, train: module.template(z, train)), module.track


def _acm_branch(hidden: int, out: int, impl: str, name: str) -> tuple[Callable, Callable]:
    module = ACMXCorr(hidden, out, impl=impl, name=name)
    return module.template, module.track


# One correlation branch by kind: (hidden, out_channels, impl, name) -> (template(z, box_wh, train) -> state,
# track(x, state, train) -> [B, Ho, Wo, out_channels]); state: DW the kernel [B, Hz-2, Wz-2, hidden], ACM the
# template term [B, hidden].
BRANCHES: dict[str, Callable[..., tuple[Callable, Callable]]] = {"dw": _dw_branch, "acm": _acm_branch}


def get_branch(kind: str) -> Callable[..., tuple[Callable, Callable]]:
    if kind not in BRANCHES:
        raise ValueError(f"unknown correlation branch {kind!r}; expected one of {sorted(BRANCHES)}")
    return BRANCHES[kind]


def check_layers(head: str, xs: Sequence, zs: Sequence) -> None:
    if not len(xs) or len(xs) != len(zs):
        raise ValueError(f"{head}: need as many search as template layers (>= 1), got {len(xs)} and {len(zs)}")


def run_branches(head, feats: Sequence, template: dict | None, box_wh, train: bool, prefix: str,
                 outs: dict[str, int]):
    """A multi-layer head's branches `{prefix}{l+2}_{part}` (kind `head.branch`, `outs[part]` channels, hidden
    width `head.hidden` or the layer's), from its compact method. `template` None: the template step on
    feats = zs -> {branch name: state}; else the search step on feats = xs -> {part: per-layer outputs}."""
    make, states, results = get_branch(head.branch), {}, {part: [] for part in outs}
    names = [f"{prefix}{i + 2}_{part}" for i in range(len(feats)) for part in outs]
    if not len(feats) or (template is not None and sorted(template) != sorted(names)):
        raise ValueError(f"{type(head).__name__}: {len(feats)} feature layers (>= 1) need the template state "
                         f"{sorted(names)}, got {None if template is None else sorted(template)}")
    for i, f in enumerate(feats):
        for part, n in outs.items():
            name = f"{prefix}{i + 2}_{part}"
            template_step, track_step = make(head.hidden or f.shape[-1], n, head.impl, name)
            if template is None:
                states[name] = template_step(f, box_wh, train)
            else:
                results[part].append(track_step(f, template[name], train))
    return states if template is None else results


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
    `UpChannelXCorr`'s learnt output scale for both branches (None: pysot's unscaled sums).
    `template(zs)` -> {"cls": [B, Hz-2, Wz-2, features * 2K], "loc": [B, Hz-2, Wz-2, features * 4K]} (the
    up-channel kernels)."""

    anchor_num: int = 5
    features: int | None = None
    out_scale: float | None = None
    impl: str = "auto"

    def template(self, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        del box_wh
        return self._run(zs, None)

    def track(self, xs: Sequence, template: dict, train: bool = False) -> dict:
        return self._run(xs, template)

    def __call__(self, xs: Sequence, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        if len(xs) != 1 or len(zs) != 1:
            raise ValueError(f"UPChannelRPN takes one feature layer, got {len(xs)} search / {len(zs)} template layers")
        return self.track(xs, self.template(zs, box_wh, train), train)

    @nn.compact
    def _run(self, feats: Sequence, template: dict | None) -> dict:
        """`template` None: the template step on feats = zs; else the search step on feats = xs."""
        if len(feats) != 1:
            raise ValueError(f"UPChannelRPN takes one feature layer, got {len(feats)}")
        f, k = feats[0], self.anchor_num
        features = self.features or f.shape[-1]
        branches = {"cls": fusion.UpChannelXCorr(2 * k, features, out_scale=self.out_scale, impl=self.impl,
                                                 name="cls"),
                    "loc": fusion.UpChannelXCorr(4 * k, features, adjust=True, out_scale=self.out_scale,
                                                 impl=self.impl, name="loc")}
        if template is None:
            return {part: m.template(f) for part, m in branches.items()}
        return {part: m.track(f, template[part]) for part, m in branches.items()}


class MultiRPN(nn.Module):
    """SiamRPN++ (Li et al. 2019): per layer l a `DepthwiseRPN` (`rpn{l+2}`: cls and loc correlation branches
    of kind `branch`, "dw" or "acm", hidden width = the layer's channels unless `hidden`), fused by
    `layer_average` with learned `cls_weight` / `loc_weight` (`weighted`). 7x7 * 31x31 -> 25x25.
    `template(zs, box_wh)` -> {"rpn{l+2}_{cls|loc}": the branch's template state (see `BRANCHES`)}."""

    anchor_num: int = 5
    weighted: bool = True
    branch: str = "dw"
    hidden: int | None = None
    impl: str = "auto"

    def template(self, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        return self._run(zs, None, box_wh, train)

    def track(self, xs: Sequence, template: dict, train: bool = False) -> dict:
        return self._run(xs, template, None, train)

    def __call__(self, xs: Sequence, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        check_layers("MultiRPN", xs, zs)
        return self.track(xs, self.template(zs, box_wh, train), train)

    @nn.compact
    def _run(self, feats: Sequence, template: dict | None, box_wh, train: bool) -> dict:
        """`template` None: the template step on feats = zs; else the search step on feats = xs."""
        k = self.anchor_num
        out = run_branches(self, feats, template, box_wh, train, "rpn", {"cls": 2 * k, "loc": 4 * k})
        if template is None:
            return out
        return {part: layer_average(self, f"{part}_weight", o, self.weighted) for part, o in out.items()}
