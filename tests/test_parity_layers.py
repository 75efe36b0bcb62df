"""Module-by-module parity with the pysot / SiamBAN originals (tests/torch_ref): each torch module gets non-default
random weights and BN statistics, its state_dict goes through the converter's table for the matching jaxtrack
module, and the outputs agree to 1e-4 (relative L2 error, float32). Narrow widths keep it cheap; full-size models
are in tests/test_convert.py."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack.convert import mapping
from jaxtrack.convert.tables import backbones as bb_tables
from jaxtrack.convert.tables import heads as head_tables
from jaxtrack.models import backbones, heads
from jaxtrack.models.neck import AdjustAllLayer

torch = pytest.importorskip("torch")
from tests.torch_ref import backbones as tb  # noqa: E402
from tests.torch_ref import builders  # noqa: E402
from tests.torch_ref import heads as th  # noqa: E402

torch.set_num_threads(1)
RTOL = 1e-4


def rel_err(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def nchw(a) -> np.ndarray:
    return np.asarray(a).transpose(0, 3, 1, 2)


def images(rng, b, size) -> np.ndarray:
    return rng.uniform(0, 255, (b, size, size, 3)).astype(np.float32)


def features(rng, b, size, c) -> np.ndarray:
    return rng.standard_normal((b, size, size, c)).astype(np.float32)


def t(a) -> "torch.Tensor":
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a).transpose(0, 3, 1, 2)))


def convert(module, table, flax_module, *args) -> dict:
    """Flax variables of `flax_module` (initialised on `args`) from `module`'s state_dict through `table`."""
    shapes = jax.eval_shape(flax_module.init, jax.random.key(0), *args)
    flat = {tuple(k.key for k in p): (leaf.shape, leaf.dtype)
            for p, leaf in jax.tree_util.tree_flatten_with_path(shapes)[0]}
    state = {k: v.numpy() for k, v in module.state_dict().items()}
    filled, _ = mapping.apply_table(state, getattr(table, "rules", table), flat)
    return jax.tree_util.tree_map_with_path(lambda p, _: jnp.asarray(filled[tuple(k.key for k in p)]), shapes)


BACKBONES = {  # name: (torch module, its table, jaxtrack module, returned layers)
    "resnet50_atrous": (lambda: tb.AtrousResNet(widths=(8, 16, 32, 64), stem=8, used_layers=(0, 1, 2, 3, 4)),
                        bb_tables.RESNET, dict(name="resnet50", widths=(8, 16, 32, 64), stem_width=8,
                                               used_layers=(0, 1, 2, 3, 4))),
    "resnet18_atrous": (lambda: tb.AtrousResNet(tb.BasicBlock, (2, 2, 2, 2), (2, 3, 4), (8, 16, 32, 64), 8),
                        bb_tables.RESNET, dict(name="resnet50", stage_sizes=(2, 2, 2, 2), widths=(8, 16, 32, 64),
                                               stem_width=8, bottleneck=False)),
    "alexnet_legacy": (lambda: tb.AlexNetLegacy(0.25), bb_tables.ALEXNET, dict(name="alexnet", width_mult=0.25)),
    "alexnet_layers": (lambda: tb.AlexNet(0.25), bb_tables.ALEXNET, dict(name="alexnet", width_mult=0.25)),
    "mobilenetv2": (lambda: tb.MobileNetV2(0.35, tuple(range(8))), bb_tables.MOBILENET_V2,
                    dict(name="mobilenetv2", width_mult=0.35, used_layers=tuple(range(8)))),
}


@pytest.mark.parametrize("name", BACKBONES)
def test_backbone_parity(name):
    make, table, kwargs = BACKBONES[name]
    rng = np.random.default_rng(0)
    small, large = images(rng, 2, 127), images(rng, 1, 151)
    module = make()
    builders.randomize(module, lambda: module(t(large)))
    flax_module = backbones.get_backbone(**kwargs)
    variables = convert(module, table, flax_module, small)
    apply = jax.jit(flax_module.apply)
    for x in (small, large):
        with torch.no_grad():
            want = module(t(x))
        want = want if isinstance(want, list) else [want]
        got = list(apply(variables, x).values())[-len(want):]
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert nchw(g).shape == tuple(w.shape)
            assert rel_err(nchw(g), w.numpy()) < RTOL, (name, x.shape)


