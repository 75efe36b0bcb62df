"""SiamMask's mask branch (Wang et al. CVPR 2019; STVIR/pysot `models/head/mask.py`): a correlation head whose
per-window output is an `mask_size`^2-channel mask logit map (63^2 = 3969 at 127 / 255 crops), and the refine
module that rebuilds a sharper 127 x 127 mask of one window from the correlation feature and earlier backbone
stages (SharpMask-style).

Windows: the head's output grid [R, R] (25 x 25 at 255) is centred in the search crop with stride 8; window
(i, j) is the exemplar-sized square (127 px) of the search crop whose top-left is `8 * (i, j) - pad` with
`pad = ((R - 1) * 8 - (search - exemplar)) / 2` (32 px at 255 / 127, 0 at 127 / 63), as pysot's refine padding
(16 / 8 / 4 feature pixels at strides 2 / 4 / 8) and its tracker's `sub_box` (`(delta - base_size / 2) * stride`).
Mask channel `y * mask_size + x` is pixel (y, x) of the window's mask, as pysot's `view(63, 63)`.
"""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack import ops
from jaxtrack.models import fusion


class MaskCorr(nn.Module):
    """pysot's `MaskCorr` (a DepthwiseXCorr that also returns its correlation feature) and its ACM counterpart.

    branch "dw": conv_kernel / conv_search (3x3 conv-BN-ReLU), DW-Corr -> the correlation feature
    [B, Ho, Wo, hidden]; "acm": conv_kernel / conv_search, `fusion.AsymmetricFusion` (template box encoded) -> the
    fused feature [B, Ho, Wo, hidden]. Then the head: 1x1 conv-BN-ReLU, 1x1 conv to `out_channels`.
    `template(z, box_wh)` -> the DW kernel [B, Hz-2, Wz-2, hidden] or the ACM template term [B, hidden];
    `track(x, state)` -> (mask logits [B, Ho, Wo, out_channels], feature [B, Ho, Wo, hidden]).
    Variable names are `fusion.DepthwiseXCorr`'s (conv_kernel, conv_search, Conv_0, BatchNorm_0, head_out).
    """

    hidden: int
    out_channels: int
    branch: str = "dw"
    impl: str = "auto"

    def setup(self):
        if self.branch not in ("dw", "acm"):
            raise ValueError(f"MaskCorr: branch must be 'dw' or 'acm', got {self.branch!r}")
        self.conv_kernel = fusion.ConvBNReLU(self.hidden, 3)
        self.conv_search = fusion.ConvBNReLU(self.hidden, 3)
        if self.branch == "acm":
            self.fusion = fusion.AsymmetricFusion(self.hidden, True, impl=self.impl)
        self.Conv_0 = nn.Conv(self.hidden, (1, 1), use_bias=False)
        self.BatchNorm_0 = fusion.batch_norm(None)
        self.head_out = nn.Conv(self.out_channels, (1, 1))

    def template(self, z, box_wh=None, train: bool = False):
        kernel = self.conv_kernel(z, train)
        return self.fusion.template(kernel, box_wh, train) if self.branch == "acm" else kernel

    def track(self, x, state, train: bool = False):
        search = self.conv_search(x, train)
        if self.branch == "acm":
            feature = self.fusion.track(search, state, train)
        else:
            feature = ops.dw_xcorr(search, state, impl=self.impl)
        out = nn.relu(self.BatchNorm_0(self.Conv_0(feature), use_running_average=not train))
        return self.head_out(out), feature

    def __call__(self, x, z, box_wh=None, train: bool = False):
        return self.track(x, self.template(z, box_wh, train), train)


def upsample_nearest(x, size: int):
    """[N, H, W, C] -> [N, size, size, C], torch's `F.upsample(mode="nearest")` (legacy nearest): source index
    `floor(i * (H / size))` in float32, clipped to H - 1."""
    def index(n: int) -> np.ndarray:
        scale = np.float32(n / size)
        return np.minimum(np.floor(np.arange(size, dtype=np.float32) * scale).astype(np.int64), n - 1)

    return x[:, index(x.shape[1])][:, :, index(x.shape[2])]


