"""Necks, heads and assembled trackers: output sizes (pysot / siamfc-pytorch facts), parameter counts,
template/track == __call__, training mode, layer weighting, BAN's exp scale, ACM's box input, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import families
from jaxtrack.models import heads, neck

SMALL = {  # every registered tracker at a small width (CPU-fast)
    "siamfc": {"backbone_args": {"width_mult": 0.25}},
    "siamrpn": {"backbone_args": {"width_mult": 0.25}},
    **{name: {"backbone": "resnet18_small_atrous", "neck_channels": 16}
       for name in ("siamrpnpp", "siamban", "siamrpnpp_acm", "siamban_acm")},
    **{name: {"backbone": "resnet18_small_atrous", "neck_channels": 16} for name in ("siammask", "siammask_acm")},
}
OUT = {  # head outputs at template 127 / search 255, batch 2
    "siamfc": {"cls": (2, 17, 17, 1)},
    "siamrpn": {"cls": (2, 17, 17, 10), "loc": (2, 17, 17, 20)},
    "siamrpnpp": {"cls": (2, 25, 25, 10), "loc": (2, 25, 25, 20)},
    "siamban": {"cls": (2, 25, 25, 2), "loc": (2, 25, 25, 4)},
}
OUT.update(siamrpnpp_acm=OUT["siamrpnpp"], siamban_acm=OUT["siamban"])
OUT["siammask"] = OUT["siammask_acm"] = {  # + the 63 x 63 masks, the mask correlation, stem / layer1 / layer2
    **OUT["siamrpnpp"], "mask": (2, 25, 25, 3969), "corr": (2, 25, 25, 16),
    "features": ((2, 125, 125, 16), (2, 63, 63, 16), (2, 31, 31, 32))}
TEMPLATE = {  # the heads' template states (batch 2): AlexNet 6x6x64 features, multi-layer 7x7x16 (neck-cropped)
    "siamfc": {"xcorr": (2, 6, 6, 64)},  # the features themselves
    "siamrpn": {"cls": (2, 4, 4, 64 * 10), "loc": (2, 4, 4, 64 * 20)},  # up-channel kernels
    **{name: {f"{p}{i}_{part}": (2, 5, 5, 16) for i in (2, 3, 4) for part in ("cls", "loc")}  # DW kernels
       for name, p in (("siamrpnpp", "rpn"), ("siamban", "box"))},
    **{name: {f"{p}{i}_{part}": (2, 16) for i in (2, 3, 4) for part in ("cls", "loc")}  # ACM template terms
       for name, p in (("siamrpnpp_acm", "rpn"), ("siamban_acm", "box"))},
    "siammask": {"rpn": {"rpn2_cls": (2, 5, 5, 16), "rpn2_loc": (2, 5, 5, 16)}, "mask": (2, 5, 5, 16)},
    "siammask_acm": {"rpn": {"rpn2_cls": (2, 16), "rpn2_loc": (2, 16)}, "mask": (2, 16)},
}
Z, X, BOX = (2, 127, 127, 3), (2, 255, 255, 3), (2, 2)


def random_variables(shapes, seed=0):
    """Variables of the given shape tree filled with N(0, 0.1^2) (BN variances in [0.5, 0.9]): no init compile."""
    r = np.random.default_rng(seed)

    def fill(path, s):
        v = r.standard_normal(s.shape).astype(np.float32) * 0.1
        return jnp.asarray(np.abs(v) + 0.5 if "var" in jax.tree_util.keystr(path) else v)

    return jax.tree.map_with_path(fill, shapes)


def abstract(*shapes):
    return [jax.ShapeDtypeStruct(s, jnp.float32) for s in shapes]


def model_shapes(model):
    z, x, box = abstract(Z, X, BOX)
    variables = jax.eval_shape(model.init, jax.random.key(0), z, x, box)
    template = jax.eval_shape(lambda v, z, box: model.apply(v, z, box, method="template"), variables, z, box)
    out = jax.eval_shape(lambda v, x, t: model.apply(v, x, t, method="track"), variables, x, template)
    return variables, template, out


def n_params(variables):
    return sum(int(np.prod(a.shape)) for a in jax.tree.leaves(variables["params"]))


@pytest.mark.parametrize("name", families.names())
def test_registered_models_output_sizes(name):
    _, template, out = model_shapes(families.get(name).build(**SMALL[name]))
    shapes = lambda tree: jax.tree.map(lambda a: a.shape, tree)
    assert shapes(out) == OUT[name]
    assert shapes(template) == TEMPLATE[name]


@pytest.mark.parametrize("name, out", [("siamfc", {"cls": (2, 11, 11, 1)}),
                                       ("siamrpn", {"cls": (2, 11, 11, 10), "loc": (2, 11, 11, 20)})])
def test_single_layer_trackers_on_a_resnet_with_a_neck(name, out):
    """The synthetic configs' one-layer trackers: layer4 of the small atrous ResNet (63 -> 7x7, 127 -> 15x15), a
    16-channel neck cropping the template to 5x5 -> 11x11 outputs (SiamRPN's 3x3 convs: 3x3 * 13x13)."""
    model = families.get(name).build(backbone="resnet18_small_atrous", layer="layer4", neck_channels=16, center_size=5,
                          crop_below=12)
    z, x, box = abstract((2, 63, 63, 3), (2, 127, 127, 3), BOX)
    variables = jax.eval_shape(model.init, jax.random.key(0), z, x, box)
    template = jax.eval_shape(lambda v, z, box: model.apply(v, z, box, method="template"), variables, z, box)
    got = jax.eval_shape(lambda v, x, t: model.apply(v, x, t, method="track"), variables, x, template)
    want = {"xcorr": (2, 5, 5, 16)} if name == "siamfc" else {"cls": (2, 3, 3, 160), "loc": (2, 3, 3, 320)}
    assert {k: t.shape for k, t in template.items()} == want
    assert {k: v.shape for k, v in got.items()} == out
    assert "neck" in variables["params"]


def test_full_size_siamrpnpp_parameter_count():
    """pysot siamrpn_r50_l234_dwxcorr: 53.95M parameters, the count reported for SiamRPN++ (ResNet-50)."""
    variables, template, out = model_shapes(families.get("siamrpnpp").build())
    assert [t.shape for t in template.values()] == [(2, 5, 5, 256)] * 6 and out["cls"].shape == (2, 25, 25, 10)
    backbone = 45_528_128  # tests/test_models_backbones.py
    adjust = sum(c * 256 + 2 * 256 for c in (512, 1024, 2048))
    branch = lambda out: 2 * (9 * 256 * 256 + 512) + 256 * 256 + 512 + 256 * out + out  # DepthwiseXCorr(256, out)
    assert n_params(variables) == backbone + adjust + 3 * (branch(10) + branch(20)) + 2 * 3 == 53_950_624


def test_neck_crops_templates_only():
    x = jnp.asarray(np.random.default_rng(0).standard_normal((2, 15, 15, 8)), jnp.float32)
    layer = neck.AdjustLayer(4)
    variables = random_variables(jax.eval_shape(layer.init, jax.random.key(0), x))
    full = neck.AdjustLayer(4, crop_below=0).apply(variables, x)
    np.testing.assert_array_equal(layer.apply(variables, x), full[:, 4:11, 4:11])  # pysot: l = 4, r = l + 7
    assert layer.apply(variables, jnp.zeros((1, 31, 31, 8))).shape == (1, 31, 31, 4)
    with pytest.raises(ValueError, match="feature maps"):
        neck.AdjustAllLayer((4, 4)).init(jax.random.key(0), [x])


def head_inputs(seed=0, c=8):
    r = np.random.default_rng(seed)
    xs = [jnp.asarray(r.standard_normal((2, 15, 15, c)), jnp.float32) for _ in range(3)]
    zs = [jnp.asarray(r.standard_normal((2, 7, 7, c)), jnp.float32) for _ in range(3)]
    return xs, zs, jnp.asarray([[40.0, 60.0], [80.0, 30.0]])


def test_multi_rpn_learned_softmax_layer_weights():
    xs, zs, _ = head_inputs()
    head = heads.MultiRPN(anchor_num=5)
    variables = random_variables(jax.eval_shape(head.init, jax.random.key(0), xs, zs))
    params = {**variables["params"], "cls_weight": jnp.array([-1e4, -1e4, 0.0]),
              "loc_weight": jnp.array([-1e4, -1e4, 0.0])}
    apply = jax.jit(lambda xs: head.apply({**variables, "params": params}, xs, zs))
    out = apply(xs)
    assert out["cls"].shape == (2, 9, 9, 10) and out["loc"].shape == (2, 9, 9, 20)
    other = apply([xs[0] + 1.0, xs[1] - 1.0, xs[2]])  # all weight on layer 4: layers 2, 3 do not matter
    np.testing.assert_allclose(other["cls"], out["cls"], atol=1e-5)
    assert "cls_weight" not in heads.MultiRPN(weighted=False).init(jax.random.key(0), xs, zs)["params"]


def test_multi_ban_exp_loc_scale():
    xs, zs, _ = head_inputs()
    head = heads.MultiBAN()
    variables = random_variables(jax.eval_shape(head.init, jax.random.key(0), xs, zs))
    apply = jax.jit(lambda v: head.apply(v, xs, zs))
    out = apply(variables)
    assert out["cls"].shape == (2, 9, 9, 2) and bool(jnp.all(out["loc"] > 0))
    zero_scale = {**variables, "params": {**variables["params"], "loc_scale": jnp.zeros(3)}}
    np.testing.assert_allclose(apply(zero_scale)["loc"], 1.0, rtol=1e-6)  # exp(0 * raw), weighted mean of ones


def test_acm_branch_uses_the_template_box():
    xs, zs, box = head_inputs(c=4)
    branch = heads.ACMXCorr(hidden=6, out_channels=3)
    variables = random_variables(jax.eval_shape(branch.init, jax.random.key(0), xs[0], zs[0], box))
    apply = jax.jit(lambda b: branch.apply(variables, xs[0], zs[0], b))
    out = apply(box)
    assert out.shape == (2, 9, 9, 3)
    assert not np.allclose(apply(box * 2.0), out)
    with pytest.raises(ValueError, match="box_wh"):
        branch.apply(variables, xs[0], zs[0])


def test_template_track_call_and_training_step():
    """One block per stage and small crops (template 63 -> 7x7 features, search 167 -> 20x20) to keep it fast."""
    model = families.get("siamban_acm").build(backbone="resnet18_small_atrous", neck_channels=8,
                          backbone_args={"stage_sizes": (1, 1, 1, 1)})
    z, x, box = abstract((2, 63, 63, 3), (2, 167, 167, 3), BOX)
    variables = random_variables(jax.eval_shape(model.init, jax.random.key(0), z, x, box))
    r = np.random.default_rng(1)
    z, x = (jnp.asarray(r.uniform(-1, 1, s.shape), jnp.float32) for s in (z, x))
    box = jnp.asarray([[40.0, 60.0], [80.0, 30.0]])

    @jax.jit
    def two_ways(variables):
        template = model.apply(variables, z, box, method="template")
        return model.apply(variables, x, template, method="track"), model.apply(variables, z, x, box)

    tracked, called = two_ways(variables)
    assert tracked["cls"].shape == (2, 14, 14, 2) and tracked["loc"].shape == (2, 14, 14, 4)
    for k in OUT["siamban_acm"]:
        np.testing.assert_allclose(tracked[k], called[k], rtol=1e-5, atol=1e-6)

    def loss(head_params):  # gradients of the head only: differentiating the backbone too triples the compile
        params = {**variables["params"], "head": head_params}
        out, updates = model.apply({**variables, "params": params}, z, x, box, train=True, mutable=["batch_stats"])
        return jnp.mean(out["cls"] ** 2) + jnp.mean(out["loc"]), updates

    grads, updates = jax.jit(jax.grad(loss, has_aux=True))(variables["params"]["head"])
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))
    assert float(jnp.abs(grads["box2_cls"]["fusion"]["box"]["out"]["kernel"]).sum()) > 0
    moved = [bool(jnp.any(a != b)) for a, b in zip(jax.tree.leaves(updates["batch_stats"]),
                                                   jax.tree.leaves(variables["batch_stats"]))]
    assert all(moved)


def test_errors():
    with pytest.raises(KeyError, match="not a registered tracker family"):
        families.get("siamdw")
    with pytest.raises(KeyError, match="not registered"):
        heads.get_head("multi_fc")
    xs, zs, _ = head_inputs()
    with pytest.raises(ValueError, match="branch"):
        heads.MultiRPN(branch="fft").init(jax.random.key(0), xs, zs)
    with pytest.raises(ValueError, match="as many"):
        heads.MultiBAN().init(jax.random.key(0), xs, zs[:2])
    with pytest.raises(ValueError, match="one feature layer"):
        heads.SiamFCHead().init(jax.random.key(0), xs, zs)
    model = families.get("siamban_acm").build(**SMALL["siamban_acm"])
    z, x = abstract(Z, X)
    with pytest.raises(ValueError, match="box_wh"):
        jax.eval_shape(model.init, jax.random.key(0), z, x, jnp.zeros((2, 4)))
    with pytest.raises(ValueError, match="images"):
        jax.eval_shape(model.init, jax.random.key(0), jnp.zeros((2, 127, 127)), x, jnp.zeros((2, 2)))
