"""Backbones: output sizes and parameter counts against independent facts (pysot / siamfc-pytorch / torchvision
layouts counted by formula), frozen BatchNorm, and the registry. Full-size nets only through `jax.eval_shape`."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack.models import backbones, conv


def shapes(module, size, batch=1):
    img = jax.ShapeDtypeStruct((batch, size, size, 3), jnp.float32)
    variables = jax.eval_shape(module.init, jax.random.key(0), img)
    return variables, {k: v.shape for k, v in jax.eval_shape(module.apply, variables, img).items()}


def n_params(variables):
    return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(variables["params"]))


def alexnet_count(plan, groups=(1, 1, 1, 1, 1), last_bn=True):
    """Conv weights + biases + BN scale/shift from the channel plan, kernels 11, 5, 3, 3, 3."""
    total = 0
    for i, k in enumerate((11, 5, 3, 3, 3)):
        c_in, c_out = plan[i], plan[i + 1]
        total += k * k * c_in // groups[i] * c_out + c_out + (2 * c_out if i < 4 or last_bn else 0)
    return total


@pytest.mark.parametrize(("name", "groups", "last_bn"), [
    ("alexnet", (1, 1, 1, 1, 1), True),  # pysot AlexNetLegacy
    ("alexnet_siamfc", (1, 2, 1, 2, 2), False),  # siamfc-pytorch AlexNetV1
])
def test_alexnet_sizes_and_params(name, groups, last_bn):
    module = backbones.get_backbone(name)
    variables, out = shapes(module, 127)
    assert out["layer5"] == (1, 6, 6, 256)
    assert shapes(module, 255)[1]["layer5"] == (1, 22, 22, 256)
    assert n_params(variables) == alexnet_count((3, 96, 256, 384, 384, 256), groups, last_bn)
    if name == "alexnet":
        assert n_params(variables) == 3_749_952  # by hand: convs 3,747,200 + BN 2 * (96+256+384+384+256)


def test_alexnet_width_mult():
    variables, out = shapes(backbones.get_backbone("alexnet", width_mult=0.5), 127)
    assert out["layer5"] == (1, 6, 6, 128)
    assert n_params(variables) == alexnet_count((3, 48, 128, 192, 192, 128))


def bottleneck_count(downsample_kernels, stem=64, planes=(64, 128, 256, 512), blocks=(3, 4, 6, 3)):
    """ResNet-50 trunk (no fc): convs (no bias) + BN scale/shift; stage i's shortcut conv has kernel k_i."""
    total, c_in = 7 * 7 * 3 * stem + 2 * stem, stem
    for p, n, k in zip(planes, blocks, downsample_kernels):
        for j in range(n):
            total += c_in * p + 9 * p * p + p * 4 * p + 2 * (p + p + 4 * p)
            if j == 0:
                total += k * k * c_in * 4 * p + 2 * 4 * p
            c_in = 4 * p
    return total


def test_resnet50_atrous_sizes_and_params():
    module = backbones.get_backbone("resnet50")
    variables, out = shapes(module, 127)
    assert out == {"layer2": (1, 15, 15, 512), "layer3": (1, 15, 15, 1024), "layer4": (1, 15, 15, 2048)}
    assert shapes(module, 255)[1] == {"layer2": (1, 31, 31, 512), "layer3": (1, 31, 31, 1024),
                                      "layer4": (1, 31, 31, 2048)}
    # torchvision's ResNet-50 without fc: 25,557,032 - 2,049,000 = 23,508,032 (1x1 shortcuts) ...
    assert bottleneck_count((1, 1, 1, 1)) == 23_508_032
    # ... pysot's resnet_atrous has 3x3 shortcut convs where stride or dilation is not 1 (layers 2, 3, 4).
    assert n_params(variables) == bottleneck_count((1, 3, 3, 3)) == 45_528_128


def test_resnet50_dilations_and_paddings():
    """pysot's atrous layout read off the traced convolutions: (window, stride, dilation, padding) counts."""
    module = backbones.get_backbone("resnet50")
    img = jax.ShapeDtypeStruct((1, 127, 127, 3), jnp.float32)
    with conv.default_impl("xla"):  # every conv as XLA's convolution (inference picks faster forms)
        jaxpr = jax.make_jaxpr(module.apply)(jax.eval_shape(module.init, jax.random.key(0), img), img)
    convs = {}
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "conv_general_dilated":
            key = (eqn.invars[1].aval.shape[0], eqn.params["window_strides"][0], eqn.params["rhs_dilation"][0],
                   eqn.params["padding"][0])
            convs[key] = convs.get(key, 0) + 1
    assert convs[(7, 2, 1, (0, 0))] == 1  # unpadded stem
    assert convs[(3, 2, 1, (0, 0))] == 2  # layer2's first block: strided 3x3 and its 3x3 shortcut, unpadded
    assert convs[(3, 1, 2, (2, 2))] == 5 + 2  # layer3 blocks 2-6; layer4's first block (conv2 + shortcut)
    assert convs[(3, 1, 4, (4, 4))] == 2  # layer4 blocks 2-3
    assert convs[(3, 1, 1, (1, 1))] == 3 + 3 + 2  # layer1, layer2 blocks 2-4, layer3's first block + shortcut


def test_used_layers_builds_only_what_is_needed():
    variables, out = shapes(backbones.get_backbone("resnet50", used_layers=(0, 2)), 127)
    assert out == {"layer0": (1, 61, 61, 64), "layer2": (1, 15, 15, 512)}
    assert n_params(variables) == bottleneck_count((1, 3), planes=(64, 128), blocks=(3, 4))
    with pytest.raises(ValueError, match="used_layers"):
        shapes(backbones.get_backbone("resnet50", used_layers=(5,)), 127)


