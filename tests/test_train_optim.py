"""Optimizer: pysot schedules vs closed forms; backbone freeze, 0.1x rate, clipping and decay vs hand-computed SGD."""

import math

import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxtrack import config as config_lib
from jaxtrack.train import optim


@pytest.mark.parametrize("step", [0, 3, 4, 19, 20, 39, 40, 57, 79, 1000])
def test_pysot_default_schedule(step):
    """pysot SiamRPN++: 5 warm-up epochs 1e-3 * 5^(e/5), then logspace 5e-3 -> 5e-4 over 15 epochs."""
    cfg = config_lib.optim()
    lr = optim.make_schedule(cfg, num_epochs=20, steps_per_epoch=4)
    e = min(step // 4, 19)
    want = 0.001 * 5 ** (e / 5) if e < 5 else 0.005 * 0.1 ** ((e - 5) / 14)
    np.testing.assert_allclose(float(lr(step)), want, rtol=1e-6)


@pytest.mark.parametrize(("kind", "extra", "formula"), [
    ("step", {"mult": 0.5, "step": 3, "end_lr": None}, lambda e: 0.02 * 0.5 ** (e // 3)),
    ("linear", {}, lambda e: 0.02 + (0.002 - 0.02) * e / 9),
    ("cos", {}, lambda e: 0.002 + 0.018 * (1 + math.cos(math.pi * e / 10)) / 2),
    ("constant", {}, lambda e: 0.02),
])
def test_other_schedules(kind, extra, formula):
    cfg = config_lib.optim()
    cfg.warmup.epochs = 0
    cfg.lr.update({"type": kind, "start_lr": 0.02, "end_lr": 0.002, **extra})
    lr = optim.make_schedule(cfg, num_epochs=10, steps_per_epoch=2)
    for e in range(10):
        np.testing.assert_allclose([float(lr(2 * e)), float(lr(2 * e + 1))], [formula(e)] * 2, rtol=1e-6)


def test_bad_config_errors():
    cfg = config_lib.optim()
    cfg.lr.type = "poly"
    with pytest.raises(ValueError, match="poly"):
        optim.make_schedule(cfg, num_epochs=20, steps_per_epoch=1)
    cfg = config_lib.optim()
    with pytest.raises(ValueError, match=r"warmup.epochs"):
        optim.make_schedule(cfg, num_epochs=5, steps_per_epoch=1)


def _cfg(name="sgd"):
    cfg = config_lib.optim()
    cfg.update(name=name, weight_decay=0.01, grad_clip=10.0)
    cfg.warmup.epochs = 0
    cfg.lr.update(type="constant", start_lr=0.1)
    cfg.backbone.update(prefixes=("backbone",), frozen_prefixes=("backbone/stem",), train_epoch=2, lr_mult=0.1)
    return cfg


def _params():
    return {"backbone": {"stem": jnp.array([1.0, 2.0]), "layer": jnp.array([0.5, -1.0, 2.0])},
            "backbones_not": jnp.array([1.0]), "head": jnp.array([3.0, 4.0])}


def test_labels_by_path_prefix():
    labels = optim.param_labels(_params(), _cfg().backbone)
    assert labels == {"backbone": {"stem": "frozen", "layer": "backbone"}, "backbones_not": "rest", "head": "rest"}


def test_freeze_then_tenth_rate_vs_hand_sgd():
    """3 steps per epoch, backbone frozen for 2 epochs (6 steps); constant grads; pysot/torch SGD by hand."""
    opt = optim.make_optimizer(_cfg(), num_epochs=4, steps_per_epoch=3)
    assert opt.freeze_steps == 6
    params = _params()
    grads = {"backbone": {"stem": jnp.array([7.0, 7.0]), "layer": jnp.array([12.0, 0.0, 16.0])},
             "backbones_not": jnp.array([3.0]), "head": jnp.array([0.0, 4.0])}  # |rest| = 5, |layer| = 20
    state = opt.tx.init(params)
    ref = {k: np.array(v, np.float64) for k, v in [("layer", params["backbone"]["layer"]),
                                                   ("not", params["backbones_not"]), ("head", params["head"])]}
    g = {"layer": np.array([12.0, 0.0, 16.0]), "not": np.array([3.0]), "head": np.array([0.0, 4.0])}
    buf = {}
    for step in range(9):
        unfrozen = step >= 6
        scale = min(1.0, 10.0 / (math.sqrt(25 + 400) if unfrozen else 5.0))  # clip over trainable grads only
        for k in ("layer", "not", "head") if unfrozen else ("not", "head"):
            d = scale * g[k] + 0.01 * ref[k]
            buf[k] = 0.9 * buf[k] + d if k in buf else d  # backbone momentum starts when unfrozen
            ref[k] = ref[k] - (0.1 * 0.1 if k == "layer" else 0.1) * buf[k]
        updates, state = opt.tx.update(grads, state, params)
        params = optax.apply_updates(params, updates)
        np.testing.assert_array_equal(params["backbone"]["stem"], [1.0, 2.0])
        if not unfrozen:
            np.testing.assert_array_equal(params["backbone"]["layer"], [0.5, -1.0, 2.0])
        np.testing.assert_allclose(params["backbone"]["layer"], ref["layer"], rtol=1e-5)
        np.testing.assert_allclose(params["backbones_not"], ref["not"], rtol=1e-5)
        np.testing.assert_allclose(params["head"], ref["head"], rtol=1e-5, atol=1e-6)


def test_adam_step_vs_hand():
    opt = optim.make_optimizer(_cfg("adam"), num_epochs=4, steps_per_epoch=3)
    params = {"head": jnp.array([1.0, -2.0])}
    g = np.array([0.3, -0.4])
    updates, _ = opt.tx.update({"head": jnp.asarray(g)}, opt.tx.init(params), params)
    d = g + 0.01 * np.array([1.0, -2.0])
    m, v = 0.1 * d / (1 - 0.9), 0.001 * d**2 / (1 - 0.999)  # bias-corrected first step
    np.testing.assert_allclose(updates["head"], -0.1 * m / (np.sqrt(v) + 1e-8), rtol=1e-5)


def test_hold_frozen_stats():
    opt = optim.make_optimizer(_cfg(), num_epochs=4, steps_per_epoch=3)
    stats = lambda v: {"backbone": {"stem": {"mean": v}, "layer": {"mean": v}}, "head": {"mean": v}}
    old, new = stats(jnp.zeros(2)), stats(jnp.ones(2))
    during = opt.hold_frozen_stats(old, new, jnp.int32(5))
    after = opt.hold_frozen_stats(old, new, jnp.int32(6))
    assert [float(x[0]) for x in (during["backbone"]["stem"]["mean"], during["backbone"]["layer"]["mean"],
                                  during["head"]["mean"])] == [0, 0, 1]
    assert [float(x[0]) for x in (after["backbone"]["stem"]["mean"], after["backbone"]["layer"]["mean"])] == [0, 1]