def _pad_for(n_windows: int, step: int, window: int, size: int, name: str) -> int:
    """Per-side zero padding that gives `n_windows` windows of `window` at `step` over a map of `size`."""
    total = (n_windows - 1) * step + window - size
    if total < 0 or total % 2:
        raise ValueError(f"Refine: {name} of side {size} cannot hold {n_windows} windows of {window} at stride {step} "
                         f"(needs an even, non-negative padding, got {total})")
    return total // 2


class Refine(nn.Module):
    """pysot's `Refine`: one window's mask [out_size, out_size] logits from the correlation feature of the window and
    the search features of three earlier stages cropped around it.

    features: (f0 [B, H0, W0, C0] stride 2 (ResNet stem, 64 ch), f1 [B, H1, W1, C1] stride 4 (layer1, 256),
    f2 [B, H2, W2, C2] stride 8 (layer2, 512)); corr [B, R, R, C] the mask branch's correlation feature;
    pos [B, N, 2] int (row, col) windows of the R x R grid -> [B, N, out_size, out_size] logits.
    Per window: f_l zero-padded and cropped to `sizes[l]` at `pos * 8 / stride_l` (pysot: 61 / 31 / 15 at 255),
    the corr vector through `deconv` (a 15 x 15 / 15 transposed conv: 1 x 1 -> sizes[2]), then
    post0(up(h2(.) + v2(p2), sizes[1])), post1(up(h1(.) + v1(p1), sizes[0])), post2(up(h0(.) + v0(p0), out_size))
    with nearest upsampling; v_l / h_l are two 3x3 conv-ReLU (pad 1), widths as pysot's.
    """

    sizes: Sequence[int] = (61, 31, 15)
    out_size: int = 127

    def _convs(self, name: str, widths: Sequence[int]):
        layers = [nn.Conv(w, (3, 3), padding=1, name=f"{name}_{2 * i}") for i, w in enumerate(widths)]

        def run(x):
            for layer in layers:
                x = nn.relu(layer(x))
            return x
        return run

    @nn.compact
    def __call__(self, features: Sequence, corr, pos):
        if len(features) != 3:
            raise ValueError(f"Refine: needs 3 feature maps (strides 2, 4, 8), got {len(features)}")
        b, r = corr.shape[0], corr.shape[1]
        if pos.ndim != 3 or pos.shape[0] != b or pos.shape[-1] != 2:
            raise ValueError(f"Refine: pos must be [B={b}, N, 2] (row, col), got {pos.shape}")
        n = pos.shape[1]
        pos = jnp.asarray(pos, jnp.int32)
        crops = []
        for level, (f, size) in enumerate(zip(features, self.sizes)):
            step = 4 >> level  # 8 / stride: 4, 2, 1
            pad = _pad_for(r, step, size, f.shape[1], f"features[{level}]")
            fp = jnp.pad(f, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
            def cut(img, p, s=size, k=step):
                return jax.lax.dynamic_slice(img, (p[0] * k, p[1] * k, 0), (s, s, img.shape[-1]))

            windows = jax.vmap(jax.vmap(cut, (None, 0)))(fp, pos)
            crops.append(windows.reshape(b * n, size, size, f.shape[-1]))
        p3 = jax.vmap(lambda c, ps: c[ps[:, 0], ps[:, 1]])(corr, pos).reshape(b * n, corr.shape[-1])
        k = self.sizes[2]
        kernel = self.param("deconv_kernel", nn.initializers.lecun_normal(), (corr.shape[-1], k, k, 32))
        bias = self.param("deconv_bias", nn.initializers.zeros, (32,))
        out = jnp.einsum("nc,cyxo->nyxo", p3, kernel.astype(p3.dtype)) + bias.astype(p3.dtype)
        v = [self._convs("v0", (16, 4)), self._convs("v1", (64, 16)), self._convs("v2", (128, 32))]
        h = [self._convs("h0", (4, 4)), self._convs("h1", (16, 16)), self._convs("h2", (32, 32))]
        post = [nn.Conv(c, (3, 3), padding=1, name=f"post{i}") for i, c in enumerate((16, 4, 1))]
        targets = (self.sizes[1], self.sizes[0], self.out_size)
        for i, level in enumerate((2, 1, 0)):
            out = post[i](upsample_nearest(h[level](out) + v[level](crops[level]), targets[i]))
        return out.reshape(b, n, self.out_size, self.out_size)
