"""Training tasks: one model per family (SiamFC; anchors: SiamRPN++; points + ACM box: SiamBAN-ACM) compiled at a
tiny size: loss finite, decreasing when overfitting one batch, finite with no positives (all-negative pairs);
every registered model's loss traced (shapes only); normalisation; the ACM head reads the template box; errors."""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from jaxtrack import config as config_lib
from jaxtrack import families, sharding
from jaxtrack.models import preprocess
from jaxtrack.train import losses, optim, trainer
from jaxtrack.train.state import TrainState

Z, X, B = 63, 167, 2  # template 63 -> 8 -> neck crop 7; search 167 -> 20 (>= the neck crop_below): output 14
TINY_RESNET = {"backbone": "resnet18_small_atrous", "neck_channels": 8, "backbone_args": {"stage_sizes": (1, 1, 1, 1)},
               "impl": "xla_conv"}
TINY = {  # model kwargs (and template / search sizes: AlexNet needs >= 127 / 175)
    "siamfc": ({"backbone_args": {"width_mult": 0.125, "groups": 1}}, 127, 175),
    "siamrpn": ({"backbone_args": {"width_mult": 0.125}}, 127, 175),
    **{name: (TINY_RESNET, Z, X) for name in ("siamrpnpp", "siamrpnpp_acm", "siamban", "siamban_acm")},
    # SiamMask: refine windows 29 / 15 / 7 of the 63 template's stem / layer1 / layer2, 63 x 63 masks; 15 x 15 raw
    **{name: ({**TINY_RESNET, "mask_size": 15, "refine_sizes": (29, 15, 7), "refine_out": 63}, Z, X)
       for name in ("siammask", "siammask_acm")},
}