def test_small_atrous_resnet_sizes():
    _, out = shapes(backbones.get_backbone("resnet18_small_atrous"), 255, batch=2)
    assert out == {"layer2": (2, 31, 31, 32), "layer3": (2, 31, 31, 64), "layer4": (2, 31, 31, 128)}


@pytest.mark.parametrize("name", ["resnet18_small_atrous", "alexnet", "mobilenetv2"])
def test_frozen_bn_uses_and_keeps_running_statistics(name):
    kw = {"used_layers": (2,)} if name.startswith("resnet") else {"width_mult": 0.125}
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 95, 95, 3)), jnp.float32)
    frozen = backbones.get_backbone(name, frozen_bn=True, **kw)
    variables = frozen.init(jax.random.key(0), x)
    train = jax.jit(lambda v, x: frozen.apply(v, x, use_running_average=False, mutable=["batch_stats"]))
    out, updates = train(variables, x)
    for a, b in zip(jax.tree.leaves(updates["batch_stats"]), jax.tree.leaves(variables["batch_stats"])):
        np.testing.assert_array_equal(a, b)
    with conv.default_impl("xla"):  # training's conv form, so that only BatchNorm can differ
        evaluated = jax.jit(frozen.apply)(variables, x)
    for a, b in zip(jax.tree.leaves(out), jax.tree.leaves(evaluated)):
        np.testing.assert_array_equal(a, b)
    live = backbones.get_backbone(name, **kw)  # the same weights, BN on batch statistics: the stats move
    _, updates = jax.jit(lambda v, x: live.apply(v, x, use_running_average=False, mutable=["batch_stats"]))(
        variables, x)
    assert any(bool(jnp.any(a != b)) for a, b in zip(jax.tree.leaves(updates["batch_stats"]),
                                                     jax.tree.leaves(variables["batch_stats"])))


def test_resnet18_small_keeps_its_interface():
    _, out = shapes(backbones.get_backbone("resnet18_small"), 64)
    assert out["pooled"] == (1, 128) and out["layer4"] == (1, 2, 2, 128) and out["stem"] == (1, 16, 16, 16)


def test_bf16_and_errors():
    _, out = shapes(backbones.get_backbone("alexnet", dtype=jnp.bfloat16), 127)
    assert out["layer5"] == (1, 6, 6, 256)
    with pytest.raises(KeyError, match="not registered"):
        backbones.get_backbone("vgg")
    with pytest.raises(ValueError, match=r"\[B, H, W, 3\]"):
        backbones.get_backbone("alexnet").init(jax.random.key(0), jnp.zeros((1, 127, 127)))


def mobilenet_v2_count(width: float) -> int:
    """pysot MobileNetV2 to layer7: stem 3x3 conv + BN, then per block (in c, out o, expansion t, h = c * t):
    1x1 c -> h, BN, 3x3 depthwise h, BN, 1x1 h -> o, BN (no biases)."""
    setting = ((1, 16, 1), (6, 24, 2), (6, 32, 3), (6, 64, 4), (6, 96, 3), (6, 160, 3), (6, 320, 1))
    c = int(32 * width)
    total = 27 * c + 2 * c
    for t, o, n in setting:
        o = int(o * width)
        for _ in range(n):
            h = c * t
            total += c * h + 2 * h + 9 * h + 2 * h + h * o + 2 * o
            c = o
    return total


def test_mobilenet_v2_sizes_params_and_paddings():
    """pysot's siamrpn_mobilev2_l234_dwxcorr backbone (width 1.4, used_layers 3, 5, 7): the neck's in_channels
    44 / 134 / 448 at stride 8; strided convs unpadded, dilations 2 (layers 4-5) and 4 (6-7), each layer's first
    block at the previous layer's dilation."""
    module = backbones.get_backbone("mobilenetv2", width_mult=1.4)
    variables, out = shapes(module, 127)
    assert out == {"layer3": (1, 15, 15, 44), "layer5": (1, 15, 15, 134), "layer7": (1, 15, 15, 448)}
    assert shapes(module, 255)[1]["layer7"] == (1, 31, 31, 448)
    assert n_params(variables) == mobilenet_v2_count(1.4)
    img = jax.ShapeDtypeStruct((1, 127, 127, 3), jnp.float32)
    with conv.default_impl("xla"):
        jaxpr = jax.make_jaxpr(module.apply)(variables, img)
    dw = {}
    for eqn in jaxpr.eqns:
        if eqn.primitive.name == "conv_general_dilated" and eqn.invars[1].aval.shape[0] == 3:
            key = (eqn.params["window_strides"][0], eqn.params["rhs_dilation"][0], eqn.params["padding"][0])
            dw[key] = dw.get(key, 0) + 1
    # stem + layer2 / layer3 first blocks: stride 2, unpadded; layer1, layer2-3 rest, layer4's first: dilation 1;
    # layer4 rest, layer5, layer6's first: 2; layer6 rest, layer7: 4
    assert dw == {(2, 1, (0, 0)): 3, (1, 1, (1, 1)): 1 + 1 + 2 + 1, (1, 2, (2, 2)): 3 + 3 + 1, (1, 4, (4, 4)): 2 + 1}
    _, out = shapes(backbones.get_backbone("mobilenetv2", used_layers=(0, 2)), 127)
    assert out == {"layer0": (1, 63, 63, 32), "layer2": (1, 31, 31, 24)}
    with pytest.raises(ValueError, match="used_layers"):
        shapes(backbones.get_backbone("mobilenetv2", used_layers=(8,)), 127)
