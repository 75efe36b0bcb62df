"""SiamBAN head (Chen et al. 2020, hqucv/siamban `MultiBAN`): anchor-free, per location 2 class logits and
4 distances (l, t, r, b) to the box sides."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

from jaxtrack.models.heads.rpn import check_layers, get_branch, layer_average


class MultiBAN(nn.Module):
    """xs / zs: sequences of [B, Hx, Wx, C_l] / [B, Hz, Wz, C_l] -> {"cls": [B, Ho, Wo, cls_out_channels],
    "loc": [B, Ho, Wo, 4] (positive, `exp(loc_scale[l] * raw)` per layer)}.

    Per layer l a `DepthwiseBAN` (`box{l+2}_cls` / `box{l+2}_loc` correlation branches of kind `branch`: "dw",
    or "acm" for SiamBAN-ACM), a learned `loc_scale` (ones) per layer, and `layer_average` over layers.
    """

    cls_out_channels: int = 2
    weighted: bool = True
    branch: str = "dw"
    hidden: int | None = None
    impl: str = "auto"

    @nn.compact
    def __call__(self, xs: Sequence, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        check_layers("MultiBAN", xs, zs)
        loc_scale = self.param("loc_scale", nn.initializers.ones, (len(xs),), jnp.float32)
        make, cls, loc = get_branch(self.branch), [], []
        for i, (x, z) in enumerate(zip(xs, zs)):
            hidden = self.hidden or x.shape[-1]
            cls.append(make(hidden, self.cls_out_channels, self.impl, f"box{i + 2}_cls")(x, z, box_wh, train))
            loc.append(jnp.exp(make(hidden, 4, self.impl, f"box{i + 2}_loc")(x, z, box_wh, train) * loc_scale[i]))
        return {"cls": layer_average(self, "cls_weight", cls, self.weighted),
                "loc": layer_average(self, "loc_weight", loc, self.weighted)}
