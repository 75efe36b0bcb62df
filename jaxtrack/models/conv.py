"""`Conv`: flax's `nn.Conv` (same parameters, names, shapes and initialisers) computed by `ops.conv.conv2d`, with
the form chosen by name (`impl`) and XLA's own convolution whenever `train` is set.

At inference (`train=False`) `impl="auto"` takes the fastest form for the kernel (ops/conv.py). A form with
precomputed weights (winograd's transformed kernel) reads them from the "prepared" collection when present:
`prepare(model, variables, *args)` runs the model once with that collection mutable and returns the variables
with it, for a tracker built once and run per frame. Without it the form transforms the kernel at each call.
Training variables never hold "prepared" (`model.init` does not create it). `with default_impl("xla"):` makes
"auto" mean that form for the models traced inside (tests that read the architecture off XLA's convolutions).
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Sequence
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jaxtrack.ops import conv as conv_ops

PREPARED = "prepared"
_DEFAULT_IMPL = contextvars.ContextVar("conv_impl", default="auto")


@contextlib.contextmanager
def default_impl(impl: str):
    """Within the block, `Conv(impl="auto")` traces as `impl` (a form of `ops.conv.CONV_FORMS` or "auto")."""
    token = _DEFAULT_IMPL.set(impl)
    try:
        yield
    finally:
        _DEFAULT_IMPL.reset(token)


class Conv(nn.Module):
    """[B, H, W, C] -> [B, Ho, Wo, features], as `nn.Conv` with the same attributes.

    padding: "VALID", "SAME", an int or pairs per spatial axis (as nn.Conv); impl: a form of
    `ops.conv.CONV_FORMS` or "auto" (used when `train` is False; "xla" when True).
    """

    features: int
    kernel_size: Sequence[int]
    strides: int | Sequence[int] = 1
    padding: Any = "SAME"
    kernel_dilation: int | Sequence[int] = 1
    feature_group_count: int = 1
    use_bias: bool = True
    dtype: Any = None
    impl: str = "auto"

    @nn.compact
    def __call__(self, x, train: bool = False):
        c = x.shape[-1]
        kernel = self.param("kernel", nn.initializers.lecun_normal(),
                            (*self.kernel_size, c // self.feature_group_count, self.features))
        bias = self.param("bias", nn.initializers.zeros, (self.features,)) if self.use_bias else None
        dtype = self.dtype or jnp.result_type(x, kernel)
        x, kernel = x.astype(dtype), kernel.astype(dtype)
        padding = self.padding
        if isinstance(padding, int):
            padding = ((padding, padding),) * 2
        elif not isinstance(padding, str):
            padding = tuple((p, p) if isinstance(p, int) else tuple(p) for p in padding)
        impl = _DEFAULT_IMPL.get() if self.impl == "auto" else self.impl
        strides = _pair(self.strides)
        out_pixels = x.shape[0] * (x.shape[1] // strides[0]) * (x.shape[2] // strides[1])  # ~ batch x positions
        form = "xla" if train else (conv_ops.auto_form(kernel.shape, strides, self.feature_group_count,
                                                       out_pixels=out_pixels) if impl == "auto" else impl)
        prepared = None
        if form in conv_ops.WINOGRAD_TILE:
            if self.has_variable(PREPARED, form):
                prepared = self.get_variable(PREPARED, form)
            elif self.is_mutable_collection(PREPARED) and not self.is_initializing():
                prepared = self.variable(PREPARED, form, conv_ops.winograd_weights, kernel,
                                         conv_ops.WINOGRAD_TILE[form]).value
        y = conv_ops.conv2d(x, kernel, self.strides, padding, self.kernel_dilation, self.feature_group_count,
                            impl=form, prepared=prepared)
        return y if bias is None else y + bias.astype(dtype)


def _pair(v) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else tuple(v)


def prepare(model: nn.Module, variables: dict, *args, **kwargs) -> dict:
    """`variables` plus the "prepared" collection of every `Conv` that `model.apply(variables, *args, **kwargs)`
    (an inference call) runs: the precomputed weights of their forms."""
    base = {k: v for k, v in variables.items() if k != PREPARED}
    _, extra = model.apply(base, *args, mutable=[PREPARED], **kwargs)
    return {**base, **extra} if extra else base
