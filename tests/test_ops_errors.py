"""Bad input to the operators: a ValueError naming the argument and both shapes, never a silent broadcast."""

import numpy as np
import pytest

import jaxtrack.ops as ops

x = np.zeros((2, 9, 9, 4), np.float32)
z = np.zeros((2, 3, 3, 4), np.float32)
theta = np.zeros((3, 3, 4, 5), np.float32)


def corr_ops():
    return [ops.xcorr, ops.dw_xcorr, ops.up_xcorr]


@pytest.mark.parametrize("op", corr_ops())
@pytest.mark.parametrize(("xs", "zs", "words"), [
    ((3, 9, 9, 4), (2, 3, 3, 4), ["batch", "(3, 9, 9, 4)", "(2, 3, 3, 4)"]),
    ((2, 9, 9, 4), (2, 10, 3, 4), ["larger", "(2, 9, 9, 4)", "(2, 10, 3, 4)"]),
    ((2, 9, 9, 4), (2, 3, 10, 4), ["larger", "(2, 3, 10, 4)"]),
    ((9, 9, 4), (2, 3, 3, 4), ["x must be rank 4", "(9, 9, 4)"]),
    ((2, 9, 9, 4), (3, 3, 4), ["z must be rank 4", "(3, 3, 4)"]),
])
def test_shape_errors_name_argument_and_shapes(op, xs, zs, words):
    with pytest.raises(ValueError) as e:
        op(np.zeros(xs, np.float32), np.zeros(zs, np.float32))
    for w in words:
        assert w in str(e.value)


@pytest.mark.parametrize("op", [ops.xcorr, ops.dw_xcorr])
def test_channel_mismatch(op):
    with pytest.raises(ValueError, match=r"same channel count.*\(2, 9, 9, 4\).*\(2, 3, 3, 5\)"):
        op(x, np.zeros((2, 3, 3, 5), np.float32))


def test_up_xcorr_channels_must_be_multiple():
    with pytest.raises(ValueError, match=r"multiple K\*C of x's C=4.*\(2, 3, 3, 6\)"):
        ops.up_xcorr(x, np.zeros((2, 3, 3, 6), np.float32))


@pytest.mark.parametrize("op", ops.OPS)
def test_unknown_impl_lists_the_known_ones(op):
    args = (x, z, theta, theta) if op == "asym_conv" else (x, z)
    with pytest.raises(ValueError, match=r"unknown impl='nope'.*reference"):
        getattr(ops, op)(*args, impl="nope")


def test_integer_inputs_are_rejected():
    with pytest.raises(ValueError, match="x must be a floating dtype, got int32"):
        ops.xcorr(x.astype(np.int32), z)


@pytest.mark.parametrize(("kwargs", "pattern"), [
    ({"theta_x": np.zeros((3, 3, 4, 6))}, r"theta_z must have P=6.*\(3, 3, 4, 5\)"),
    ({"theta_x": np.zeros((5, 3, 4, 5))}, r"theta_x must have shape \[3, 3, 4, P\].*\(5, 3, 4, 5\)"),
    ({"theta_z": np.zeros((3, 3, 8, 5))}, r"theta_z must have shape \[3, 3, 4, P\].*\(3, 3, 8, 5\)"),
    ({"bias": np.zeros(4)}, r"bias must have shape \[5\], got bias.shape=\(4,\)"),
    ({"box_embed": np.zeros((5,))}, r"box_embed must have shape \[2, 5\], got box_embed.shape=\(5,\)"),
])
def test_asym_conv_parameter_errors(kwargs, pattern):
    args = {"theta_x": theta, "theta_z": theta, "bias": None, "box_embed": None} | kwargs
    with pytest.raises(ValueError, match=pattern):
        ops.asym_conv(x, z, args["theta_x"], args["theta_z"], args["bias"], box_embed=args["box_embed"])


def test_concat_conv_reference_theta_must_have_2c_inputs():
    with pytest.raises(ValueError, match=r"theta must have shape \[3, 3, 8, P\].*\(3, 3, 4, 5\)"):
        ops.concat_conv_reference(x, z, theta)
