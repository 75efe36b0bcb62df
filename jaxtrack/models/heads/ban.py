"""SiamBAN head (Chen et al. 2020, hqucv/siamban `MultiBAN`): anchor-free, per location 2 class logits and
4 distances (l, t, r, b) to the box sides."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxtrack.models.heads.rpn import check_layers, layer_average, run_branches


class MultiBAN(nn.Module):
    """xs / zs: sequences of [B, Hx, Wx, C_l] / [B, Hz, Wz, C_l] -> {"cls": [B, Ho, Wo, cls_out_channels],
    "loc": [B, Ho, Wo, 4] (positive, `exp(loc_scale[l] * raw)` per layer)}.

    Per layer l a `DepthwiseBAN` (`box{l+2}_cls` / `box{l+2}_loc` correlation branches of kind `branch`: "dw",
    or "acm" for SiamBAN-ACM), a learned `loc_scale` (ones) per layer, and `layer_average` over layers.
    `template(zs, box_wh)` -> {"box{l+2}_{cls|loc}": the branch's template state (`rpn.BRANCHES`)}, once per
    video; `track(xs, template)` the search side; `__call__` both.
    """

    cls_out_channels: int = 2
    weighted: bool = True
    branch: str = "dw"
    hidden: int | None = None
    impl: str = "auto"

    def template(self, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        return self._run(zs, None, box_wh, train)

    def track(self, xs: Sequence, template: dict, train: bool = False) -> dict:
        return self._run(xs, template, None, train)

    def __call__(self, xs: Sequence, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        check_layers("MultiBAN", xs, zs)
        return self.track(xs, self.template(zs, box_wh, train), train)

    @nn.compact
    def _run(self, feats: Sequence, template: dict | None, box_wh, train: bool) -> dict:
        """`template` None: the template step on feats = zs; else the search step on feats = xs."""
        out = run_branches(self, feats, template, box_wh, train, "box", {"cls": self.cls_out_channels, "loc": 4})
        if template is None:
            return out
        loc_scale = self.param("loc_scale", nn.initializers.ones, (len(feats),), jnp.float32)
        loc = [jnp.exp(o * loc_scale[i]) for i, o in enumerate(out["loc"])]
        return {"cls": layer_average(self, "cls_weight", out["cls"], self.weighted),
                "loc": layer_average(self, "loc_weight", loc, self.weighted)}
