"""DAT offline training: RoI sampling by IoU, the model's branch selection and RoI pooling against independent
restatements, and one trainer step on tiny synthetic videos."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from jaxtrack import boxes
from jaxtrack.data import box_samples, pipeline_rois, synthetic
from jaxtrack.data.sources import InMemoryVideos
from jaxtrack.models.dat import DATNet
from jaxtrack.ops import roi_align_reference
from jaxtrack.train import dat_task, trainer

TINY = synthetic.SyntheticConfig(height=64, width=80, n_frames=10, n_shots=2, min_shot_len=4, sprite_size=24)
ROIS = pipeline_rois.RoiConfig(crop_size=64, num_pos=4, num_neg=8, items_per_video=2)
NET = dict(widths=(8, 8, 8), fc_dim=16)


def test_box_samples_respect_iou_ranges():
    rng = np.random.default_rng(0)
    box = np.array([30.0, 20.0, 24.0, 16.0])
    pos = box_samples.sample(rng, box, 50, "gaussian", 0.1, 1.3, (100, 80), iou_range=(0.7, 1.0))
    neg = box_samples.sample(rng, box, 50, "uniform", 1.0, 1.6, (100, 80), iou_range=(0.0, 0.5))
    assert pos.shape == neg.shape == (50, 4)
    for b in pos:  # independent IoU by pixel-area arithmetic
        ix = max(0.0, min(b[0] + b[2], 54.0) - max(b[0], 30.0))
        iy = max(0.0, min(b[1] + b[3], 36.0) - max(b[1], 20.0))
        assert ix * iy / (b[2] * b[3] + 24 * 16 - ix * iy) >= 0.7 - 1e-9
    assert (boxes.iou(neg, box[None]) < 0.5).all()
    assert ((neg[:, 0] >= -1e-9) & (neg[:, 0] + neg[:, 2] <= 100 + 1e-9)).all()


def test_model_pools_and_selects_each_example_branch():
    net = DATNet(num_domains=3, **NET)
    images = jax.random.normal(jax.random.PRNGKey(0), (2, 32, 32, 3))
    rois = jnp.array([[[0.0, 0, 16, 16], [8, 8, 30, 24]], [[4.0, 2, 20, 28], [0, 0, 32, 32]]])
    domain = jnp.array([2, 0])
    v = net.init(jax.random.PRNGKey(1), images, rois, domain)
    feats = net.apply(v, images, method=net.features)
    assert feats.shape == (2, 4, 4, 8)
    pooled = net.apply(v, feats, rois, method=net.pool)
    ref = roi_align_reference(feats, rois, 3, spatial_scale=1 / 8, sampling_ratio=2, aligned=True)
    np.testing.assert_allclose(np.asarray(pooled), np.asarray(ref), rtol=1e-5, atol=1e-6)
    scores = net.apply(v, images, rois, domain)
    p = v["params"]
    for b in range(2):  # fc4 -> fc5 -> fc6[domain] by hand, per example
        x = np.asarray(ref[b]).reshape(2, -1)
        h = np.maximum(x @ np.asarray(p["fc4"]["kernel"]) + np.asarray(p["fc4"]["bias"]), 0)
        h = np.maximum(h @ np.asarray(p["fc5"]["kernel"]) + np.asarray(p["fc5"]["bias"]), 0)
        d = int(domain[b])
        want = h @ np.asarray(p["fc6_kernel"][d]) + np.asarray(p["fc6_bias"][d])
        np.testing.assert_allclose(np.asarray(scores[b]), want, rtol=1e-4, atol=1e-5)


def test_one_offline_step(tmp_path):
    videos = synthetic.make_videos(3, seed=1, config=TINY)
    batches = pipeline_rois.roi_batches(InMemoryVideos(videos), ROIS, batch_size=2, seed=0)
    batch = next(iter(batches))
    assert batch["image"].shape == (2, 64, 64, 3) and batch["pos"].shape == (2, 4, 4)
    assert (boxes.iou(batch["pos"], batch["box"][:, None]) >= 0.7).all()
    assert (boxes.iou(batch["neg"], batch["box"][:, None]) < 0.5).all()
    c = ml_collections.ConfigDict({"model": {"name": "dat", "kwargs": NET},
                                   "task": {"reg_weight": 5.0}})
    task = dat_task.make_task(c, num_domains=3)
    cfg = trainer_config()
    state = trainer.train(cfg, str(tmp_path), task=task, train_data=lambda: iter(batches))
    assert int(state.step) == 1
    loss, (metrics, _) = task.loss_fn(state.params, {}, batch, jax.random.PRNGKey(0))
    assert np.isfinite(float(loss)) and float(metrics["reg"]) > 0
    assert abs(float(loss) - float(metrics["ce"]) - 5.0 * float(metrics["reg"])) < 1e-3 * abs(float(loss))


def trainer_config():
    from jaxtrack import config as config_lib

    c = config_lib.experiment("train")
    c.num_epochs, c.steps_per_epoch = 1, 1
    c.log_every = c.checkpoint_every = c.eval_every = 1
    c.tensorboard, c.progress = False, False
    c.optim.name = "adam"
    c.optim.warmup.epochs = 0
    c.data.batch_size = 2
    return c
