"""Flax linen blocks around the correlation / fusion operators, as used by the Siamese heads.

All take search features x `[B, Hx, Wx, C]` and template features z `[B, Hz, Wz, C]` (NHWC) and a
`train` flag (BatchNorm batch statistics live in the "batch_stats" collection). Each correlation block has
two steps: `template(z)` computes everything that depends only on the template (its kernel / template term),
once per video, and `track(x, that)` the search side, per frame; `__call__(x, z)` is `track(x, template(z))`.
"""

from __future__ import annotations

import flax.linen as nn
import jax.numpy as jnp
from jax import lax

from jaxtrack import ops
from jaxtrack.models.conv import Conv
from jaxtrack.ops.checks import acc_dtype

BN_MOMENTUM, BN_EPS = 0.9, 1e-5  # PyTorch's BatchNorm defaults (momentum 0.1 there = 0.9 here)


def batch_norm(train: bool | None, name: str | None = None) -> nn.BatchNorm:
    """PyTorch-default BatchNorm; `train` None: `use_running_average` is given at each call (modules in setup)."""
    use_running_average = None if train is None else not train
    return nn.BatchNorm(use_running_average=use_running_average, momentum=BN_MOMENTUM, epsilon=BN_EPS, name=name)


class ConvBNReLU(nn.Module):
    """VALID (or given padding) conv -> BN -> ReLU."""

    features: int
    kernel_size: int = 3
    padding: str | int = "VALID"
    use_bias: bool = False

    @nn.compact
    def __call__(self, x, train: bool = False):
        k = self.kernel_size
        x = Conv(self.features, (k, k), padding=self.padding, use_bias=self.use_bias)(x, train)
        return nn.relu(batch_norm(train)(x))


class XCorr(nn.Module):
    """SiamFC head: `out_scale * xcorr(x, z) + bias` -> [B, Ho, Wo, 1] (out_scale 0.001 as in SiamFC).
    `template(z)` is z itself (the correlation kernel); `track(x, z)` the rest."""

    out_scale: float = 1e-3
    learn_scale: bool = True
    impl: str = "auto"

    def template(self, z, train: bool = False):
        del train
        return z

    @nn.compact
    def track(self, x, z, train: bool = False):
        del train
        scale = self.param("out_scale", nn.initializers.constant(self.out_scale), ()) if self.learn_scale \
            else self.out_scale
        bias = self.param("bias", nn.initializers.zeros, ())
        return ops.xcorr(x, z, impl=self.impl) * scale + bias

    def __call__(self, x, z, train: bool = False):
        return self.track(x, self.template(z, train), train)


class DepthwiseXCorr(nn.Module):
    """pysot's DepthwiseXCorr: conv_kernel / conv_search (3x3 conv-BN-ReLU), DW-Corr, then the head
    (1x1 conv-BN-ReLU, 1x1 conv to `out_channels`) -> [B, Ho', Wo', out_channels].

    `template(z)` -> the correlation kernel conv_kernel(z) [B, Hz-k+1, Wz-k+1, hidden], once per video;
    `track(x, kernel)` the search side; `__call__(x, z)` both.
    """

    hidden: int
    out_channels: int
    kernel_size: int = 3
    impl: str = "auto"

    def setup(self):
        self.conv_kernel = ConvBNReLU(self.hidden, self.kernel_size)
        self.conv_search = ConvBNReLU(self.hidden, self.kernel_size)
        self.Conv_0 = Conv(self.hidden, (1, 1), use_bias=False)  # pysot's head.0 / head.1: the names of the
        self.BatchNorm_0 = batch_norm(None)  # former compact version (converted and trained checkpoints)
        self.head_out = Conv(self.out_channels, (1, 1))

    def template(self, z, train: bool = False):
        return self.conv_kernel(z, train)

    def track(self, x, kernel, train: bool = False):
        feature = ops.dw_xcorr(self.conv_search(x, train), kernel, impl=self.impl)
        feature = nn.relu(self.BatchNorm_0(self.Conv_0(feature, train), use_running_average=not train))
        return self.head_out(feature, train)

    def __call__(self, x, z, train: bool = False):
        return self.track(x, self.template(z, train), train)


