"""Flax blocks around the operators: shapes, batch statistics, and values against independent numpy."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack.models import fusion
from tests import np_loops

rng = np.random.default_rng(0)


def randn(*s):
    return rng.standard_normal(s).astype(np.float32)


def randomize(variables, seed=1):
    """Every parameter and running statistic replaced by random values (variances positive)."""
    leaves, tree = jax.tree.flatten_with_path(variables)
    r = np.random.default_rng(seed)
    out = []
    for path, leaf in leaves:
        v = r.standard_normal(np.shape(leaf)).astype(np.float32) * 0.5
        out.append(np.abs(v) + 0.5 if "var" in jax.tree_util.keystr(path) else v)
    return jax.tree.unflatten(tree, out)


def bn_eval(y, p, s):
    return (y - s["mean"]) / np.sqrt(s["var"] + fusion.BN_EPS) * p["scale"] + p["bias"]


@pytest.mark.parametrize(("module", "xs", "zs", "out"), [
    (fusion.XCorr(), (2, 22, 22, 8), (2, 6, 6, 8), (2, 17, 17, 1)),
    (fusion.DepthwiseXCorr(hidden=8, out_channels=10), (2, 31, 31, 8), (2, 7, 7, 8), (2, 25, 25, 10)),
    (fusion.UpChannelXCorr(out_channels=10, features=8, adjust=True), (2, 22, 22, 8), (2, 6, 6, 8), (2, 17, 17, 10)),
    (fusion.AsymmetricFusion(features=6, use_box=False), (2, 29, 29, 8), (2, 5, 5, 8), (2, 25, 25, 6)),
])
def test_shapes_jit_grad_and_batch_stats(module, xs, zs, out):
    x, z = randn(*xs), randn(*zs)
    variables = module.init(jax.random.key(0), x, z)
    y = jax.jit(lambda v, x, z: module.apply(v, x, z))(variables, x, z)
    assert y.shape == out
    y_train, updates = module.apply(variables, x, z, train=True, mutable=["batch_stats"])
    assert y_train.shape == out
    if "batch_stats" in variables:  # running statistics moved towards the batch statistics
        moved = jax.tree.map(lambda a, b: bool(jnp.any(a != b)), variables["batch_stats"], updates["batch_stats"])
        assert all(jax.tree.leaves(moved))
    grads = jax.grad(lambda p: jnp.sum(module.apply({**variables, "params": p}, x, z) ** 2))(variables["params"])
    assert all(bool(jnp.all(jnp.isfinite(g))) for g in jax.tree.leaves(grads))


def test_xcorr_head_value():
    x, z = randn(2, 12, 12, 4), randn(2, 5, 5, 4)
    module = fusion.XCorr()
    variables = module.init(jax.random.key(0), x, z)
    want = 1e-3 * np_loops.xcorr(x.astype(np.float64), z.astype(np.float64))
    np.testing.assert_allclose(np.asarray(module.apply(variables, x, z)), want, rtol=1e-5, atol=1e-6)


def test_up_channel_xcorr_value_and_learnt_out_scale():
    """pysot's UP-Channel branch in numpy: 3x3 template conv to features*out channels, 3x3 search conv, UP-XCorr
    (template kernel channel o*features + f), times the learnt `out_scale` (initialised to the given value)."""
    x, z = randn(2, 9, 9, 3), randn(2, 5, 5, 3)
    module = fusion.UpChannelXCorr(out_channels=2, features=4, out_scale=1e-3)
    v = module.init(jax.random.key(0), x, z)
    assert float(v["params"]["out_scale"]) == pytest.approx(1e-3)
    v = randomize(v)
    got = np.asarray(module.apply(v, x, z))
    p = jax.tree.map(lambda a: np.asarray(a, np.float64), v["params"])
    conv = lambda a, c: np_loops.conv_valid(a.astype(np.float64), c["kernel"]) + c["bias"]
    want = np_loops.up_xcorr(conv(x, p["search_conv"]), conv(z, p["template_conv"])) * p["out_scale"]
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    grad = jax.grad(lambda s: jnp.sum(module.apply({"params": {**v["params"], "out_scale": s}}, x, z)))(1.0)
    np.testing.assert_allclose(float(grad), want.sum() / p["out_scale"], rtol=1e-4)


@pytest.mark.parametrize("impl", ["auto", "pallas"])
def test_asymmetric_fusion_equals_concat_conv_definition_with_its_own_parameters(impl):
    """BN-ReLU(concat-conv(x, z; [theta_z | theta_x], bias) + box MLP(w, h)), all in numpy float64. With
    impl="pallas" the inference BN is folded into the fused Pallas epilogue (interpret mode on CPU)."""
    x, z, wh = randn(2, 9, 10, 3), randn(2, 4, 3, 3), np.abs(randn(2, 2)) * 50
    module = fusion.AsymmetricFusion(features=5, impl=impl)
    v = randomize(module.init(jax.random.key(0), x, z, wh))
    got = np.asarray(module.apply(v, x, z, wh))

    p, s = jax.tree.map(lambda a: np.asarray(a, np.float64), (v["params"], v["batch_stats"]))
    h = wh.astype(np.float64)
    for i in range(2):
        h = np.maximum(bn_eval(h @ p["box"][f"dense{i}"]["kernel"] + p["box"][f"dense{i}"]["bias"],
                               p["box"][f"bn{i}"], s["box"][f"bn{i}"]), 0)
    box = h @ p["box"]["out"]["kernel"]
    theta = np.concatenate([p["theta_z"], p["theta_x"]], axis=2)
    fused = np_loops.concat_conv(x.astype(np.float64), z.astype(np.float64), theta, p["bias"]) + box[:, None, None]
    want = np.maximum(bn_eval(fused, p["bn"], s["bn"]), 0)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_asymmetric_fusion_requires_the_box_when_configured():
    x, z = randn(1, 9, 9, 3), randn(1, 3, 3, 3)
    with pytest.raises(ValueError, match=r"box_wh \[B, 2\]"):
        fusion.AsymmetricFusion(features=4).init(jax.random.key(0), x, z)