@pytest.mark.parametrize("single", [False, True])
def test_neck_parity_and_template_crop(single):
    """AdjustAllLayer: 1x1 conv + BN per layer; template maps (15 < 20) cropped to the central 7x7, search (31) not;
    pysot's one-layer neck is `neck.downsample`."""
    rng = np.random.default_rng(1)
    c_in = (8,) if single else (8, 16, 24)
    zs = [features(rng, 2, 15, c) for c in c_in]
    xs = [features(rng, 2, 31, c) for c in c_in]
    module = th.AdjustAllLayer(c_in, (6,) * len(c_in))
    run = lambda fs: module([t(f) for f in fs] if not single else t(fs[0]))
    builders.randomize(module, lambda: run(xs))
    flax_module = AdjustAllLayer((6,) * len(c_in))
    variables = convert(module, head_tables.NECK, flax_module, xs)
    for fs, size in ((zs, 7), (xs, 31)):
        with torch.no_grad():
            want = run(fs)
        want = [want] if single else want
        got = flax_module.apply(variables, fs)
        for g, w in zip(got, want):
            assert nchw(g).shape == (2, 6, size, size) == tuple(w.shape)
            assert rel_err(nchw(g), w.numpy()) < RTOL


HEADS = {  # name: (torch head, its table, jaxtrack head, layers, channels, template / search feature sizes)
    "multi_rpn_weighted": (lambda: th.MultiRPN(5, (8, 8, 8), weighted=True), head_tables.MULTI_RPN,
                           lambda: heads.MultiRPN(5, weighted=True, impl="xla_conv"), 3, 8, (7, 15)),
    "multi_rpn": (lambda: th.MultiRPN(5, (8, 8, 8), weighted=False), head_tables.MULTI_RPN,
                  lambda: heads.MultiRPN(5, weighted=False), 3, 8, (7, 15)),
    "depthwise_rpn": (lambda: th.DepthwiseRPN(5, 8, 8), head_tables.DEPTHWISE_RPN,
                      lambda: heads.MultiRPN(5, weighted=False), 1, 8, (6, 22)),
    "up_rpn": (lambda: th.UPChannelRPN(5, 8), head_tables.UP_RPN, lambda: heads.UPChannelRPN(5), 1, 8, (6, 22)),
    "multi_ban_weighted": (lambda: th.MultiBAN((8, 8, 8), 2, weighted=True), head_tables.MULTI_BAN,
                           lambda: heads.MultiBAN(2, weighted=True), 3, 8, (7, 15)),
    "multi_ban": (lambda: th.MultiBAN((8, 8), 2, weighted=False), head_tables.MULTI_BAN,
                  lambda: heads.MultiBAN(2, weighted=False), 2, 8, (7, 15)),
}


@pytest.mark.parametrize("name", HEADS)
def test_head_parity(name):
    make, table, make_flax, layers, c, (hz, hx) = HEADS[name]
    rng = np.random.default_rng(2)
    zs = [features(rng, 2, hz, c) for _ in range(layers)]
    xs = [features(rng, 2, hx, c) for _ in range(layers)]
    module = make()
    run = lambda: module(*(([t(f) for f in fs] if layers > 1 or name.startswith("multi") else t(fs[0]))
                           for fs in (zs, xs)))
    builders.randomize(module, run)
    flax_module = make_flax()
    variables = convert(module, table, flax_module, xs, zs)
    with torch.no_grad():
        want_cls, want_loc = run()
    got = flax_module.apply(variables, xs, zs)
    assert rel_err(nchw(got["cls"]), want_cls.numpy()) < RTOL
    assert rel_err(nchw(got["loc"]), want_loc.numpy()) < RTOL
    if "ban" in name:
        assert float(want_loc.min()) > 0  # exp(loc * loc_scale)
    if "weighted" in name:  # the fusion weights were randomized: not the plain mean
        assert not np.allclose(module.cls_weight.detach().numpy(), 1.0)
