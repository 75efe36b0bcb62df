"""The reciprocative regulariser on the Siamese classification branch (`train.tasks`, issue #20), on a tiny SiamRPN:
the attention map against central finite differences of the peak score (float64), the regulariser against a numpy
restatement (inside / outside the box, positive pairs only), the option off giving exactly the old loss, a finite
non-zero second-order gradient, the batched box masks against `boxes.box_mask`, and the weight's check."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxtrack import boxes, families
from jaxtrack import config as config_lib
from jaxtrack.train import losses, targets

Z, X, B, K = 63, 127, 2, 5
KWARGS = {"anchor_num": K, "backbone": "resnet18_small_atrous", "layer": "layer4", "neck_channels": 8,
          "backbone_args": {"stage_sizes": (1, 1, 1, 1)}, "impl": "xla_conv"}


def make_task(reg_weight=0.0, dtype=None):
    c = config_lib.experiment("train")
    c.model.name = "siamrpn"
    c.model.kwargs = KWARGS if dtype is None else {**KWARGS,
                                                   "backbone_args": {**KWARGS["backbone_args"], "dtype": dtype}}
    c.task.normalize, c.task.reg_weight = "unit", reg_weight
    return families.get("siamrpn").make_task(c)


def make_batch(negative=(False, False)) -> dict:
    r = np.random.default_rng(0)
    template = r.integers(0, 80, (B, Z, Z, 3), dtype=np.uint8)
    search = r.integers(0, 80, (B, X, X, 3), dtype=np.uint8)
    template[:, 24:40, 24:40] += 150  # bright, but not constant: no exact ties in the stem's max-pool, where the
    search[:, 40:80, 50:90] += 150  # gradient picks one of the tied inputs and a finite difference averages them
    return {"template": template, "search": search, "template_box": np.tile(np.float32([24, 24, 16, 16]), (B, 1)),
            "search_box": np.float32([[50, 40, 40, 40], [47.3, 38.6, 44.2, 41.5]]), "negative": np.asarray(negative)}


@functools.cache
def variables():
    return make_task().init(jax.random.key(0), make_batch())


def test_attention_matches_finite_differences_of_the_peak_score():
    with jax.enable_x64(True):
        task, batch = make_task(1.0, jnp.float64), make_batch()  # the backbone computes in float64 too
        v = jax.tree.map(lambda a: jnp.asarray(a, jnp.float64), variables())
        z, x, wh = (jnp.asarray(a, jnp.float64) for a in task.inputs(batch))

        @jax.jit
        def peak(search):  # the test's own: max over positions and anchors of logit_1 - logit_0 (pysot layout)
            cls = task.model.apply(v, z, search, wh)["cls"]
            return jnp.max((cls[..., K:] - cls[..., :K]).reshape(B, -1), axis=1)

        a = np.asarray(jax.jit(task.attention)(v, batch))
        assert a.shape == (B, X, X) and (a > 0).any()
        # the unit normalisation is x / 255: the task's map is with respect to the normalised crop, as `peak` here
        xn, h = np.asarray(x), 1e-6  # small: ReLU kinks lie within 1e-5 of some inputs
        rng = np.random.default_rng(1)
        for n in range(B):
            top = np.argwhere(a[n] == a[n].max())[:1].tolist()
            picks = top + rng.integers(0, X, (5, 2)).tolist()
            for i, j in picks:
                fd = []
                for c in range(3):
                    up, down = xn.copy(), xn.copy()
                    up[n, i, j, c] += h
                    down[n, i, j, c] -= h
                    fd.append((float(peak(jnp.asarray(up))[n]) - float(peak(jnp.asarray(down))[n])) / (2 * h))
                np.testing.assert_allclose(a[n, i, j], np.maximum(fd, 0).sum(), rtol=1e-4, atol=1e-5 * a[n].max())
            # another pair's crop does not move this pair's peak (inference mode: no batch statistics)
            other = xn.copy()
            other[1 - n] += 0.1
            assert float(peak(jnp.asarray(other))[n]) == pytest.approx(float(peak(x)[n]), rel=1e-12)


def _numpy_reg(a, search_box, negative, eps=1e-6):
    vals = []
    for m, box, neg in zip(a, search_box, negative):
        if neg:
            continue
        inside = boxes.box_mask(box, m.shape).astype(bool)
        i, o = m[inside], m[~inside]
        vals.append(np.sqrt(i.var() + eps ** 2) / (i.mean() + eps) + (o.mean() + eps) / np.sqrt(o.var() + eps ** 2))
    return float(np.mean(vals)) if vals else 0.0


@pytest.mark.parametrize("negative", [(False, False), (False, True), (True, True)])
def test_loss_is_the_old_loss_plus_the_weighted_regulariser(negative):
    batch, v = make_batch(negative), variables()
    key = jax.random.key(3)
    off, on = make_task(0.0), make_task(0.7)
    loss_off, (m_off, _) = jax.jit(off.loss_fn)(v["params"], v["batch_stats"], batch, key)

    @jax.jit
    def old_loss(v, batch):  # composed by hand: train-mode forward, anchor targets, select-CE + weighted L1
        out, _ = off.model.apply(v, *off.inputs(batch), train=True, mutable=["batch_stats"])
        config = targets.AnchorConfig(output_size=out["cls"].shape[1], search_size=X)
        t = targets.anchor_targets(batch["search_box"], batch["negative"], key, config)
        return losses.siamrpn_loss(out["cls"], out["loc"], t, losses.SIAMRPN_WEIGHTS)[0]

    old = old_loss(v, batch)
    assert float(loss_off) == float(old) and "reg" not in m_off
    loss_on, (m_on, _) = jax.jit(on.loss_fn)(v["params"], v["batch_stats"], batch, key)
    a = np.asarray(on.attention(v, batch), np.float64)
    expect = _numpy_reg(a, batch["search_box"], negative)
    assert float(m_on["reg"]) == pytest.approx(expect, rel=1e-4, abs=1e-6)
    assert float(loss_on) == pytest.approx(float(old) + 0.7 * expect, rel=1e-5)
    if not all(negative):
        assert expect > 0


def test_regulariser_gradient_is_finite_and_nonzero():
    task, batch, v = make_task(1.0), make_batch(), variables()
    g = jax.jit(jax.grad(lambda p: task.reciprocative({"params": p, "batch_stats": v["batch_stats"]}, batch)))(
        v["params"])
    leaves = [np.asarray(x) for x in jax.tree.leaves(g)]
    assert all(np.isfinite(x).all() for x in leaves)
    assert sum(float(np.abs(x).sum()) for x in leaves) > 0
    # the regulariser reaches the backbone's first conv: second-order backprop through the whole search branch
    stem = [np.asarray(x) for p, x in jax.tree.leaves_with_path(g) if "backbone" in jax.tree_util.keystr(p)]
    assert stem and max(float(np.abs(x).max()) for x in stem) > 0


def test_box_masks_against_a_pixel_loop():
    """`boxes.box_masks` in jnp (as the task runs it) and `boxes.box_mask` against pixel centres checked one by one."""
    rng = np.random.default_rng(2)
    b = np.concatenate([rng.uniform(-20, 60, (6, 2)), rng.uniform(0.3, 50, (6, 2))], 1).astype(np.float32)
    b[0] = [10, 10, 20, 20]  # integer edges: pixel centres never on them
    got = np.asarray(jax.jit(boxes.box_masks, static_argnums=1)(jnp.asarray(b), (37, 41)))
    for box, m in zip(b, got):
        x, y, w, h = (float(v) for v in box)
        want = np.array([[x < j + 0.5 < x + w and y < i + 0.5 < y + h for j in range(41)] for i in range(37)])
        np.testing.assert_array_equal(m, want)
        np.testing.assert_array_equal(boxes.box_mask(box, (37, 41)), want)
    assert got.sum() > 0 and (got == 0).any()


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf"), "1", True])
def test_bad_weight_is_one_line(bad):
    with pytest.raises(ValueError, match=r"config\.task\.reg_weight: expected a finite number >= 0"):
        make_task(bad)


@pytest.mark.parametrize("name", sorted(families.REGISTRY))
def test_every_family_traces_the_regulariser(name):
    """Shapes only (no compilation): every Siamese task, SiamMask's included, adds the "reg" metric."""
    from tests.test_train_tasks import TINY
    from tests.test_train_tasks import make_batch as pair_batch

    kwargs, z, x = TINY[name]
    c = config_lib.experiment("train")
    c.model.name, c.model.kwargs, c.task.reg_weight = name, kwargs, 0.5
    task = families.get(name).make_task(c)
    batch = pair_batch(z, x)
    v = jax.eval_shape(task.init, jax.random.key(0), batch)
    loss, (metrics, _) = jax.eval_shape(task.loss_fn, v["params"], v["batch_stats"], batch, jax.random.key(1))
    assert loss.shape == () and metrics["reg"].shape == ()
    assert jax.eval_shape(task.attention, v, batch).shape == batch["search"].shape[:3]


