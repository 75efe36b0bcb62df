"""Flax linen blocks around the correlation / fusion operators, as used by the Siamese heads.

All take search features x `[B, Hx, Wx, C]` and template features z `[B, Hz, Wz, C]` (NHWC) and a
`train` flag (BatchNorm batch statistics live in the "batch_stats" collection).
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from jaxtrack import ops

BN_MOMENTUM, BN_EPS = 0.9, 1e-5  # PyTorch's BatchNorm defaults (momentum 0.1 there = 0.9 here)


def batch_norm(train: bool, name: str | None = None) -> nn.BatchNorm:
    return nn.BatchNorm(use_running_average=not train, momentum=BN_MOMENTUM, epsilon=BN_EPS, name=name)


class ConvBNReLU(nn.Module):
    """VALID (or given padding) conv -> BN -> ReLU."""

    features: int
    kernel_size: int = 3
    padding: str | int = "VALID"
    use_bias: bool = False

    @nn.compact
    def __call__(self, x, train: bool = False):
        k = self.kernel_size
        x = nn.Conv(self.features, (k, k), padding=self.padding, use_bias=self.use_bias)(x)
        return nn.relu(batch_norm(train)(x))


class XCorr(nn.Module):
    """SiamFC head: `out_scale * xcorr(x, z) + bias` -> [B, Ho, Wo, 1] (out_scale 0.001 as in SiamFC)."""

    out_scale: float = 1e-3
    learn_scale: bool = True
    impl: str = "auto"

    @nn.compact
    def __call__(self, x, z, train: bool = False):
        del train
        scale = self.param("out_scale", nn.initializers.constant(self.out_scale), ()) if self.learn_scale \
            else self.out_scale
        bias = self.param("bias", nn.initializers.zeros, ())
        return ops.xcorr(x, z, impl=self.impl) * scale + bias


class DepthwiseXCorr(nn.Module):
    """pysot's DepthwiseXCorr: conv_kernel / conv_search (3x3 conv-BN-ReLU), DW-Corr, then the head
    (1x1 conv-BN-ReLU, 1x1 conv to `out_channels`) -> [B, Ho', Wo', out_channels]."""

    hidden: int
    out_channels: int
    kernel_size: int = 3
    impl: str = "auto"

    @nn.compact
    def __call__(self, x, z, train: bool = False):
        kernel = ConvBNReLU(self.hidden, self.kernel_size, name="conv_kernel")(z, train)
        search = ConvBNReLU(self.hidden, self.kernel_size, name="conv_search")(x, train)
        feature = ops.dw_xcorr(search, kernel, impl=self.impl)
        feature = nn.relu(batch_norm(train)(nn.Conv(self.hidden, (1, 1), use_bias=False)(feature)))
        return nn.Conv(self.out_channels, (1, 1), name="head_out")(feature)


class UpChannelXCorr(nn.Module):
    """pysot's UP-Channel branch: template 3x3 conv to `features * out_channels` channels, search 3x3
    conv to `features`, UP-XCorr -> [B, Ho', Wo', out_channels] (optional 1x1 adjust, SiamRPN's loc).

    `out_scale`: None (pysot) or the initial value of a learnt scalar multiplying the correlation (SiamFC's
    adjust): the correlation sums features * Hz' * Wz' products, so from scratch its outputs start in the hundreds.
    """

    out_channels: int
    features: int = 256
    kernel_size: int = 3
    adjust: bool = False
    out_scale: float | None = None
    impl: str = "auto"

    @nn.compact
    def __call__(self, x, z, train: bool = False):
        del train
        k = (self.kernel_size, self.kernel_size)
        kernel = nn.Conv(self.features * self.out_channels, k, padding="VALID", name="template_conv")(z)
        search = nn.Conv(self.features, k, padding="VALID", name="search_conv")(x)
        out = ops.up_xcorr(search, kernel, impl=self.impl)
        if self.out_scale is not None:
            out = out * self.param("out_scale", nn.initializers.constant(self.out_scale), ())
        return nn.Conv(self.out_channels, (1, 1), name="adjust")(out) if self.adjust else out


class BoxEmbedding(nn.Module):
    """SiamBAN-ACM's template-box encoder: (w, h) [B, 2] -> Linear 32 -> BN -> ReLU -> Linear 32 -> BN ->
    ReLU -> Linear `features` (no bias) -> [B, features]."""

    features: int
    hidden: int = 32

    @nn.compact
    def __call__(self, wh, train: bool = False):
        h = wh
        for i in range(2):
            h = nn.relu(batch_norm(train, f"bn{i}")(nn.Dense(self.hidden, name=f"dense{i}")(h)))
        return nn.Dense(self.features, use_bias=False, name="out")(h)


def fold_batch_norm(params, stats, eps: float = BN_EPS):
    """An inference BatchNorm as an affine: (scale, shift) [P] with `bn(y) = y * scale + shift`, from its
    params {"scale", "bias"} and running stats {"mean", "var"}."""
    scale = params["scale"] * lax.rsqrt(stats["var"] + eps)
    return scale, params["bias"] - stats["mean"] * scale


class AsymmetricFusion(nn.Module):
    """ACM fusion (SiamBAN-ACM's head core): template conv to 1x1xP (theta_z + bias), search conv to
    HoxWoxP (theta_x), box MLP on the template (w, h), broadcast add, BN, ReLU -> [B, Ho, Wo, P].

    The kernels have the template's spatial size, so `conv(z, theta_z)` is 1x1. Equal to BN-ReLU of
    `concat_conv_reference(x, z, concat([theta_z, theta_x], channel), bias) + box_embedding`.
    With `impl="pallas"` at inference (train=False, variables present) the BN is folded into an affine
    from its running stats and add-BN-ReLU run as one Pallas epilogue (`ops.asym_conv_bn_relu`); the
    variables are the same as with any other impl.
    """

    features: int
    use_box: bool = True
    box_hidden: int = 32
    impl: str = "auto"

    @nn.compact
    def __call__(self, x, z, box_wh=None, train: bool = False):
        shape = (*z.shape[1:], self.features)
        theta_x = self.param("theta_x", nn.initializers.lecun_normal(), shape, jnp.float32)
        theta_z = self.param("theta_z", nn.initializers.lecun_normal(), shape, jnp.float32)
        bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
        box = None
        if self.use_box:
            if box_wh is None:
                raise ValueError("AsymmetricFusion(use_box=True): box_wh [B, 2] (template box w, h) is required")
            box = BoxEmbedding(self.features, self.box_hidden, name="box")(box_wh, train)
        args = (x, z, theta_x.astype(x.dtype), theta_z.astype(x.dtype), bias)
        if self.impl == "pallas" and not train and not self.is_initializing():
            scale, shift = fold_batch_norm(self.variables["params"]["bn"], self.variables["batch_stats"]["bn"])
            return ops.asym_conv_bn_relu(*args, scale, shift, box_embed=box, impl="pallas")
        y = ops.asym_conv(*args, box_embed=box, impl=self.impl)
        return nn.relu(batch_norm(train, "bn")(y))