def make_batch(z: int, x: int, negative=(False, False), seed=0) -> dict:
    """B pairs: random images with a bright square on the target (so the pair is learnable)."""
    r = np.random.default_rng(seed)
    template = r.integers(0, 80, (B, z, z, 3), dtype=np.uint8)
    search = r.integers(0, 80, (B, x, x, 3), dtype=np.uint8)
    zw, xw = z // 4, 60
    template[:, z // 2 - zw // 2: z // 2 + zw // 2, z // 2 - zw // 2: z // 2 + zw // 2] = 230
    search[:, x // 2 - 30: x // 2 + 30, x // 2 - 30: x // 2 + 30] = 230
    return {"template": template, "search": search,
            "template_box": np.tile(np.float32([z // 2 - zw // 2, z // 2 - zw // 2, zw, zw]), (B, 1)),
            "search_box": np.tile(np.float32([x // 2 - 30, x // 2 - 30, xw, xw]), (B, 1)),
            "negative": np.asarray(negative, bool)}


def config(name: str) -> ml_collections.ConfigDict:
    c = config_lib.experiment("train")
    c.model.name, c.model.kwargs, c.task.normalize = name, TINY[name][0], "unit"
    return c


def make_task(c: ml_collections.ConfigDict):
    return families.get(c.model.name).make_task(c)


def numpy_init(shapes, seed=0):
    """Variables like flax's defaults without compiling `init`: kernels (and ACM's theta_x / theta_z) N(0, 1 / fan_in),
    biases / BN shifts / means 0, BN scales / variances and other parameters (layer weights, scales) 1."""
    r = np.random.default_rng(seed)

    def fill(path, s):
        name = path[-1].key
        if name in ("kernel", "theta_x", "theta_z"):
            return jnp.asarray(r.standard_normal(s.shape, np.float32) / np.sqrt(np.prod(s.shape[:-1])))
        return jnp.full(s.shape, 0.0 if name in ("bias", "mean") else 1.0, s.dtype)

    return jax.tree.map_with_path(fill, shapes)


def adam_config(lr: float = 1e-2) -> ml_collections.ConfigDict:
    cfg = config_lib.optim()
    cfg.name, cfg.weight_decay, cfg.warmup.epochs = "adam", 0.0, 0
    cfg.lr = {"type": "constant", "start_lr": lr}
    cfg.backbone.train_epoch = 0
    return cfg


@functools.cache
def compiled(name: str):
    """(task, () -> fresh step-0 TrainState, the trainer's jitted train step, batch) for model `name`, tiny; the
    step is sharded as in `run.run` (so the targets' sampling is checked under the trainer's mesh)."""
    task = make_task(config(name))
    batch = make_batch(*TINY[name][1:])
    variables = numpy_init(jax.eval_shape(task.init, jax.random.key(0), batch))
    opt = optim.make_optimizer(adam_config(), num_epochs=1, steps_per_epoch=100)
    mesh = sharding.make_mesh()
    copy = lambda tree: jax.tree.map(lambda x: jnp.array(x, copy=True), tree)  # the step donates its state
    fresh = lambda: sharding.put_replicated(TrainState.create(
        params=copy(variables["params"]), batch_stats=copy(variables["batch_stats"]), tx=opt.tx,
        key=jax.random.key(0)), mesh)
    return task, fresh, trainer.make_train_step(task, opt, mesh), sharding.put_batch(batch, mesh)


FAMILIES = ("siamfc", "siamrpnpp", "siamban_acm")  # compiled: ~15 s each on one core


@pytest.mark.parametrize("name", FAMILIES)
def test_loss_finite_and_overfits(name):
    _, fresh, step, batch = compiled(name)
    state, key, history = fresh(), jax.random.key(1), []  # fixed key: fixed targets
    for _ in range(10):
        state, metrics = step(state, batch, key)
        assert all(np.isfinite(float(v)) for v in metrics.values()), metrics
        history.append(float(metrics["loss"]))
    assert history[-1] < 0.85 * history[0], history
    if "num_pos" in metrics:
        assert float(metrics["num_pos"]) > 0


@pytest.mark.parametrize("name", FAMILIES)
def test_negative_pairs_have_no_positives(name):
    _, fresh, step, _ = compiled(name)
    batch = sharding.put_batch(make_batch(*TINY[name][1:], negative=(True, True)), sharding.make_mesh())
    state, metrics = step(fresh(), batch, jax.random.key(2))
    assert all(np.isfinite(float(v)) for v in metrics.values()), metrics  # loss and gradient norm
    assert all(np.isfinite(np.asarray(v)).all() for v in jax.tree.leaves(state.params))
    if "loc_loss" in metrics:  # anchor / point tasks: no positives -> no localisation term
        assert float(metrics["loc_loss"]) == 0.0 and float(metrics["num_pos"]) == 0.0
    else:
        assert float(metrics["pos_fraction"]) == 0.0


@pytest.mark.parametrize("name", families.names())
def test_every_model_loss_traces(name):
    task, batch = make_task(config(name)), make_batch(*TINY[name][1:])
    variables = jax.eval_shape(task.init, jax.random.key(0), batch)
    loss, (metrics, stats) = jax.eval_shape(task.loss_fn, variables["params"], variables["batch_stats"], batch,
                                            jax.random.key(1))
    assert loss.shape == () and all(m.shape == () for m in metrics.values())
    assert jax.tree.structure(stats) == jax.tree.structure(variables["batch_stats"])


def test_acm_reads_the_template_box():
    task = make_task(config("siamban_acm"))
    batch = make_batch(*TINY["siamban_acm"][1:])
    variables = numpy_init(jax.eval_shape(task.init, jax.random.key(0), batch))
    other = {**batch, "template_box": batch["template_box"] * np.float32([1, 1, 2, 0.5])}
    run = jax.jit(lambda b: task.model.apply(variables, *task.inputs(b))["cls"])
    assert not np.allclose(run(batch), run(other))
    assert task.inputs(batch)[2].shape == (B, 2)


def test_normalize():
    img = np.full((1, 2, 2, 3), 255, np.uint8)
    np.testing.assert_allclose(preprocess.normalize(img, "unit"), 1.0)
    np.testing.assert_allclose(preprocess.normalize(img, "none"), 255.0)
    want = (1 - np.asarray([0.485, 0.456, 0.406])) / np.asarray([0.229, 0.224, 0.225])
    np.testing.assert_allclose(preprocess.normalize(img, "imagenet")[0, 0, 0], want, rtol=1e-5)
    with pytest.raises(ValueError, match="must be one of"):
        preprocess.normalize(img, "bgr")


def test_weights_and_errors():
    cfg = config("siamrpnpp")
    assert make_task(cfg).weights == losses.SIAMRPN_WEIGHTS
    cfg.task.loc_weight = 2.0
    assert make_task(cfg).weights.loc == 2.0
    with pytest.raises(KeyError, match="not a registered tracker family"):
        make_task(config_lib.experiment("train"))
    cfg.task.lr = 1.0
    with pytest.raises(KeyError, match="unknown fields"):
        make_task(cfg)
    task = make_task(config("siamban"))
    with pytest.raises(KeyError, match="search_box"):
        task.inputs({k: v for k, v in make_batch(Z, X).items() if k != "search_box"})
