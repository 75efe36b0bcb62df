"""SiamBAN-ACM's head branch (Han et al. CVPR 2021, wencheng256/SiamBAN-ACM `DepthwiseXCorr`): asymmetric
convolution in place of the depth-wise correlation, so the only convolution kernels are parameters."""

from __future__ import annotations

import flax.linen as nn

from jaxtrack.models import fusion


class ACMXCorr(nn.Module):
    """x [B, Hx, Wx, C], z [B, Hz, Wz, C], box_wh [B, 2] -> [B, Hx-Hz+1, Wx-Wz+1, out_channels].

    conv_kernel / conv_search (3x3 conv-BN-ReLU, VALID), `AsymmetricFusion` (5x5 template conv with bias to
    1x1 + 5x5 search conv + box MLP on the template (w, h), broadcast add, BN-ReLU), 3x3 conv (pad 1) -BN-ReLU,
    then the head: 3x3 conv (pad 1) -BN-ReLU, 3x3 conv (pad 1) to `out_channels`. `impl` is the fusion's
    (with "pallas" at inference, its add-BN-ReLU is the fused Pallas epilogue).
    """

    hidden: int
    out_channels: int
    use_box: bool = True
    impl: str = "auto"

    @nn.compact
    def __call__(self, x, z, box_wh=None, train: bool = False):
        kernel = fusion.ConvBNReLU(self.hidden, 3, name="conv_kernel")(z, train)
        search = fusion.ConvBNReLU(self.hidden, 3, name="conv_search")(x, train)
        y = fusion.AsymmetricFusion(self.hidden, self.use_box, impl=self.impl, name="fusion")(
            search, kernel, box_wh, train)
        y = fusion.ConvBNReLU(self.hidden, 3, padding=1, use_bias=True, name="activate")(y, train)
        y = fusion.ConvBNReLU(self.hidden, 3, padding=1, use_bias=True, name="head")(y, train)
        return nn.Conv(self.out_channels, (3, 3), padding=1, name="head_out")(y)
