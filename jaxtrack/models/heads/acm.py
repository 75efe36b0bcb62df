"""SiamBAN-ACM's head branch (Han et al. CVPR 2021, wencheng256/SiamBAN-ACM `DepthwiseXCorr`): asymmetric
convolution in place of the depth-wise correlation, so the only convolution kernels are parameters."""

from __future__ import annotations

import flax.linen as nn

from jaxtrack.models import fusion
from jaxtrack.models.conv import Conv


class ACMXCorr(nn.Module):
    """x [B, Hx, Wx, C], z [B, Hz, Wz, C], box_wh [B, 2] -> [B, Hx-Hz+1, Wx-Wz+1, out_channels].

    conv_kernel / conv_search (3x3 conv-BN-ReLU, VALID), `AsymmetricFusion` (5x5 template conv with bias to
    1x1 + 5x5 search conv + box MLP on the template (w, h), broadcast add, BN-ReLU), 3x3 conv (pad 1) -BN-ReLU,
    then the head: 3x3 conv (pad 1) -BN-ReLU, 3x3 conv (pad 1) to `out_channels`. `impl` is the fusion's
    (with "pallas" at inference, its add-BN-ReLU is the fused Pallas epilogue).
    `template(z, box_wh)` -> the fusion's template term [B, hidden] (conv_kernel, theta_z, bias, box MLP), once
    per video; `track(x, t)` the search side; `__call__(x, z, box_wh)` both.
    """

    hidden: int
    out_channels: int
    use_box: bool = True
    impl: str = "auto"

    def setup(self):
        self.conv_kernel = fusion.ConvBNReLU(self.hidden, 3)
        self.conv_search = fusion.ConvBNReLU(self.hidden, 3)
        self.fusion = fusion.AsymmetricFusion(self.hidden, self.use_box, impl=self.impl)
        self.activate = fusion.ConvBNReLU(self.hidden, 3, padding=1, use_bias=True)
        self.head = fusion.ConvBNReLU(self.hidden, 3, padding=1, use_bias=True)
        self.head_out = Conv(self.out_channels, (3, 3), padding=1)

    def template(self, z, box_wh=None, train: bool = False):
        return self.fusion.template(self.conv_kernel(z, train), box_wh, train)

    def track(self, x, t, train: bool = False):
        y = self.fusion.track(self.conv_search(x, train), t, train)
        return self.head_out(self.head(self.activate(y, train), train), train)

    def __call__(self, x, z, box_wh=None, train: bool = False):
        return self.track(x, self.template(z, box_wh, train), train)
