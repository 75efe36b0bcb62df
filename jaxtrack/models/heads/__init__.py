"""Siamese tracker heads by name. Every head: `head(xs, zs, box_wh=None, train=False) -> dict`, xs / zs
sequences of search / template feature maps (one per backbone layer), box_wh [B, 2] the template box
(w, h) (used by the ACM branches), result {"cls": [B, Ho, Wo, n_cls]} (+ "loc": [B, Ho, Wo, n_loc]).
`__call__` is two steps: `template(zs, box_wh, train)` -> a dict pytree of everything that depends only on the
template (per branch: correlation kernels, ACM template terms; leaves [B, ...]), once per video, and
`track(xs, template, train)` -> the result, the search side only, per frame.
"""

from __future__ import annotations

from collections.abc import Callable

import flax.linen as nn

from jaxtrack.models.heads.acm import ACMXCorr
from jaxtrack.models.heads.ban import MultiBAN
from jaxtrack.models.heads.rpn import BRANCHES, MultiRPN, UPChannelRPN, layer_average
from jaxtrack.models.heads.siamfc import SiamFCHead

HEADS: dict[str, Callable[..., nn.Module]] = {
    "siamfc": SiamFCHead,  # {"cls": [B, Ho, Wo, 1]}
    "up_rpn": UPChannelRPN,  # {"cls": 2K, "loc": 4K channels}
    "multi_rpn": MultiRPN,  # branch="dw" (SiamRPN++) or "acm" (SiamRPN++-ACM); 2K / 4K channels
    "multi_ban": MultiBAN,  # branch="dw" (SiamBAN) or "acm" (SiamBAN-ACM); 2 / 4 (exp) channels
}


def get_head(name: str, **attrs) -> nn.Module:
    """The head registered as `name` with module attributes `attrs` (e.g. `anchor_num=5, branch="acm"`)."""
    if name not in HEADS:
        raise KeyError(f"head {name!r} is not registered; expected one of {sorted(HEADS)}")
    return HEADS[name](**attrs)


__all__ = ["BRANCHES", "HEADS", "ACMXCorr", "MultiBAN", "MultiRPN", "SiamFCHead", "UPChannelRPN", "get_head",
           "layer_average"]
