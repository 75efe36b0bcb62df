"""SiamMask (Wang et al. CVPR 2019) as pysot builds it (`experiments/siammask_r50_l3`): ResNet-50 to layer 3, the
adjust layer on layer 3, a one-layer DW-Corr RPN, the mask branch (`heads.mask.MaskCorr`) and the refine module
(`heads.mask.Refine`) on the search features of the stem, layer1 and layer2. With `branch="acm"` both the RPN and
the mask branch fuse template and search with ACM's asymmetric convolution (SiamMask-ACM).

    model = siammask()                                             # pysot's siammask_r50_l3
    template = model.apply(variables, z_img, box_wh, method="template")
    out = model.apply(variables, x_img, template, method="track")
    masks = model.apply(variables, out["features"], out["corr"], pos, method="refine_masks")
    out = model.apply(variables, z_img, x_img, box_wh, pos, train=True, mutable=["batch_stats"])   # training

`track` -> {"cls": [B, R, R, 2K], "loc": [B, R, R, 4K] (SiamRPN++'s), "mask": [B, R, R, mask_size^2] per-window
mask logits, "corr": [B, R, R, hidden] the mask branch's correlation feature, "features": the search features of
`refine_layers` (the refine module's input)}; R = 25 at 127 / 255. `__call__` with `pos` [B, N, 2] (row, col)
windows adds "window_masks" [B, N, S, S]: the refined masks (S = refine out_size) when the model has the refine
module, else the windows' `mask` channels as [mask_size, mask_size] maps.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax

from jaxtrack.models.backbones import get_backbone
from jaxtrack.models.heads import get_head
from jaxtrack.models.heads.mask import MaskCorr, Refine
from jaxtrack.models.neck import AdjustAllLayer
from jaxtrack.models.siamese import SiameseTracker


class SiamMask(SiameseTracker):
    """SiameseTracker (`backbone` -> `neck` on `layers` -> `head`, the RPN) plus `mask_head` (MaskCorr on the same
    neck features) and `refine` (or None) on the raw backbone features of `refine_layers`."""

    mask_head: nn.Module | None = None
    refine: nn.Module | None = None
    refine_layers: Sequence[str] = ("layer0", "layer1", "layer2")
    mask_size: int = 63

    def _backbone(self, img, train: bool):
        if img.ndim != 4 or img.shape[-1] != 3:
            raise ValueError(f"images must be [B, H, W, 3], got {img.shape}")
        out = self.backbone(img, use_running_average=not train)
        feats = tuple(out[name] for name in self.layers)
        return (feats if self.neck is None else self.neck(feats, train)), out

    def template(self, z_img, box_wh=None, train: bool = False) -> dict:
        if box_wh is not None and box_wh.shape != (z_img.shape[0], 2):
            raise ValueError(f"box_wh must be [B, 2] = {(z_img.shape[0], 2)} (template w, h), got {box_wh.shape}")
        zs, _ = self._backbone(z_img, train)
        return {"rpn": self.head.template(zs, box_wh, train), "mask": self.mask_head.template(zs[-1], box_wh, train)}

    def track(self, x_img, template: dict, train: bool = False) -> dict:
        batch = {a.shape[0] for a in jax.tree.leaves(template)}
        if batch != {x_img.shape[0]}:
            raise ValueError(f"x_img batch {x_img.shape[0]} != template batch {sorted(batch)}")
        xs, raw = self._backbone(x_img, train)
        out = dict(self.head.track(xs, template["rpn"], train))
        out["mask"], out["corr"] = self.mask_head.track(xs[-1], template["mask"], train)
        out["features"] = tuple(raw[name] for name in self.refine_layers) if self.refine is not None else ()
        return out

    def refine_masks(self, features: Sequence, corr, pos):
        """Refined mask logits [B, N, S, S] of windows `pos` [B, N, 2] (row, col) (`Refine`)."""
        if self.refine is None:
            raise ValueError("SiamMask.refine_masks: the model has no refine module (refine=False)")
        return self.refine(features, corr, pos)

    def window_masks(self, out: dict, pos):
        """[B, N, S, S] mask logits of windows `pos` [B, N, 2]: refined, or the raw head's maps."""
        if self.refine is not None:
            return self.refine_masks(out["features"], out["corr"], pos)
        m = out["mask"]
        picked = jax.vmap(lambda a, p: a[p[:, 0], p[:, 1]])(m, pos)
        return picked.reshape(*pos.shape[:2], self.mask_size, self.mask_size)

    def __call__(self, z_img, x_img, box_wh=None, pos=None, train: bool = False) -> dict:
        out = self.track(x_img, self.template(z_img, box_wh, train), train)
        if pos is None and self.is_initializing() and self.refine is not None:
            pos = jax.numpy.zeros((x_img.shape[0], 1, 2), jax.numpy.int32)  # declare the refine's variables
        if pos is not None:
            out["window_masks"] = self.window_masks(out, pos)
        return out


def siammask(backbone: str = "resnet50", backbone_args: dict | None = None, layer: str = "layer3",
             neck_channels: int = 256, anchor_num: int = 5, branch: str = "dw", mask_size: int = 63,
             refine: bool = True, refine_sizes: Sequence[int] = (61, 31, 15), refine_out: int = 127,
             center_size: int = 7, crop_below: int = 20, impl: str = "auto") -> SiamMask:
    """pysot's siammask_r50_l3: `backbone` (used_layers 0-3 unless `backbone_args` say otherwise), AdjustLayer to
    `neck_channels` on `layer`, a DW (or ACM, `branch`) RPN of `anchor_num` anchors, MaskCorr to `mask_size`^2
    channels, and with `refine` the refine module (window sizes `refine_sizes` at strides 2 / 4 / 8, output
    `refine_out`: 61 / 31 / 15 -> 127 at 127 / 255 crops; 29 / 15 / 7 -> 63 at 63 / 127)."""
    args = {"used_layers": (0, 1, 2, 3), **(backbone_args or {})}
    return SiamMask(get_backbone(backbone, **args),
                    get_head("multi_rpn", anchor_num=anchor_num, weighted=False, branch=branch, impl=impl),
                    (layer,), AdjustAllLayer((neck_channels,), center_size, crop_below),
                    mask_head=MaskCorr(neck_channels, mask_size ** 2, branch, impl),
                    refine=Refine(tuple(refine_sizes), refine_out) if refine else None, mask_size=mask_size)