def test_regularised_training_step_and_attention_pictures(tmp_path):
    """`siamrpn_synthetic_reg` at a tiny size through the trainer (one step, finite "reg"), then
    `eval.dat_attention` on its workdir: a PNG of frame, map and box."""
    from experiments import siamrpn_synthetic_reg
    from jaxtrack.eval import dat_attention
    from jaxtrack.modes import train as run
    from jaxtrack.train import metrics_io

    c = siamrpn_synthetic_reg.get_config()
    c.model.kwargs = {**c.model.kwargs, "neck_channels": 8, "backbone_args": {"stage_sizes": (1, 1, 1, 1)}}
    c.data.options = {"num_train": 2, "num_val": 1, "num_test": 1, "n_frames": 8, "n_shots": 1, "height": 64,
                      "width": 64, "image_format": "jpeg"}
    c.data.batch_size, c.data.num_threads, c.data.eval_batches = 2, 1, 0
    c.num_epochs, c.steps_per_epoch, c.log_every, c.checkpoint_every = 1, 1, 1, 1
    c.optim.warmup.epochs, c.optim.backbone.train_epoch, c.tensorboard = 0, 0, False
    workdir = tmp_path / "runs" / "reg"
    run.run(c, str(workdir))
    reg = metrics_io.read_metrics(workdir / "metrics.jsonl")["train/reg"]
    assert np.isfinite(reg[1]).all() and (reg[1] > 0).all()
    dat_attention.main(["dat_attention", str(tmp_path / "maps.png"), str(workdir)])
    assert (tmp_path / "maps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
