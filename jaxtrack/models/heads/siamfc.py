"""SiamFC head (Bertinetto et al. 2016; siamfc-pytorch): `out_scale * xcorr(x, z) + bias` on one layer, the
scale fixed at 0.001 as in siamfc-pytorch unless `learn_scale`."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn

from jaxtrack.models import fusion


class SiamFCHead(nn.Module):
    """xs, zs: one-element sequences of [B, Hx, Wx, C], [B, Hz, Wz, C] -> {"cls": [B, Ho, Wo, 1]} (logits).
    `template(zs)` -> {"xcorr": z} (the correlation kernel is the template features themselves)."""

    out_scale: float = 1e-3
    learn_scale: bool = False
    impl: str = "auto"

    def setup(self):
        self.xcorr = fusion.XCorr(self.out_scale, self.learn_scale, self.impl)

    def template(self, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        del box_wh
        if len(zs) != 1:
            raise ValueError(f"SiamFCHead takes one feature layer, got {len(zs)} template layers")
        return {"xcorr": self.xcorr.template(zs[0], train)}

    def track(self, xs: Sequence, template: dict, train: bool = False) -> dict:
        if len(xs) != 1:
            raise ValueError(f"SiamFCHead takes one feature layer, got {len(xs)} search layers")
        return {"cls": self.xcorr.track(xs[0], template["xcorr"], train)}

    def __call__(self, xs: Sequence, zs: Sequence, box_wh=None, train: bool = False) -> dict:
        if len(xs) != 1 or len(zs) != 1:
            raise ValueError(f"SiamFCHead takes one feature layer, got {len(xs)} search / {len(zs)} template layers")
        return self.track(xs, self.template(zs, box_wh, train), train)
