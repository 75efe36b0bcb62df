"""SiamMask's mask loss (jaxtrack.train.mask_task) against a slow loop restatement of foolwood/SiamMask's
`select_mask_logistic_loss` (positive cells, the 127-px label windows of the search mask, aligned-corner bilinear
upsampling of the 63 x 63 logits, soft-margin loss), and one trainer step of SiamMask with masks in the batch."""

import jax
import jax.numpy as jnp
import numpy as np

from jaxtrack import sharding
from jaxtrack.train import mask_task, optim, trainer
from jaxtrack.train.state import TrainState
from tests.test_train_tasks import TINY, adam_config, config, make_batch, make_task, numpy_init


def reference_loss(cls, has_mask, mask, logits_at, exemplar, stride):
    """Loops: cls [B, R, R, K], has_mask [B], mask [B, X, X], logits_at(b, i, j) -> [m, m] -> (loss, iou)."""
    b, r = cls.shape[:2]
    x = mask.shape[1]
    origin = (x - exemplar) / 2 - stride * (r // 2)
    total, count, ious = 0.0, 0, []
    for n in range(b):
        if not has_mask[n]:
            continue
        for i in range(r):
            for j in range(r):
                if not (cls[n, i, j] == 1).any():
                    continue
                small = logits_at(n, i, j)
                m = small.shape[0]
                pred = np.zeros((exemplar, exemplar))
                for u in range(exemplar):
                    for v in range(exemplar):
                        su, sv = u * (m - 1) / (exemplar - 1), v * (m - 1) / (exemplar - 1)
                        u0, v0 = int(np.floor(su)), int(np.floor(sv))
                        u1, v1 = min(u0 + 1, m - 1), min(v0 + 1, m - 1)
                        fu, fv = su - u0, sv - v0
                        pred[u, v] = ((1 - fu) * ((1 - fv) * small[u0, v0] + fv * small[u0, v1])
                                      + fu * ((1 - fv) * small[u1, v0] + fv * small[u1, v1]))
                label = -np.ones((exemplar, exemplar))
                for u in range(exemplar):
                    for v in range(exemplar):
                        yy, xx = int(origin + i * stride + u), int(origin + j * stride + v)
                        if 0 <= yy < x and 0 <= xx < x and mask[n, yy, xx]:
                            label[u, v] = 1.0
                total += np.log1p(np.exp(-label * pred)).sum()
                count += exemplar * exemplar
                p, g = pred > 0, label > 0
                ious.append((p & g).sum() / max((p | g).sum(), 1))
    return (total / count if count else 0.0), (np.mean(ious) if ious else 0.0)


def test_mask_loss_matches_the_loop_reference():
    rng = np.random.default_rng(0)
    b, r, k, m, e, x, stride = 3, 7, 2, 5, 31, 71, 8  # windows start at (71 - 31) / 2 - 24 = -4
    cls = np.where(rng.random((b, r, r, k)) < 0.08, 1, rng.integers(-1, 1, (b, r, r, k))).astype(np.int32)
    has_mask = np.array([True, False, True])
    mask = (rng.random((b, x, x)) < 0.4).astype(np.uint8)
    raw = rng.standard_normal((b, r, r, m, m)).astype(np.float32) * 2
    pos, valid = mask_task.positive_windows(jnp.asarray(cls), jnp.asarray(has_mask), 16)
    logits = jax.vmap(lambda a, p: a[p[:, 0], p[:, 1]])(jnp.asarray(raw), pos)
    origin = mask_task.window_origin(r, x, e, stride)
    labels = mask_task.window_labels(jnp.asarray(mask), pos, e, origin, stride)
    loss, iou = mask_task.mask_loss(mask_task.upsample_aligned(logits, e), labels, valid)
    want_loss, want_iou = reference_loss(cls, has_mask, mask, lambda n, i, j: raw[n, i, j].astype(np.float64), e,
                                         stride)
    assert int(valid.sum()) == sum(int((cls[n] == 1).any(-1).sum()) for n in (0, 2)) > 0
    np.testing.assert_allclose(float(loss), want_loss, rtol=1e-5)
    np.testing.assert_allclose(float(iou), want_iou, rtol=1e-5)
    none, _ = mask_task.mask_loss(labels, labels, jnp.zeros_like(valid))
    assert float(none) == 0.0


def test_siammask_train_step_with_and_without_masks():
    """One trainer step: the mask term is positive and trains the refine with masks in the batch; without them (or
    on negative pairs) it is 0, as foolwood's datasets without masks."""
    task = make_task(config("siammask"))
    z, x = TINY["siammask"][1:]
    batch = make_batch(z, x)
    batch["search_mask"] = (batch["search"][..., 0] == 230).astype(np.uint8)  # the bright square
    variables = numpy_init(jax.eval_shape(task.init, jax.random.key(0), batch))
    opt = optim.make_optimizer(adam_config(), num_epochs=1, steps_per_epoch=10)
    mesh = sharding.make_mesh()
    copy = lambda tree: jax.tree.map(lambda a: jnp.array(a, copy=True), tree)  # the step donates its state
    state = sharding.put_replicated(TrainState.create(params=copy(variables["params"]),
                                                      batch_stats=copy(variables["batch_stats"]), tx=opt.tx,
                                                      key=jax.random.key(0)), mesh)
    step = trainer.make_train_step(task, opt, mesh)
    before = np.asarray(state.params["refine"]["post2"]["kernel"]).copy()
    new, metrics = step(state, sharding.put_batch(batch, mesh), jax.random.key(1))
    assert all(np.isfinite(float(v)) for v in metrics.values()), metrics
    assert float(metrics["mask_loss"]) > 0 and float(metrics["mask_windows"]) > 0
    assert not np.allclose(np.asarray(new.params["refine"]["post2"]["kernel"]), before)
    without = {k: v for k, v in batch.items() if k != "search_mask"}
    loss, (metrics, _) = jax.jit(task.loss_fn)(variables["params"], variables["batch_stats"], without,
                                               jax.random.key(1))
    assert float(metrics["mask_loss"]) == 0.0 and float(metrics["mask_windows"]) == 0.0 and np.isfinite(float(loss))