class UpChannelXCorr(nn.Module):
    """pysot's UP-Channel branch: template 3x3 conv to `features * out_channels` channels, search 3x3
    conv to `features`, UP-XCorr -> [B, Ho', Wo', out_channels] (optional 1x1 adjust, SiamRPN's loc).

    `out_scale`: None (pysot) or the initial value of a learnt scalar multiplying the correlation (SiamFC's
    adjust): the correlation sums features * Hz' * Wz' products, so from scratch its outputs start in the hundreds.
    `template(z)` -> the up-channel kernel template_conv(z) [B, Hz-k+1, Wz-k+1, features * out_channels];
    `track(x, kernel)` the search side; `__call__(x, z)` both.
    """

    out_channels: int
    features: int = 256
    kernel_size: int = 3
    adjust: bool = False
    out_scale: float | None = None
    impl: str = "auto"

    def setup(self):
        k = (self.kernel_size, self.kernel_size)
        self.template_conv = Conv(self.features * self.out_channels, k, padding="VALID")
        self.search_conv = Conv(self.features, k, padding="VALID")
        if self.out_scale is not None:
            self.scale = self.param("out_scale", nn.initializers.constant(self.out_scale), ())
        if self.adjust:
            self.adjust_conv = Conv(self.out_channels, (1, 1), name="adjust")

    def template(self, z, train: bool = False):
        return self.template_conv(z, train)

    def track(self, x, kernel, train: bool = False):
        out = ops.up_xcorr(self.search_conv(x, train), kernel, impl=self.impl)
        if self.out_scale is not None:
            out = out * self.scale
        return self.adjust_conv(out, train) if self.adjust else out

    def __call__(self, x, z, train: bool = False):
        return self.track(x, self.template(z, train), train)


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
    `template(z, box_wh)` -> the template term t [B, P] = conv(z, theta_z) + bias + box MLP (float32; float64
    for float64 z), once per video; `track(x, t)` -> BN-ReLU(conv(x, theta_x) + t); `__call__` both (the
    values of `ops.asym_conv`).
    With `impl="pallas"` at inference (train=False, variables present) the BN is folded into an affine
    from its running stats and add-BN-ReLU run as one Pallas epilogue (`kernels.acm_epilogue`); the
    variables are the same as with any other impl.
    """

    features: int
    use_box: bool = True
    box_hidden: int = 32
    impl: str = "auto"

    def template(self, z, box_wh=None, train: bool = False):
        return self._step(z, None, box_wh, train)

    def track(self, x, t, train: bool = False):
        return self._step(x, t, None, train)

    def __call__(self, x, z, box_wh=None, train: bool = False):
        return self.track(x, self.template(z, box_wh, train), train)

    @nn.compact
    def _step(self, a, t, box_wh, train: bool):
        """Both steps in one compact method (variable names as before): t None -> the template step on a = z,
        which declares theta_x too (its shape is the template's); else the search step on a = x."""
        if t is None:
            shape = (*a.shape[1:], self.features)
            self.param("theta_x", nn.initializers.lecun_normal(), shape, jnp.float32)
            theta_z = self.param("theta_z", nn.initializers.lecun_normal(), shape, jnp.float32).astype(a.dtype)
            bias = self.param("bias", nn.initializers.zeros, (self.features,), jnp.float32)
            acc = acc_dtype(a, theta_z)
            t = jnp.einsum("buvc,uvcp->bp", a, theta_z, preferred_element_type=acc) + bias.astype(acc)
            if self.use_box:
                if box_wh is None:
                    raise ValueError("AsymmetricFusion(use_box=True): box_wh [B, 2] (template box w, h) is required")
                t = t + BoxEmbedding(self.features, self.box_hidden, name="box")(box_wh, train).astype(acc)
            return t
        theta_x = self.get_variable("params", "theta_x")
        if theta_x is None:
            raise ValueError("AsymmetricFusion.track: no theta_x; initialise the module with __call__")
        theta_x = theta_x.astype(a.dtype)
        if self.impl == "pallas" and not train and not self.is_initializing():
            affine = fold_batch_norm(self.variables["params"]["bn"], self.variables["batch_stats"]["bn"])
            return ops.asym_search(a, theta_x, t, *affine, impl="pallas")
        return nn.relu(batch_norm(train, "bn")(ops.asym_search(a, theta_x, t, impl=self.impl)))
